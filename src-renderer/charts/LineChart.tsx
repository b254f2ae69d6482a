import { useMemo, useRef, type ReactNode } from 'react';
import { ChartFrame, type ChartExports } from './ChartFrame.js';
import { rowsToCsv, type ExportFile } from './export.js';
import { lineFigure, type LineSeries } from './line-figure.js';
import { plotlyImageExports, usePlotly } from './plotly.js';
import { useChartTheme, type ChartTheme } from './theme.js';

export interface LineChartProps {
  series: readonly LineSeries[];
  title: string;
  subtitle?: ReactNode;
  xTitle?: string;
  yTitle?: string;
  logY?: boolean;
  yRange?: readonly [number, number];
  height?: number;
  controls?: ReactNode;
  legend?: ReactNode;
  theme?: Partial<ChartTheme>;
  exportName?: string;
  onExport?: (file: ExportFile) => void;
}

/** Series as long-format CSV: one line per point. */
export function seriesCsv(series: readonly LineSeries[]): string {
  return rowsToCsv(
    ['series', 'x', 'y'],
    series.flatMap((s) => s.y.map((v, i) => [s.name, s.x ? s.x[i] : i, v])),
  );
}

/** Live loss/metric curves. Pass new arrays as points arrive; redraws are merged per frame. */
export function LineChart(props: LineChartProps) {
  const { series, title, xTitle, yTitle, logY, yRange } = props;
  const height = props.height ?? 320;
  const bodyRef = useRef<HTMLDivElement>(null);
  const plotRef = useRef<HTMLDivElement>(null);
  const theme = useChartTheme(bodyRef, props.theme);
  const revision = useRef(0);
  const figure = useMemo(() => {
    revision.current += 1;
    return lineFigure({ series, xTitle, yTitle, logY, yRange, height, revision: revision.current }, theme);
  }, [series, xTitle, yTitle, logY, yRange, height, theme]);
  const { plotly, error } = usePlotly(plotRef, figure);
  const exports: ChartExports = {
    name: props.exportName,
    csv: () => seriesCsv(series),
    json: () => ({ title, series: series.map((s) => ({ name: s.name, x: s.x ? [...s.x] : s.y.map((_, i) => i), y: [...s.y] })) }),
    ...(plotly && plotlyImageExports(plotly, plotRef, height)),
  };
  return (
    <ChartFrame kind="line-chart" title={title} subtitle={props.subtitle} controls={props.controls} legend={props.legend} exports={exports} onExport={props.onExport}>
      <div ref={bodyRef}>
        {error && <p role="alert">{error}</p>}
        <div ref={plotRef} style={{ width: '100%', height }} />
      </div>
    </ChartFrame>
  );
}
