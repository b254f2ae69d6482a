import { headLabel, positionLabels, truncateLabel } from './labels.js';

/**
 * 'head': x = head, y = layer, hover "L{l}H{h}". 'position': x = token position ("tok (i)"),
 * y = layer. 'matrix': any rows × cols with the labels given.
 */
export type HeatmapOrientation = 'head' | 'position' | 'matrix';

export interface HeatmapLabelInput {
  orientation?: HeatmapOrientation;
  tokens?: readonly string[];
  rowLabels?: readonly string[];
  colLabels?: readonly string[];
  xTitle?: string;
  yTitle?: string;
  cellName?: (row: number, col: number) => string;
}

export interface HeatmapLabels {
  /** Axis tick text. */
  rowTicks: string[];
  colTicks: string[];
  /** Row and column names in CSV/JSON exports. */
  rowNames: string[];
  colNames: string[];
  xTitle: string;
  yTitle: string;
  cellName: (row: number, col: number) => string;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => String(i));

export function heatmapLabels(input: HeatmapLabelInput, rows: number, cols: number): HeatmapLabels {
  const orientation = input.orientation ?? 'matrix';
  if (orientation === 'head') {
    const rowTicks = input.rowLabels ? [...input.rowLabels] : range(rows);
    const colTicks = input.colLabels ? [...input.colLabels] : range(cols);
    return {
      rowTicks,
      colTicks,
      rowNames: input.rowLabels ? rowTicks : rowTicks.map((_, l) => `L${l}`),
      colNames: input.colLabels ? colTicks : colTicks.map((_, h) => `H${h}`),
      xTitle: input.xTitle ?? 'Head',
      yTitle: input.yTitle ?? 'Layer',
      cellName: input.cellName ?? headLabel,
    };
  }
  if (orientation === 'position') {
    const colTicks = input.colLabels ? [...input.colLabels] : input.tokens ? positionLabels(input.tokens) : range(cols);
    const rowTicks = input.rowLabels ? [...input.rowLabels] : range(rows);
    const rowNames = input.rowLabels ? rowTicks : rowTicks.map((_, l) => `L${l}`);
    return {
      rowTicks,
      colTicks,
      rowNames,
      colNames: colTicks,
      xTitle: input.xTitle ?? 'Position',
      yTitle: input.yTitle ?? 'Layer',
      cellName: input.cellName ?? ((r, c) => `${rowNames[r]} · ${colTicks[c]}`),
    };
  }
  const rowTicks = input.rowLabels ? [...input.rowLabels] : range(rows);
  const colTicks = input.colLabels ? [...input.colLabels] : range(cols);
  return {
    rowTicks,
    colTicks,
    rowNames: rowTicks,
    colNames: colTicks,
    xTitle: input.xTitle ?? '',
    yTitle: input.yTitle ?? '',
    cellName: input.cellName ?? ((r, c) => `${rowTicks[r]} · ${colTicks[c]}`),
  };
}

/** A message naming what is wrong with the matrix or its labels, or null when it can be drawn. */
export function checkMatrix(values: readonly (readonly number[])[], input: HeatmapLabelInput): string | null {
  if (!Array.isArray(values) || values.length === 0) return 'no data: the matrix has no rows';
  const cols = values[0].length;
  if (cols === 0) return 'no data: the matrix has no columns';
  for (let r = 0; r < values.length; r++) {
    if (values[r].length !== cols) return `row ${r} has ${values[r].length} values; row 0 has ${cols}`;
  }
  if (input.rowLabels && input.rowLabels.length !== values.length) {
    return `rowLabels has ${input.rowLabels.length} entries for ${values.length} rows`;
  }
  if (input.colLabels && input.colLabels.length !== cols) {
    return `colLabels has ${input.colLabels.length} entries for ${cols} columns`;
  }
  if (!input.colLabels && input.tokens && input.tokens.length !== cols) {
    return `tokens has ${input.tokens.length} entries for ${cols} columns`;
  }
  return null;
}

export const TICK_FONT = 11;
export const TITLE_FONT = 12;
const CHAR_WIDTH = 0.6; // average glyph width / font size for UI sans-serif fonts
const COS45 = Math.SQRT1_2;

export function textWidth(text: string, fontSize = TICK_FONT): number {
  return text.length * fontSize * CHAR_WIDTH;
}

