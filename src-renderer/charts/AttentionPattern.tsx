import { useCallback, useMemo, useRef, type ReactNode } from 'react';
import type { ExportFile } from './export.js';
import { Heatmap } from './Heatmap.js';
import { LEGEND_BAR_WIDTH, textWidth, TITLE_FONT } from './heatmap-layout.js';
import { displayToken, headLabel, positionLabels, truncateLabel } from './labels.js';
import type { SequentialScale } from './scales.js';
import { useElementWidth, type ChartTheme } from './theme.js';
import type { CellRef } from './topk.js';

export interface AttentionPatternProps {
  /** query × key attention weights of one head; each row sums to 1 over the keys it may see. */
  pattern: readonly (readonly number[])[];
  /** The prompt's tokens; both axes are labelled "tok (i)". */
  tokens: readonly string[];
  layer?: number;
  head?: number;
  /** Grey out the upper triangle (keys after the query), which a causal model cannot attend to. */
  causal?: boolean;
  title?: string;
  subtitle?: ReactNode;
  locked?: CellRef | null;
  onCellClick?: (query: number, key: number, weight: number) => void;
  theme?: Partial<ChartTheme>;
  exportName?: string;
  onExport?: (file: ExportFile) => void;
}

const SCALE_LABEL = 'attention weight';
const SCALE: SequentialScale = { kind: 'sequential', label: SCALE_LABEL, min: 0, max: 1 };
/** The compact legend names the scale below the chart instead of beside the colour bar. */
const COMPACT_SCALE: SequentialScale = { kind: 'sequential', label: '', min: 0, max: 1 };
const CAUSAL_MEANING = 'masked: a token cannot attend to later tokens';
const COMPACT_CAUSAL_MEANING = 'masked (later token)';
const Y_TITLE = 'Query (attending from)';
const X_TITLE = 'Key (attended to)';
/** The chart frame's padding on both sides, between this component's box and the heatmap's body. */
const FRAME_PAD = 16;
/** In a narrow panel, tokens on the axes are cut to this many characters (the index stays). */
const COMPACT_TOKEN_CHARS = 8;

function causalMask(query: number, key: number): boolean {
  return key > query;
}

/** What the heatmap reserves left of the plot and right of it (see heatmapLayout). */
const leftMargin = (ticks: readonly string[], yTitle: boolean) => 8 + (yTitle ? TITLE_FONT + 8 : 0) + Math.max(0, ...ticks.map((t) => textWidth(truncateLabel(t)))) + 6;
const RIGHT_MARGIN = 12;

/**
 * Whether the full legend (colour bar with its name beside it, the causal mask spelled out) and
 * the y-axis title fit in `available` pixels; if not, the chart goes compact: shorter axis
 * labels, no y title, the scale named and the mask explained in the text under the chart.
 */
export function attentionLegendFits(labels: readonly string[], causal: boolean, available: number): boolean {
  const legend = Math.max(LEGEND_BAR_WIDTH + 12 + textWidth(SCALE_LABEL, TITLE_FONT), causal ? textWidth(`grey: ${CAUSAL_MEANING}`) + 18 : 0);
  return leftMargin(labels, true) + legend + RIGHT_MARGIN <= available;
}

/** One head's attention pattern: y = query (attending from), x = key (attended to). */
export function AttentionPattern({ pattern, tokens, layer, head, causal = true, ...rest }: AttentionPatternProps) {
  const boxRef = useRef<HTMLDivElement>(null);
  const available = useElementWidth(boxRef, 720) - FRAME_PAD;
  const labels = useMemo(() => positionLabels(tokens), [tokens]);
  const compact = !attentionLegendFits(labels, causal, available);
  const ticks = useMemo(() => (compact ? tokens.map((t, i) => `${truncateLabel(displayToken(t), COMPACT_TOKEN_CHARS)} (${i})`) : labels), [compact, tokens, labels]);
  const cellName = useCallback((q: number, k: number) => `${labels[q]} → ${labels[k]}`, [labels]);
  const meaning = useCallback(
    (w: number, q: number, k: number) => `${labels[q]} puts ${(w * 100).toFixed(1)}% of its attention on ${labels[k]}`,
    [labels],
  );
  const who = layer !== undefined && head !== undefined ? ` ${headLabel(layer, head)}` : '';
  // Cells shrink (labels then rotate and thin out) so that a short prompt fits a narrow panel.
  const fitCell = Math.floor((available - leftMargin(ticks, !compact) - RIGHT_MARGIN) / Math.max(1, tokens.length));
  const minCellWidth = labels.length <= 64 ? Math.max(compact ? 6 : 10, Math.min(14, fitCell)) : 2;
  return (
    <div ref={boxRef} data-compact={compact ? 'true' : undefined} style={{ minWidth: 0 }}>
      <Heatmap
        values={pattern}
        scale={compact ? COMPACT_SCALE : SCALE}
        title={rest.title ?? `Attention pattern${who}`}
        subtitle={rest.subtitle}
        orientation="matrix"
        rowLabels={ticks}
        colLabels={ticks}
        yTitle={compact ? '' : Y_TITLE}
        xTitle={X_TITLE}
        cellName={cellName}
        meaning={meaning}
        masked={causal ? causalMask : undefined}
        maskedMeaning={compact ? COMPACT_CAUSAL_MEANING : CAUSAL_MEANING}
        locked={rest.locked}
        onCellClick={rest.onCellClick}
        minCellWidth={minCellWidth}
        legend={compact ? `Colour: ${SCALE_LABEL}, 0 to 1.${causal ? ` Grey: ${CAUSAL_MEANING}.` : ''} Rows: query (attending from).` : undefined}
        theme={rest.theme}
        exportName={rest.exportName}
        onExport={rest.onExport}
      />
    </div>
  );
}
