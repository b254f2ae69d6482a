/** Plotly figure parts shared by the plotly charts; pure, so figures can be tested without plotly. */
import type { ChartTheme } from './theme.js';

/** A figure as Plotly takes it; built by pure functions (line-figure.ts, scatter-figure.ts). */
export interface PlotlyFigure {
  data: Record<string, unknown>[];
  layout: Record<string, unknown>;
  config: Record<string, unknown>;
}

/** Plotly renders trace names as HTML in hovers; keep names literal. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Layout parts every plotly chart shares, in the theme's colours. */
export function baseLayout(theme: ChartTheme, height: number): Record<string, unknown> {
  return {
    height,
    autosize: true,
    margin: { l: 64, r: 16, t: 12, b: 52 },
    paper_bgcolor: theme.bg,
    plot_bgcolor: theme.bg,
    font: { family: theme.font, size: 12, color: theme.fg },
    hoverlabel: { bgcolor: theme.bg, bordercolor: theme.grid, font: { color: theme.fg, family: theme.font } },
    // Keeps the user's zoom and hidden series while new data arrive.
    uirevision: 'keep',
  };
}

export function axis(theme: ChartTheme, title: string | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    title: { text: title ?? '' },
    gridcolor: theme.grid,
    linecolor: theme.grid,
    zerolinecolor: theme.muted,
    automargin: true,
    ...extra,
  };
}

/**
 * Axis options for values that are whole numbers (steps, K): over a short span, a tick on every
 * integer rather than at 1.5, 2.5, …; otherwise nothing (plotly's own ticks are integers there).
 */
export function wholeNumberTicks(values: Iterable<number>): Record<string, unknown> {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isInteger(v)) return {};
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return hi >= lo && hi - lo <= 10 ? { dtick: 1 } : {};
}

export const PLOTLY_CONFIG: Record<string, unknown> = {
  responsive: true,
  displaylogo: false,
  // The chart frame has its own export menu.
  modeBarButtonsToRemove: ['toImage', 'select2d', 'lasso2d'],
};
