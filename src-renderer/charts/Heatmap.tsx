import { rgb } from 'd3';
import { memo, useCallback, useEffect, useId, useMemo, useRef, useState, type MouseEvent, type ReactNode } from 'react';
import { ChartFrame, type ChartExports } from './ChartFrame.js';
import { svgMarkup, svgToPng, toCsv, type ExportFile } from './export.js';
import {
  checkMatrix,
  heatmapLabels,
  heatmapLayout,
  LEGEND_BAR_BLOCK_HEIGHT,
  LEGEND_BAR_WIDTH,
  LEGEND_LINE_HEIGHT,
  TICK_FONT,
  TITLE_FONT,
  type HeatmapLabels,
  type HeatmapLayout,
  type HeatmapOrientation,
} from './heatmap-layout.js';
import { formatValue as defaultFormat, truncateLabel } from './labels.js';
import { resolveColorScale, type ColorScaleSpec, type ResolvedScale } from './scales.js';
import { useChartTheme, useElementWidth, type ChartTheme } from './theme.js';
import type { CellRef } from './topk.js';

export interface HeatmapCellInfo {
  row: number;
  col: number;
  value: number;
  name: string;
  masked: boolean;
}

export interface HeatmapProps {
  /** rows × cols; NaN marks a missing value (drawn hatched). Per-head: values[layer][head]. */
  values: readonly (readonly number[])[];
  scale: ColorScaleSpec;
  title: string;
  subtitle?: ReactNode;
  orientation?: HeatmapOrientation;
  /** 'position' orientation: one token per column; labels become "tok (i)". */
  tokens?: readonly string[];
  rowLabels?: readonly string[];
  colLabels?: readonly string[];
  xTitle?: string;
  yTitle?: string;
  /** Name of a cell in the hover; default "L{l}H{h}" for heads. */
  cellName?: (row: number, col: number) => string;
  /** What a value means, in the hover; default from the scale (sign meaning, or its label). */
  meaning?: (value: number, row: number, col: number) => string;
  formatValue?: (value: number) => string;
  /** Cells drawn with an outline, e.g. a top-K selection. */
  outlined?: readonly CellRef[];
  /** The locked (clicked) cell, drawn with a heavy ring. */
  locked?: CellRef | null;
  /** Cells that have no meaning (e.g. a causal mask): drawn grey, not clickable. */
  masked?: (row: number, col: number) => boolean;
  maskedMeaning?: string;
  onCellClick?: (row: number, col: number, value: number) => void;
  onCellHover?: (cell: HeatmapCellInfo | null) => void;
  cellWidth?: number;
  cellHeight?: number;
  /** Smallest cell width before the chart scrolls sideways; default 12 for 'position', else 2. */
  minCellWidth?: number;
  /** 'auto' draws cells on a canvas above 2,500 cells; axes and outlines stay SVG. */
  render?: 'auto' | 'svg' | 'canvas';
  controls?: ReactNode;
  legend?: ReactNode;
  theme?: Partial<ChartTheme>;
  exportName?: string;
  onExport?: (file: ExportFile) => void;
}

const CANVAS_ABOVE = 2500;

interface LegendLine {
  swatch: 'color' | 'nan' | 'masked';
  color?: string;
  text: string;
}

function legendLines(scale: ResolvedScale, hasNaN: boolean, hasMasked: boolean, maskedMeaning: string): LegendLine[] {
  const lines: LegendLine[] = [];
  if (scale.spec.kind === 'diverging') {
    const m = scale.domain[1];
    lines.push({ swatch: 'color', color: scale.color(m), text: `blue (+): ${scale.spec.positive}` });
    lines.push({ swatch: 'color', color: scale.color(-m), text: `red (−): ${scale.spec.negative}` });
  }
  if (hasNaN) lines.push({ swatch: 'nan', text: 'hatched: no value' });
  if (hasMasked) lines.push({ swatch: 'masked', text: `grey: ${maskedMeaning}` });
  return lines;
}

/** Legend ends read best rounded; the hover keeps the exact value. */
function legendTick(v: number): string {
  return defaultFormat(Number(v.toPrecision(3)));
}

function legendLabel(scale: ResolvedScale): string | undefined {
  return scale.spec.label;
}

