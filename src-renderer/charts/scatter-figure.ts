import { axis, baseLayout, escapeHtml, PLOTLY_CONFIG, wholeNumberTicks, type PlotlyFigure } from './plotly-layout.js';
import { CATEGORY_SYMBOLS, categoryColor, type ChartTheme } from './theme.js';

export interface ScatterFigureOptions {
  x: readonly number[];
  y: readonly number[];
  /** One class label per point; each label gets its own colour, marker shape and legend entry. */
  labels: readonly string[];
  /** Extra hover line per point, e.g. the prompt. */
  text?: readonly string[];
  /** Legend order; default: order of first appearance. Labels not listed follow. */
  labelOrder?: readonly string[];
  xTitle?: string;
  yTitle?: string;
  /** y limits in data units (default: fit the points). */
  yRange?: readonly [number, number];
  height?: number;
  markerSize?: number;
}

/** Labels in legend order. */
export function scatterGroups(labels: readonly string[], order: readonly string[] = []): string[] {
  const present = new Set(labels);
  const out = order.filter((l) => present.has(l));
  for (const l of labels) if (!out.includes(l)) out.push(l);
  return out;
}

/** Plotly traces (one per label) and layout for 2-D projections coloured by label. */
export function scatterFigure(options: ScatterFigureOptions, theme: ChartTheme): PlotlyFigure {
  const { x, y, labels, text } = options;
  if (y.length !== x.length || labels.length !== x.length || (text && text.length !== x.length)) {
    throw new RangeError(
      `scatterFigure: x, y, labels${text ? ', text' : ''} must have one entry per point (got ${x.length}, ${y.length}, ${labels.length}${text ? `, ${text.length}` : ''})`,
    );
  }
  const groups = scatterGroups(labels, options.labelOrder);
  const data = groups.map((label, g) => {
    const idx = labels.flatMap((l, i) => (l === label ? [i] : []));
    const trace: Record<string, unknown> = {
      type: 'scatter',
      mode: 'markers',
      name: label,
      x: idx.map((i) => x[i]),
      y: idx.map((i) => y[i]),
      marker: {
        color: categoryColor(g, theme),
        symbol: CATEGORY_SYMBOLS[g % CATEGORY_SYMBOLS.length],
        size: options.markerSize ?? 7,
        opacity: 0.8,
        line: { width: 0.5, color: theme.bg },
      },
      hovertemplate: `${escapeHtml(label)}<br>x = %{x:.4g}<br>y = %{y:.4g}${text ? '<br>%{text}' : ''}<extra></extra>`,
    };
    if (text) trace.text = idx.map((i) => text[i]);
    return trace;
  });
  const layout = {
    ...baseLayout(theme, options.height ?? 400),
    xaxis: axis(theme, options.xTitle, { zeroline: true, ...wholeNumberTicks(x) }),
    yaxis: axis(theme, options.yTitle, { zeroline: true, ...(options.yRange ? { range: [...options.yRange] } : {}) }),
    hovermode: 'closest',
    showlegend: true,
    legend: { orientation: 'v', x: 1.02, y: 1, xanchor: 'left' },
  };
  return { data, layout, config: PLOTLY_CONFIG };
}
