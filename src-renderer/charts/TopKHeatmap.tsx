import { useEffect, useMemo, useState } from 'react';
import { Heatmap, type HeatmapProps } from './Heatmap.js';
import { KSlider } from './KSlider.js';
import { topKCells, type CellRef } from './topk.js';

export interface TopKHeatmapProps extends Omit<HeatmapProps, 'outlined' | 'controls'> {
  /** Controlled K; leave out and use defaultK for a slider the chart keeps itself. */
  k?: number;
  defaultK?: number;
  onKChange?: (k: number) => void;
  /** Largest K on the slider; default: the number of cells. */
  maxK?: number;
  /** Rank by value (default) or by |value|. */
  rankBy?: 'value' | 'abs';
  /** Called with the outlined cells (best first) whenever they change. */
  onSelectionChange?: (cells: CellRef[]) => void;
}

/** A score heatmap whose K best cells are outlined, with a K slider in the header. */
export function TopKHeatmap({ k, defaultK = 8, onKChange, maxK, rankBy = 'value', onSelectionChange, ...heatmap }: TopKHeatmapProps) {
  const cellCount = heatmap.values.reduce((n, row) => n + row.length, 0);
  const max = Math.max(1, maxK ?? cellCount);
  const [ownK, setOwnK] = useState(defaultK);
  const current = Math.max(0, Math.min(max, k ?? ownK));
  const selection = useMemo(() => topKCells(heatmap.values, current, rankBy), [heatmap.values, current, rankBy]);
  const selectionKey = selection.map(([r, c]) => `${r}:${c}`).join(',');
  // Keyed on the chosen cells, so a new callback identity on each parent render does not re-fire it.
  useEffect(() => {
    onSelectionChange?.(selection);
  }, [selectionKey]);
  const change = (next: number) => {
    if (k === undefined) setOwnK(next);
    onKChange?.(next);
  };
  return (
    <Heatmap
      {...heatmap}
      outlined={selection}
      controls={<KSlider value={current} max={max} min={Math.min(1, max)} onChange={change} />}
    />
  );
}