interface FigureProps {
  values: readonly (readonly number[])[];
  labels: HeatmapLabels;
  layout: HeatmapLayout;
  scale: ResolvedScale;
  theme: ChartTheme;
  outlined: readonly CellRef[];
  locked: CellRef | null;
  hovered: CellRef | null;
  masked?: (row: number, col: number) => boolean;
  legend: LegendLine[];
  title: string;
  uid: string;
  /** false when a canvas under the SVG draws the cells. */
  drawCells: boolean;
  /** Paint the theme background (exports); live charts leave it to the container. */
  background: boolean;
  onMouseMove?: (e: MouseEvent<SVGGElement>) => void;
  onMouseLeave?: () => void;
  onClick?: (e: MouseEvent<SVGGElement>) => void;
}

interface CellsProps {
  values: readonly (readonly number[])[];
  cellW: number;
  cellH: number;
  color: (v: number) => string;
  maskColor: string;
  hatch: string;
  masked?: (row: number, col: number) => boolean;
}

const Cells = memo(function Cells({ values, cellW, cellH, color, maskColor, hatch, masked }: CellsProps) {
  const out: ReactNode[] = [];
  values.forEach((row, r) =>
    row.forEach((v, c) => {
      const isMasked = masked?.(r, c) ?? false;
      const isNaN = !isMasked && Number.isNaN(v);
      out.push(
        <rect
          key={`${r}:${c}`}
          data-cell=""
          data-row={r}
          data-col={c}
          data-masked={isMasked ? 'true' : undefined}
          data-nan={isNaN ? 'true' : undefined}
          x={c * cellW}
          y={r * cellH}
          width={cellW}
          height={cellH}
          fill={isMasked ? maskColor : isNaN ? `url(#${hatch})` : color(v)}
        />,
      );
    }),
  );
  return (
    <g data-layer="cells" shapeRendering="crispEdges">
      {out}
    </g>
  );
});

