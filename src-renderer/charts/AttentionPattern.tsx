import { useCallback, useMemo, type ReactNode } from 'react';
import type { ExportFile } from './export.js';
import { Heatmap } from './Heatmap.js';
import { headLabel, positionLabels } from './labels.js';
import type { SequentialScale } from './scales.js';
import type { ChartTheme } from './theme.js';
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

const SCALE: SequentialScale = { kind: 'sequential', label: 'attention weight', min: 0, max: 1 };
const CAUSAL_MEANING = 'masked: a token cannot attend to later tokens';

function causalMask(query: number, key: number): boolean {
  return key > query;
}

/** One head's attention pattern: y = query (attending from), x = key (attended to). */
export function AttentionPattern({ pattern, tokens, layer, head, causal = true, ...rest }: AttentionPatternProps) {
  const labels = useMemo(() => positionLabels(tokens), [tokens]);
  const cellName = useCallback((q: number, k: number) => `${labels[q]} → ${labels[k]}`, [labels]);
  const meaning = useCallback(
    (w: number, q: number, k: number) => `${labels[q]} puts ${(w * 100).toFixed(1)}% of its attention on ${labels[k]}`,
    [labels],
  );
  const who = layer !== undefined && head !== undefined ? ` ${headLabel(layer, head)}` : '';
  return (
    <Heatmap
      values={pattern}
      scale={SCALE}
      title={rest.title ?? `Attention pattern${who}`}
      subtitle={rest.subtitle}
      orientation="matrix"
      rowLabels={labels}
      colLabels={labels}
      yTitle="Query (attending from)"
      xTitle="Key (attended to)"
      cellName={cellName}
      meaning={meaning}
      masked={causal ? causalMask : undefined}
      maskedMeaning={CAUSAL_MEANING}
      locked={rest.locked}
      onCellClick={rest.onCellClick}
      minCellWidth={labels.length <= 64 ? 14 : 2}
      theme={rest.theme}
      exportName={rest.exportName}
      onExport={rest.onExport}
    />
  );
}
