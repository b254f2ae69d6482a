import { useMemo, useRef, type ReactNode } from 'react';
import { ChartFrame, type ChartExports } from './ChartFrame.js';
import { rowsToCsv, type ExportFile } from './export.js';
import { plotlyImageExports, usePlotly } from './plotly.js';
import { scatterFigure } from './scatter-figure.js';
import { useChartTheme, type ChartTheme } from './theme.js';

export interface ScatterProps {
  x: readonly number[];
  y: readonly number[];
  labels: readonly string[];
  text?: readonly string[];
  labelOrder?: readonly string[];
  title: string;
  subtitle?: ReactNode;
  xTitle?: string;
  yTitle?: string;
  /** y limits in data units (default: fit the points). */
  yRange?: readonly [number, number];
  height?: number;
  markerSize?: number;
  theme?: Partial<ChartTheme>;
  exportName?: string;
  onExport?: (file: ExportFile) => void;
}

/** 2-D points coloured (and shaped) by label, e.g. projections on two learned directions. */
export function Scatter(props: ScatterProps) {
  const { x, y, labels, text, labelOrder, title, xTitle, yTitle, yRange, markerSize } = props;
  const height = props.height ?? 400;
  const bodyRef = useRef<HTMLDivElement>(null);
  const plotRef = useRef<HTMLDivElement>(null);
  const theme = useChartTheme(bodyRef, props.theme);
  const built = useMemo(() => {
    try {
      return { figure: scatterFigure({ x, y, labels, text, labelOrder, xTitle, yTitle, yRange, height, markerSize }, theme), problem: null };
    } catch (e) {
      return { figure: { data: [], layout: {}, config: {} }, problem: e instanceof Error ? e.message : String(e) };
    }
  }, [x, y, labels, text, labelOrder, xTitle, yTitle, yRange, height, markerSize, theme]);
  const { plotly, error } = usePlotly(plotRef, built.figure);
  const exports: ChartExports = {
    name: props.exportName,
    csv: () => rowsToCsv(['label', 'x', 'y', ...(text ? ['text'] : [])], x.map((xi, i) => [labels[i], xi, y[i], ...(text ? [text[i]] : [])])),
    json: () => ({ title, points: x.map((xi, i) => ({ label: labels[i], x: xi, y: y[i], ...(text ? { text: text[i] } : {}) })) }),
    ...(plotly && plotlyImageExports(plotly, plotRef, height)),
  };
  return (
    <ChartFrame kind="scatter" title={title} subtitle={props.subtitle} exports={built.problem ? undefined : exports} onExport={props.onExport}>
      <div ref={bodyRef}>
        {(built.problem ?? error) && <p role="alert">{built.problem ?? error}</p>}
        <div ref={plotRef} style={{ width: '100%', height }} />
      </div>
    </ChartFrame>
  );
}
