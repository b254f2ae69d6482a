import { scaleLinear } from 'd3';
import { useMemo, useRef, type ReactNode } from 'react';
import { ChartFrame, type ChartExports } from './ChartFrame.js';
import { rowsToCsv, svgMarkup, svgToPng, type ExportFile } from './export.js';
import { textWidth, TICK_FONT, TITLE_FONT } from './heatmap-layout.js';
import { displayToken, formatValue, truncateLabel } from './labels.js';
import { categoryColor, useChartTheme, useElementWidth, type ChartTheme } from './theme.js';

export interface TokenProb {
  token: string;
  prob: number;
}

/** One next-token distribution, e.g. { name: 'clean', entries: [...] }; entries need not be sorted. */
export interface Distribution {
  name: string;
  entries: readonly TokenProb[];
}

export interface DistributionBarsProps {
  /** One to three distributions, drawn side by side on one probability axis. */
  distributions: readonly Distribution[];
  title: string;
  subtitle?: ReactNode;
  /** How many of the most likely tokens each panel shows (default 10). */
  k?: number;
  /** Tokens marked in every panel (e.g. the correct answer); shown even when outside the top k. */
  highlight?: readonly string[];
  /** What the marked tokens are, for the legend (default "highlighted token"). */
  highlightMeaning?: string;
  /** Probability at the right edge: 'shared' (largest shown, rounded up; default) or a number such as 1. */
  xMax?: number | 'shared';
  theme?: Partial<ChartTheme>;
  exportName?: string;
  onExport?: (file: ExportFile) => void;
}

export interface BarRow {
  token: string;
  prob: number;
  /** 1 = most likely, over the whole distribution. */
  rank: number;
  /** Outside the top k, shown because it is highlighted. */
  extra: boolean;
  highlighted: boolean;
}

/** The rows one panel shows: the top k by probability, then highlighted tokens outside it. */
export function distributionRows(entries: readonly TokenProb[], k: number, highlight: readonly string[] = []): BarRow[] {
  const marked = new Set(highlight);
  const sorted = entries
    .map((e, i) => ({ ...e, i }))
    .sort((a, b) => (b.prob > a.prob ? 1 : b.prob < a.prob ? -1 : a.i - b.i))
    .map((e, i) => ({ token: e.token, prob: e.prob, rank: i + 1, extra: false, highlighted: marked.has(e.token) }));
  const top = sorted.slice(0, Math.max(0, k));
  const extra = sorted.slice(Math.max(0, k)).filter((r) => r.highlighted).map((r) => ({ ...r, extra: true }));
  return [...top, ...extra];
}

const ROW_H = 20;
const HEADER_H = 22;
const AXIS_H = 26;
const EXTRA_GAP = 12;
const PANEL_GAP = 28;
/** Vertical space between rows of panels when they wrap. */
const ROW_GAP = 10;
/** Room for the axis title under the last row. */
const TITLE_H = 14;
/** Narrowest panel worth drawing side by side; below it panels wrap onto rows. */
export const MIN_PANEL_W = 190;
/** The narrowest figure drawn; narrower containers scroll. */
const MIN_WIDTH = 160;
/** Bold labels (the highlighted tokens) run wider than the average glyph estimate. */
const BOLD = 1.12;
const LABEL_GAP = 6;
const VALUE_GAP = 4;
const MAX_LABEL_CHARS = 18;

/** Three decimals; tiny probabilities in exponent form, so the tail of a peaked distribution does not all read 0.000. */
export const valueText = (p: number) => (p > 0 && p < 0.0005 ? p.toExponential(1).replace('e-', 'e−') : p.toFixed(3));

function rowLabel(row: BarRow, maxChars: number): string {
  const prefix = row.extra ? `#${row.rank} ` : '';
  return `${prefix}${truncateLabel(displayToken(row.token), Math.max(2, maxChars - prefix.length))}`;
}

function panelHeight(rows: BarRow[]): number {
  return HEADER_H + rows.length * ROW_H + (rows.some((r) => r.extra) ? EXTRA_GAP : 0);
}

