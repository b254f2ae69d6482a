/** A DAS run: the IIA heatmap of a search (layer × position), or one trained site's IIA. */
import { Heatmap } from '../../charts/index.js';

const pct = (x: unknown) => (typeof x === 'number' ? `${(100 * x).toFixed(1)}%` : '—');

export function DasResult({ doc, artifact, runId }: { doc: Record<string, unknown>; artifact: 'das-search' | 'das'; runId: string }) {
  if (artifact === 'das') {
    const test = doc.test as { iia?: number; baseline?: number; n?: number; changed?: { iia: number; n: number } } | undefined;
    const site = doc.site as { layer?: number; component?: string; position?: string } | undefined;
    return (
      <p role="status">
        IIA of {String(doc.variable)} at layer {site?.layer} {site?.component}, position {site?.position}: <strong>{pct(test?.iia)}</strong> on {test?.n} test pairs (no intervention: {pct(test?.baseline)}; {pct(test?.changed?.iia)} of the {test?.changed?.n} pairs whose label changes).
      </p>
    );
  }
  const layers = (doc.layers as number[]) ?? [];
  const positions = (doc.positions as string[]) ?? [];
  const iia = ((doc.iia as (number | null)[][]) ?? []).map((r) => r.map((v) => (v === null ? NaN : v)));
  const best = doc.best as { layer: number; position: string; iia: number } | undefined;
  const bestCell: [number, number] | null = best ? [layers.indexOf(best.layer), positions.indexOf(best.position)] : null;
  return (
    <Heatmap
      title={`DAS IIA for ${String(doc.variable)} (${String(doc.variant)}, dim ${String(doc.dim)}, ${String(doc.component)})`}
      subtitle={`${String(doc.task)}: ${String(doc.testPairs)} test pairs; no intervention ${pct(doc.baseline)}; best L${best?.layer} ${best?.position} ${pct(best?.iia)} (ringed)`}
      values={iia}
      orientation="matrix"
      rowLabels={layers.map((l) => `L${l}`)}
      colLabels={positions}
      xTitle="position (role)"
      yTitle="layer"
      scale={{ kind: 'sequential', label: 'interchange intervention accuracy', min: 0, max: 1 }}
      formatValue={(v) => pct(v)}
      locked={bestCell && bestCell[0] >= 0 && bestCell[1] >= 0 ? bestCell : null}
      exportName={`das-iia-${runId.slice(0, 8)}`}
    />
  );
}
