/**
 * The two per-head heatmaps side by side (x = head, y = layer): LoFIT's step-1 scores ‖A‖ with the
 * selection outlined, a K slider (the top K) and click-to-toggle; ITI's probe accuracy on 0..1 with
 * its top K (same K) outlined.
 */
import type { CellRef } from '../../charts/index.js';
import { Heatmap } from '../../charts/index.js';
import { headName } from './data.js';

export function LofitScoresMap({ scores, selection, onToggle, edited }: { scores: number[][]; selection: CellRef[]; onToggle: (cell: CellRef) => void; edited: boolean }) {
  // ‖A‖ is unsigned but not in 0..1, and step 1's scores sit close together: the scale spans their range.
  const finite = scores.flat().filter(Number.isFinite);
  const lo = finite.length ? Math.min(...finite) : 0;
  const hi = finite.length ? Math.max(...finite) : 1;
  const max = hi > lo ? hi : lo + 1;
  return (
    <Heatmap
      title="LoFIT head scores ‖A‖"
      subtitle={`${edited ? `${selection.length} heads chosen by hand` : `top ${selection.length}`} outlined · colours span ${lo.toPrecision(3)} … ${hi.toPrecision(3)}`}
      values={scores}
      orientation="head"
      scale={{ kind: 'sequential', label: '‖A‖', min: lo, max }}
      meaning={(v, l, h) => `‖A‖ = ${v.toPrecision(4)}${selection.some(([r, c]) => r === l && c === h) ? ' · selected' : ''}`}
      outlined={selection}
      onCellClick={(l, h) => onToggle([l, h])}
      exportName="lofit-head-scores"
    />
  );
}

export function ItiAccuracyMap({ accuracy, top }: { accuracy: number[][]; top: CellRef[] }) {
  return (
    <Heatmap
      title="ITI probe accuracy"
      subtitle={`held-out accuracy of a linear probe per head (0 … 1) · top ${top.length} outlined`}
      values={accuracy}
      orientation="head"
      scale={{ kind: 'sequential', label: 'probe accuracy', min: 0, max: 1 }}
      meaning={(v) => `probe accuracy ${(v * 100).toFixed(1)}%`}
      outlined={top}
      exportName="iti-probe-accuracy"
    />
  );
}

export function HeadList({ heads }: { heads: CellRef[] }) {
  return <span className="mono">{heads.length ? heads.map(headName).join(' ') : '—'}</span>;
}