export interface DistributionLayout {
  width: number;
  height: number;
  /** Panels per row (fewer than the distributions when the container is narrow). */
  cols: number;
  panelW: number;
  /** Token labels (right-aligned), bars, then the value labels, left to right in each panel. */
  labelW: number;
  barW: number;
  valueW: number;
  /** Longest token label, in characters, before it is cut with "…". */
  labelChars: number;
  /** Top-left corner of each panel, and the height of its row's bars. */
  panels: { x: number; y: number; bodyH: number }[];
}

/**
 * Fits the panels into `available` pixels: side by side while each gets MIN_PANEL_W, else on
 * rows; token labels take at most 40% of a panel (cut with "…"), and every value label fits
 * right of the longest bar.
 */
export function distributionLayout(panels: readonly { rows: BarRow[] }[], available: number): DistributionLayout {
  const n = Math.max(1, panels.length);
  const width = Math.max(MIN_WIDTH, Math.floor(available));
  const cols = Math.max(1, Math.min(n, Math.floor((width + PANEL_GAP) / (MIN_PANEL_W + PANEL_GAP))));
  const panelW = (width - PANEL_GAP * (cols - 1)) / cols;
  const rows = panels.flatMap((p) => p.rows);
  const valueW = VALUE_GAP + Math.max(textWidth('0.000'), ...rows.map((r) => textWidth(valueText(r.prob)))) + 2;
  const charW = textWidth('x') * BOLD;
  const wanted = LABEL_GAP + Math.max(24, ...rows.map((r) => textWidth(rowLabel(r, MAX_LABEL_CHARS)) * BOLD)) + 2;
  const labelW = Math.min(wanted, 130, panelW * 0.4);
  // Cut labels only where the column is narrower than the longest one.
  const labelChars = labelW >= wanted ? MAX_LABEL_CHARS : Math.min(MAX_LABEL_CHARS, Math.max(3, Math.floor((labelW - LABEL_GAP - 2) / charW)));
  const barW = Math.max(20, panelW - labelW - valueW);
  const out: DistributionLayout['panels'] = [];
  let top = 0;
  for (let start = 0; start < n; start += cols) {
    const inRow = panels.slice(start, start + cols);
    const bodyH = Math.max(HEADER_H, ...inRow.map((p) => panelHeight(p.rows)));
    inRow.forEach((_, j) => out.push({ x: j * (panelW + PANEL_GAP), y: top, bodyH }));
    top += bodyH + AXIS_H + ROW_GAP;
  }
  return { width, height: top - ROW_GAP + TITLE_H, cols, panelW, labelW, barW, valueW, labelChars, panels: out };
}

interface FigureProps {
  panels: { name: string; rows: BarRow[] }[];
  layout: DistributionLayout;
  xMax: number;
  theme: ChartTheme;
  title: string;
  background: boolean;
}