export interface HeatmapLayoutInput {
  rows: number;
  cols: number;
  rowTicks: readonly string[];
  colTicks: readonly string[];
  hasXTitle: boolean;
  hasYTitle: boolean;
  /** Width the chart may take; cells shrink to fit it down to minCellWidth. */
  availableWidth: number;
  cellWidth?: number;
  cellHeight?: number;
  minCellWidth: number;
  maxCellSize?: number;
  /** Legend lines (text) under the plot, to size the figure. */
  legendLines: readonly string[];
  /** Name of the quantity, drawn right of the colour bar. */
  legendLabel?: string;
}

export interface HeatmapLayout {
  margin: { top: number; right: number; bottom: number; left: number };
  cellW: number;
  cellH: number;
  plotW: number;
  plotH: number;
  width: number;
  height: number;
  /** Column labels drawn at 45° because they are wider than a cell. */
  rotateX: boolean;
  /** The quantity's name goes on a line under the colour bar: beside it, it would not fit the width. */
  legendLabelBelow: boolean;
  /** Draw every n-th tick label so labels do not overlap. */
  xStride: number;
  yStride: number;
  /** Top of the x-axis title and of the legend. */
  xTitleY: number;
  legendY: number;
}

export const LEGEND_BAR_WIDTH = 200;
const LEGEND_LINE = 16;
const LEGEND_BAR_BLOCK = 30;

export function heatmapLayout(input: HeatmapLayoutInput): HeatmapLayout {
  const maxCell = input.maxCellSize ?? 48;
  const colTicks = input.colTicks.map((t) => truncateLabel(t));
  const rowTicks = input.rowTicks.map((t) => truncateLabel(t));
  const yTickW = Math.max(0, ...rowTicks.map((t) => textWidth(t))) + 6;
  const maxXLabel = Math.max(0, ...colTicks.map((t) => textWidth(t)));
  let left = 8 + (input.hasYTitle ? TITLE_FONT + 8 : 0) + yTickW;
  const right = 12;
  const avail = Math.max(50, input.availableWidth - left - right);
  const fit = avail / input.cols;
  const cellW = input.cellWidth ?? Math.max(input.minCellWidth, Math.min(maxCell, fit >= 4 ? Math.floor(fit) : fit));
  const cellH = input.cellHeight ?? Math.min(maxCell, Math.max(cellW, Math.min(14, 600 / input.rows)));
  const rotateX = maxXLabel + 4 > cellW;
  const xStride = rotateX ? Math.max(1, Math.ceil(17 / cellW)) : 1;
  const yStride = Math.max(1, Math.ceil(12 / cellH));
  if (rotateX && colTicks.length > 0) {
    // The first rotated label runs left of the plot; keep it inside the figure.
    left = Math.max(left, textWidth(colTicks[0]) * COS45 - cellW / 2 + 8);
  }
  const plotW = cellW * input.cols;
  const plotH = cellH * input.rows;
  const top = 8;
  const xLabelH = rotateX ? maxXLabel * COS45 + 10 : TICK_FONT + 8;
  const xTitleY = top + plotH + xLabelH + 4;
  const legendY = xTitleY + (input.hasXTitle ? TITLE_FONT + 10 : 0) + 6;
  const labelW = input.legendLabel ? textWidth(input.legendLabel, TITLE_FONT) : 0;
  const legendLabelBelow = labelW > 0 && left + LEGEND_BAR_WIDTH + 12 + labelW + right > input.availableWidth;
  const legendH = LEGEND_BAR_BLOCK + (legendLabelBelow ? LEGEND_LINE : 0) + input.legendLines.length * LEGEND_LINE;
  const barW = legendLabelBelow ? Math.max(LEGEND_BAR_WIDTH, labelW) : LEGEND_BAR_WIDTH + (labelW > 0 ? 12 + labelW : 0);
  const legendW = Math.max(barW, ...input.legendLines.map((l) => textWidth(l, TICK_FONT) + 18));
  const width = Math.ceil(Math.max(left + plotW + right, left + legendW + right));
  const height = Math.ceil(legendY + legendH + 6);
  return {
    margin: { top, right, bottom: height - top - plotH, left },
    cellW,
    cellH,
    plotW,
    plotH,
    width,
    height,
    rotateX,
    legendLabelBelow,
    xStride,
    yStride,
    xTitleY,
    legendY,
  };
}

export const LEGEND_LINE_HEIGHT = LEGEND_LINE;
export const LEGEND_BAR_BLOCK_HEIGHT = LEGEND_BAR_BLOCK;
