import { axis, baseLayout, escapeHtml, PLOTLY_CONFIG, wholeNumberTicks, type PlotlyFigure } from './plotly-layout.js';
import { categoryColor, type ChartTheme } from './theme.js';

export interface LineSeries {
  name: string;
  /** Step (or other x) of each point; default 0, 1, 2, … */
  x?: readonly number[];
  y: readonly number[];
  /** Default: the next colour of the colour-blind-safe palette. */
  color?: string;
  dash?: 'solid' | 'dash' | 'dot' | 'dashdot';
}

export interface LineFigureOptions {
  series: readonly LineSeries[];
  xTitle?: string;
  yTitle?: string;
  logY?: boolean;
  /** y limits in data units (also with logY). */
  yRange?: readonly [number, number];
  height?: number;
  /** Bump when data change in place, so Plotly.react redraws. */
  revision?: number;
}

/**
 * Plotly traces and layout for loss/metric curves. Points that cannot be drawn (NaN, and values
 * ≤ 0 on a log axis) become gaps; hover shows every series' exact value at that x.
 */
export function lineFigure(options: LineFigureOptions, theme: ChartTheme): PlotlyFigure {
  const { series, logY = false } = options;
  const data = series.map((s, i) => {
    if (s.x && s.x.length !== s.y.length) {
      throw new RangeError(`lineFigure: series "${s.name}" has ${s.x.length} x values and ${s.y.length} y values`);
    }
    return {
      type: 'scatter',
      mode: s.y.length === 1 ? 'markers' : 'lines',
      name: s.name,
      x: s.x ? [...s.x] : s.y.map((_, j) => j),
      y: s.y.map((v) => (Number.isFinite(v) && (!logY || v > 0) ? v : null)),
      line: { color: s.color ?? categoryColor(i, theme), width: 2, dash: s.dash ?? 'solid' },
      marker: { color: s.color ?? categoryColor(i, theme), size: 6 },
      hovertemplate: `${escapeHtml(s.name)}: %{y:.6g}<extra></extra>`,
    };
  });
  const range = options.yRange ? (logY ? options.yRange.map((v) => Math.log10(v)) : [...options.yRange]) : undefined;
  const layout = {
    ...baseLayout(theme, options.height ?? 320),
    xaxis: axis(theme, options.xTitle ?? 'step', wholeNumberTicks(data.flatMap((d) => d.x))),
    yaxis: axis(theme, options.yTitle, { type: logY ? 'log' : 'linear', exponentformat: 'power', ...(range ? { range } : {}) }),
    hovermode: 'x unified',
    showlegend: series.length > 1,
    legend: { orientation: 'h', x: 0, y: 1.02, yanchor: 'bottom' },
    datarevision: options.revision ?? 0,
  };
  return { data, layout, config: PLOTLY_CONFIG };
}