export function DistributionFigure({ panels, layout: L, xMax, theme, title, background }: FigureProps) {
  const { width, height, labelW } = L;
  const x = scaleLinear().domain([0, xMax]).range([0, L.barW]);
  const ticks = x.ticks(Math.max(2, Math.min(5, Math.floor(L.barW / 45))));
  return (
    <svg
      xmlns="http://www.w3.org/2000/svg"
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={title}
      data-figure="distribution-bars"
      fontFamily={theme.font}
      fontSize={TICK_FONT}
      style={{ display: 'block' }}
    >
      <title>{title}</title>
      {background && <rect data-background="" width={width} height={height} fill={theme.bg} />}
      {panels.map((panel, i) => {
        const color = categoryColor(i, theme);
        const { x: px, y: py, bodyH } = L.panels[i];
        let y = HEADER_H;
        return (
          <g key={i} data-panel={panel.name} data-x={px} data-panel-width={L.panelW} transform={`translate(${px},${py})`}>
            <rect x={0} y={4} width={10} height={10} fill={color} />
            <text x={16} y={9} dy="0.35em" fontSize={TITLE_FONT} fontWeight={600} fill={theme.fg}>
              {panel.name}
            </text>
            <g transform={`translate(${labelW},0)`}>
              {ticks.map((t) => (
                <g key={t}>
                  <line x1={x(t)} x2={x(t)} y1={HEADER_H - 2} y2={bodyH + 2} stroke={theme.grid} strokeWidth={1} />
                  <text x={x(t)} y={bodyH + 6} dy="0.8em" textAnchor="middle" fill={theme.muted} data-tick="">
                    {formatValue(t)}
                  </text>
                </g>
              ))}
            </g>
            {panel.rows.map((row, j) => {
              if (row.extra && (j === 0 || !panel.rows[j - 1].extra)) y += EXTRA_GAP;
              const rowY = y;
              y += ROW_H;
              const w = Math.max(0, x(Math.min(row.prob, xMax)));
              return (
                <g key={j} data-bar="" data-token={row.token} data-prob={row.prob} data-highlighted={row.highlighted ? 'true' : undefined}>
                  <title>{`${panel.name}: ${JSON.stringify(row.token)}, p = ${formatValue(row.prob)} (rank ${row.rank})`}</title>
                  <text x={labelW - LABEL_GAP} y={rowY + ROW_H / 2} dy="0.35em" textAnchor="end" fill={theme.fg} fontWeight={row.highlighted ? 700 : 400} data-label="">
                    {rowLabel(row, L.labelChars)}
                  </text>
                  <rect
                    x={labelW}
                    y={rowY + 3}
                    width={w}
                    height={ROW_H - 6}
                    fill={color}
                    stroke={row.highlighted ? theme.fg : 'none'}
                    strokeWidth={row.highlighted ? 1.5 : 0}
                  />
                  <text x={labelW + w + VALUE_GAP} y={rowY + ROW_H / 2} dy="0.35em" fill={theme.fg} data-value="">
                    {valueText(row.prob)}
                  </text>
                </g>
              );
            })}
          </g>
        );
      })}
      <text x={width / 2} y={height - 2} textAnchor="middle" fill={theme.muted} fontSize={TICK_FONT}>
        probability
      </text>
    </svg>
  );
}

function sharedMax(panels: { rows: BarRow[] }[]): number {
  const m = Math.max(0, ...panels.flatMap((p) => p.rows.map((r) => r.prob)));
  if (!(m > 0)) return 1;
  const nice = scaleLinear().domain([0, m]).nice(4).domain()[1];
  return Math.min(1, nice);
}

/** Next-token distributions (top k) side by side, e.g. clean / patched / corrupt. */
export function DistributionBars(props: DistributionBarsProps) {
  const { distributions, title, k = 10, highlight } = props;
  const bodyRef = useRef<HTMLDivElement>(null);
  const theme = useChartTheme(bodyRef, props.theme);
  const available = useElementWidth(bodyRef, 720);
  const panels = useMemo(
    () => distributions.map((d) => ({ name: d.name, rows: distributionRows(d.entries, k, highlight) })),
    [distributions, k, highlight],
  );
  const xMax = props.xMax === undefined || props.xMax === 'shared' ? sharedMax(panels) : props.xMax;
  const layout = useMemo(() => distributionLayout(panels, available), [panels, available]);
  const { width, height } = layout;
  const figure = (background: boolean) => <DistributionFigure panels={panels} layout={layout} xMax={xMax} theme={theme} title={title} background={background} />;
  const exportSvg = () => svgMarkup(figure(true));
  const exports: ChartExports = {
    name: props.exportName,
    svg: exportSvg,
    png: () => svgToPng(exportSvg(), width, height),
    csv: () =>
      rowsToCsv(
        ['distribution', 'rank', 'token', 'prob'],
        panels.flatMap((p) => p.rows.map((r) => [p.name, r.rank, r.token, r.prob])),
      ),
    json: () => ({
      title,
      distributions: panels.map((p) => ({ name: p.name, entries: p.rows.map(({ rank, token, prob }) => ({ rank, token, prob })) })),
    }),
  };
  const legend =
    highlight && highlight.length > 0 ? (
      <span>
        Outlined, bold: {props.highlightMeaning ?? 'highlighted token'} ({highlight.map((t) => JSON.stringify(t)).join(', ')}); “#r” marks its rank when
        it is outside the top {k}.
      </span>
    ) : undefined;
  return (
    <ChartFrame kind="distribution-bars" title={title} subtitle={props.subtitle} legend={legend} exports={exports} onExport={props.onExport}>
      <div ref={bodyRef} style={{ overflowX: 'auto' }}>
        {distributions.length === 0 ? <p style={{ margin: '8px 0' }}>No distributions to show.</p> : figure(false)}
      </div>
    </ChartFrame>
  );
}