/** The whole heatmap as SVG: used live (with a canvas under it for big matrices) and for export. */
export function HeatmapFigure(p: FigureProps) {
  const { layout: L, labels, theme, scale } = p;
  const hatch = `${p.uid}-nan`;
  const gradient = `${p.uid}-scale`;
  const rows = p.values.length;
  const cols = p.values[0].length;
  const ringPad = 2;
  const gradientStops = Array.from({ length: 11 }, (_, i) => {
    const t = i / 10;
    return { offset: `${t * 100}%`, color: scale.color(scale.domain[0] + t * (scale.domain[1] - scale.domain[0])) };
  });
  const label = legendLabel(scale);
  return (
    <svg
      xmlns="http://www.w3.org/2000/svg"
      width={L.width}
      height={L.height}
      viewBox={`0 0 ${L.width} ${L.height}`}
      role="img"
      aria-label={p.title}
      data-figure="heatmap"
      fontFamily={theme.font}
      style={{ display: 'block', position: 'relative' }}
    >
      <defs>
        <pattern id={hatch} patternUnits="userSpaceOnUse" width={6} height={6} patternTransform="rotate(45)">
          <rect width={6} height={6} fill={theme.grid} />
          <line x1={0} y1={0} x2={0} y2={6} stroke={theme.muted} strokeWidth={2} />
        </pattern>
        <linearGradient id={gradient} x1="0" x2="1" y1="0" y2="0">
          {gradientStops.map((s) => (
            <stop key={s.offset} offset={s.offset} stopColor={s.color} />
          ))}
        </linearGradient>
      </defs>
      {p.background && <rect data-background="" width={L.width} height={L.height} fill={theme.bg} />}
      <title>{p.title}</title>
      <g transform={`translate(${L.margin.left},${L.margin.top})`}>
        <g data-layer="plot" onMouseMove={p.onMouseMove} onMouseLeave={p.onMouseLeave} onClick={p.onClick}>
          {p.drawCells ? (
            <Cells
              values={p.values}
              cellW={L.cellW}
              cellH={L.cellH}
              color={scale.color}
              maskColor={theme.grid}
              hatch={hatch}
              masked={p.masked}
            />
          ) : (
            <rect data-overlay="" width={L.plotW} height={L.plotH} fill="transparent" />
          )}
        </g>
        <g data-layer="marks" pointerEvents="none">
          {p.outlined
            .filter(([r, c]) => r >= 0 && r < rows && c >= 0 && c < cols)
            .map(([r, c]) => (
              <g key={`o${r}:${c}`} data-outline="" data-row={r} data-col={c}>
                <rect x={c * L.cellW + 1} y={r * L.cellH + 1} width={Math.max(0, L.cellW - 2)} height={Math.max(0, L.cellH - 2)} fill="none" stroke={theme.fg} strokeWidth={2} />
                {L.cellW >= 8 && L.cellH >= 8 && (
                  <rect x={c * L.cellW + 2.5} y={r * L.cellH + 2.5} width={L.cellW - 5} height={L.cellH - 5} fill="none" stroke={theme.bg} strokeWidth={1} />
                )}
              </g>
            ))}
          {p.hovered && (
            <rect
              data-hover=""
              x={p.hovered[1] * L.cellW - 0.5}
              y={p.hovered[0] * L.cellH - 0.5}
              width={L.cellW + 1}
              height={L.cellH + 1}
              fill="none"
              stroke={theme.fg}
              strokeWidth={1}
            />
          )}
          {p.locked && p.locked[0] < rows && p.locked[1] < cols && (
            <g data-locked="" data-row={p.locked[0]} data-col={p.locked[1]}>
              <rect
                x={p.locked[1] * L.cellW - ringPad - 1.5}
                y={p.locked[0] * L.cellH - ringPad - 1.5}
                width={L.cellW + 2 * ringPad + 3}
                height={L.cellH + 2 * ringPad + 3}
                fill="none"
                stroke={theme.bg}
                strokeWidth={1}
              />
              <rect
                x={p.locked[1] * L.cellW - ringPad}
                y={p.locked[0] * L.cellH - ringPad}
                width={L.cellW + 2 * ringPad}
                height={L.cellH + 2 * ringPad}
                fill="none"
                stroke={theme.fg}
                strokeWidth={3}
              />
            </g>
          )}
        </g>
        <g data-layer="y-axis" fontSize={TICK_FONT} fill={theme.fg}>
          {labels.rowTicks.map((t, r) =>
            r % L.yStride === 0 ? (
              <text key={r} x={-6} y={(r + 0.5) * L.cellH} dy="0.35em" textAnchor="end">
                {truncateLabel(t)}
              </text>
            ) : null,
          )}
        </g>
        <g data-layer="x-axis" fontSize={TICK_FONT} fill={theme.fg}>
          {labels.colTicks.map((t, c) => {
            if (c % L.xStride !== 0) return null;
            const x = (c + 0.5) * L.cellW;
            const y = L.plotH + 6;
            return L.rotateX ? (
              <text key={c} x={x} y={y} dy="0.7em" textAnchor="end" transform={`rotate(-45,${x},${y})`}>
                {truncateLabel(t)}
              </text>
            ) : (
              <text key={c} x={x} y={y} dy="0.8em" textAnchor="middle">
                {truncateLabel(t)}
              </text>
            );
          })}
        </g>
      </g>
      {labels.yTitle !== '' && (
        <text
          x={0}
          y={0}
          transform={`translate(${8 + TITLE_FONT / 2},${L.margin.top + L.plotH / 2}) rotate(-90)`}
          textAnchor="middle"
          dy="0.35em"
          fontSize={TITLE_FONT}
          fill={theme.fg}
        >
          {labels.yTitle}
        </text>
      )}
      {labels.xTitle !== '' && (
        <text x={L.margin.left + L.plotW / 2} y={L.xTitleY} dy="0.8em" textAnchor="middle" fontSize={TITLE_FONT} fill={theme.fg}>
          {labels.xTitle}
        </text>
      )}
      <g data-layer="legend" transform={`translate(${L.margin.left},${L.legendY})`} fontSize={TICK_FONT} fill={theme.fg}>
        <rect width={LEGEND_BAR_WIDTH} height={10} fill={`url(#${gradient})`} stroke={theme.grid} strokeWidth={0.5} />
        {scale.ticks.map((v, i) => (
          <text
            key={i}
            x={((v - scale.domain[0]) / (scale.domain[1] - scale.domain[0])) * LEGEND_BAR_WIDTH}
            y={12}
            dy="0.8em"
            textAnchor={i === 0 ? 'start' : i === scale.ticks.length - 1 ? 'end' : 'middle'}
          >
            {legendTick(v)}
          </text>
        ))}
        {label && (
          <text x={L.legendLabelBelow ? 0 : LEGEND_BAR_WIDTH + 12} y={L.legendLabelBelow ? LEGEND_BAR_BLOCK_HEIGHT + 6 : 5} dy="0.35em" fontSize={TITLE_FONT}>
            {label}
          </text>
        )}
        {p.legend.map((line, i) => {
          const y = LEGEND_BAR_BLOCK_HEIGHT + ((L.legendLabelBelow ? 1 : 0) + i) * LEGEND_LINE_HEIGHT;
          const fill = line.swatch === 'color' ? line.color : line.swatch === 'nan' ? `url(#${hatch})` : theme.grid;
          return (
            <g key={i} transform={`translate(0,${y})`}>
              <rect width={12} height={12} fill={fill} stroke={theme.grid} strokeWidth={0.5} />
              <text x={18} y={6} dy="0.35em">
                {line.text}
              </text>
            </g>
          );
        })}
      </g>
    </svg>
  );
}

/**
 * Rows × cols heatmap with axes, a colour legend that says what the colours mean, hover tooltip,
 * click callback, outlined and locked cells. SVG up to 2,500 cells, canvas cells above that.
 */
export function Heatmap(props: HeatmapProps) {
  const { values, scale: spec, title, orientation = 'matrix' } = props;
  const bodyRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const theme = useChartTheme(bodyRef, props.theme);
  const available = useElementWidth(bodyRef, 720);
  const uid = `hm${useId().replace(/[^a-zA-Z0-9]/g, '')}`;
  const [hovered, setHovered] = useState<CellRef | null>(null);

  const problem = checkMatrix(values, props);
  const rows = problem ? 0 : values.length;
  const cols = problem ? 0 : values[0].length;
  const { tokens, rowLabels, colLabels, xTitle, yTitle, cellName } = props;
  const labels = useMemo(
    () => heatmapLabels({ orientation, tokens, rowLabels, colLabels, xTitle, yTitle, cellName }, rows, cols),
    [orientation, tokens, rowLabels, colLabels, xTitle, yTitle, cellName, rows, cols],
  );
  // Keyed on the scale's content: views usually pass it as an object literal.
  const specKey = JSON.stringify(spec);
  const scale = useMemo(() => resolveColorScale(spec, problem ? [] : values), [specKey, values, problem]);
  const { masked } = props;
  const maskedMeaning = props.maskedMeaning ?? 'masked';
  const { hasNaN, hasMasked } = useMemo(() => {
    let nan = false;
    let mask = false;
    if (!problem) {
      values.forEach((row, r) =>
        row.forEach((v, c) => {
          const m = masked?.(r, c) ?? false;
          mask ||= m;
          nan ||= !m && Number.isNaN(v);
        }),
      );
    }
    return { hasNaN: nan, hasMasked: mask };
  }, [values, masked, problem]);
  const legend = useMemo(() => legendLines(scale, hasNaN, hasMasked, maskedMeaning), [scale, hasNaN, hasMasked, maskedMeaning]);
  const layout = useMemo(
    () =>
      heatmapLayout({
        rows: Math.max(rows, 1),
        cols: Math.max(cols, 1),
        rowTicks: labels.rowTicks,
        colTicks: labels.colTicks,
        hasXTitle: labels.xTitle !== '',
        hasYTitle: labels.yTitle !== '',
        availableWidth: available,
        cellWidth: props.cellWidth,
        cellHeight: props.cellHeight,
        minCellWidth: props.minCellWidth ?? (orientation === 'position' ? 12 : 2),
        legendLines: legend.map((l) => l.text),
        legendLabel: legendLabel(scale),
      }),
    [rows, cols, labels, available, props.cellWidth, props.cellHeight, props.minCellWidth, orientation, legend, scale],
  );
  const useCanvas = props.render === 'canvas' || (props.render !== 'svg' && rows * cols > CANVAS_ABOVE);
  const outlined = props.outlined ?? NO_CELLS;
  const locked = props.locked ?? null;

  useEffect(() => {
    if (!useCanvas || problem) return;
    const canvas = canvasRef.current;
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx) return;
    const dpr = typeof window !== 'undefined' && window.devicePixelRatio ? window.devicePixelRatio : 1;
    canvas.width = Math.ceil(layout.plotW * dpr);
    canvas.height = Math.ceil(layout.plotH * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, layout.plotW, layout.plotH);
    // One pixel per cell, scaled up without smoothing: no seams between fractional-width cells.
    const pixels = document.createElement('canvas');
    pixels.width = cols;
    pixels.height = rows;
    const pctx = pixels.getContext('2d');
    if (!pctx) return;
    const image = pctx.createImageData(cols, rows);
    const rgba = (css: string) => {
      const c = rgb(css);
      return [c.r, c.g, c.b, Math.round(c.opacity * 255)];
    };
    const gridRgba = rgba(theme.grid);
    const nanCells: CellRef[] = [];
    values.forEach((row, r) =>
      row.forEach((v, c) => {
        const isMasked = masked?.(r, c) ?? false;
        if (!isMasked && Number.isNaN(v)) nanCells.push([r, c]);
        image.data.set(isMasked || Number.isNaN(v) ? gridRgba : rgba(scale.color(v)), (r * cols + c) * 4);
      }),
    );
    pctx.putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(pixels, 0, 0, layout.plotW, layout.plotH);
    const { cellW, cellH } = layout;
    if (cellW >= 4 && cellH >= 4) {
      ctx.strokeStyle = theme.muted;
      ctx.lineWidth = 1;
      for (const [r, c] of nanCells) {
        ctx.beginPath();
        ctx.moveTo(c * cellW, (r + 1) * cellH);
        ctx.lineTo((c + 1) * cellW, r * cellH);
        ctx.stroke();
      }
    }
  }, [useCanvas, problem, values, rows, cols, layout, scale, theme, masked]);

  const cellAt = useCallback(
    (e: MouseEvent<SVGGElement>): CellRef | null => {
      const target = e.target as Element;
      if (target.hasAttribute?.('data-cell')) {
        return [Number(target.getAttribute('data-row')), Number(target.getAttribute('data-col'))];
      }
      if (target.hasAttribute?.('data-overlay')) {
        const box = target.getBoundingClientRect();
        const c = Math.floor((e.clientX - box.left) / layout.cellW);
        const r = Math.floor((e.clientY - box.top) / layout.cellH);
        if (r >= 0 && r < rows && c >= 0 && c < cols) return [r, c];
      }
      return null;
    },
    [layout, rows, cols],
  );
  const { onCellHover, onCellClick } = props;
  const info = useCallback(
    (cell: CellRef): HeatmapCellInfo => ({
      row: cell[0],
      col: cell[1],
      value: values[cell[0]][cell[1]],
      name: labels.cellName(cell[0], cell[1]),
      masked: masked?.(cell[0], cell[1]) ?? false,
    }),
    [values, labels, masked],
  );
  const hoveredRef = useRef<CellRef | null>(null);
  const hover = useCallback(
    (cell: CellRef | null) => {
      const prev = hoveredRef.current;
      if (prev === cell || (prev && cell && prev[0] === cell[0] && prev[1] === cell[1])) return;
      hoveredRef.current = cell;
      setHovered(cell);
      onCellHover?.(cell ? info(cell) : null);
    },
    [onCellHover, info],
  );
  const onMouseMove = useCallback((e: MouseEvent<SVGGElement>) => hover(cellAt(e)), [hover, cellAt]);
  const onMouseLeave = useCallback(() => hover(null), [hover]);
  const onClick = useCallback(
    (e: MouseEvent<SVGGElement>) => {
      const cell = cellAt(e);
      if (!cell || (masked?.(cell[0], cell[1]) ?? false)) return;
      onCellClick?.(cell[0], cell[1], values[cell[0]][cell[1]]);
    },
    [cellAt, masked, onCellClick, values],
  );

  const figure = (live: boolean) => (
    <HeatmapFigure
      values={values}
      labels={labels}
      layout={layout}
      scale={scale}
      theme={theme}
      outlined={outlined}
      locked={locked}
      hovered={live && hoverValid ? hovered : null}
      masked={masked}
      legend={legend}
      title={title}
      uid={uid}
      drawCells={!live || !useCanvas}
      background={!live}
      onMouseMove={live ? onMouseMove : undefined}
      onMouseLeave={live ? onMouseLeave : undefined}
      onClick={live ? onClick : undefined}
    />
  );

  const exportSvg = () => svgMarkup(figure(false));
  const exports: ChartExports | undefined = problem
    ? undefined
    : {
        name: props.exportName,
        svg: exportSvg,
        png: () => svgToPng(exportSvg(), layout.width, layout.height),
        csv: () => toCsv(values, labels.rowNames, labels.colNames),
        json: () => ({
          title,
          rows: labels.rowNames,
          cols: labels.colNames,
          values,
          scale: { kind: spec.kind, domain: scale.domain, label: spec.label ?? null },
          outlined: outlined.map(([r, c]) => [r, c]),
          locked: locked ? [locked[0], locked[1]] : null,
        }),
      };

  const format = props.formatValue ?? defaultFormat;
  const hoverValid = hovered !== null && !problem && hovered[0] < rows && hovered[1] < cols;
  const tip = hoverValid ? info(hovered) : null;
  const tipMeaning = tip
    ? tip.masked
      ? maskedMeaning
      : props.meaning
        ? props.meaning(tip.value, tip.row, tip.col)
        : scale.meaning(tip.value)
    : '';
  const tipLeft = tip ? layout.margin.left + (tip.col + 1) * layout.cellW + 10 : 0;
  // Flip to the left of the cell only where there is room there: the body scrolls
  // sideways, so a tip running past the right edge stays readable, one past the left does not.
  const tipRoomLeft = tip ? layout.margin.left + tip.col * layout.cellW - 10 : 0;
  const tipFlip = tipLeft + 240 > Math.max(layout.width, available) && tipRoomLeft >= 200;

  return (
    <ChartFrame
      kind="heatmap"
      title={title}
      subtitle={props.subtitle}
      controls={props.controls}
      legend={props.legend}
      exports={exports}
      onExport={props.onExport}
    >
      <div ref={bodyRef} style={{ overflowX: 'auto', overflowY: 'hidden', maxWidth: '100%' }}>
        {problem ? (
          <p role="alert" style={{ margin: '8px 0' }}>
            Cannot draw “{title}”: {problem}
          </p>
        ) : (
          <div style={{ position: 'relative', width: layout.width, height: layout.height }}>
            {useCanvas && (
              <canvas
                ref={canvasRef}
                data-layer="canvas"
                style={{ position: 'absolute', left: layout.margin.left, top: layout.margin.top, width: layout.plotW, height: layout.plotH }}
              />
            )}
            {figure(true)}
            {tip && (
              <div
                role="tooltip"
                style={{
                  position: 'absolute',
                  // The body clips vertically: keep the tip above the figure's bottom edge.
                  top: Math.max(0, Math.min(layout.margin.top + tip.row * layout.cellH - 4, layout.height - 72)),
                  left: tipFlip ? undefined : tipLeft,
                  right: tipFlip ? Math.max(0, layout.width - (layout.margin.left + tip.col * layout.cellW) + 10) : undefined,
                  maxWidth: 240,
                  padding: '4px 8px',
                  background: theme.bg,
                  color: theme.fg,
                  border: `1px solid ${theme.grid}`,
                  borderRadius: 4,
                  boxShadow: '0 2px 6px rgba(0, 0, 0, 0.25)',
                  pointerEvents: 'none',
                  whiteSpace: 'normal',
                  zIndex: 5,
                }}
              >
                <strong>{tip.name}</strong> <span>{tip.masked ? '—' : format(tip.value)}</span>
                {tipMeaning !== '' && <div style={{ color: theme.muted }}>{tipMeaning}</div>}
              </div>
            )}
          </div>
        )}
      </div>
    </ChartFrame>
  );
}

const NO_CELLS: readonly CellRef[] = [];
