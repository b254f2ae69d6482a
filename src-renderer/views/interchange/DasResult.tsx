/** A DAS run: the IIA heatmap of a search (layer × position), or one trained site's IIA and loss curve. */
import { useState } from 'react';
import { Heatmap, LineChart } from '../../charts/index.js';

const pct = (x: unknown) => (typeof x === 'number' ? `${(100 * x).toFixed(1)}%` : '—');
const nanFor = (m: unknown) => ((m as (number | null)[][] | undefined) ?? []).map((r) => r.map((v) => (v === null ? NaN : v)));

interface SiteDoc {
  variable?: string;
  variant?: string;
  dim?: number;
  task?: string;
  parameters?: number;
  site?: { layer?: number; component?: string; position?: string; width?: number };
  test?: { iia?: number; baseline?: number; n?: number; changed?: { iia: number; n: number; baseline?: number } };
  loss?: { step: number; value: number }[];
}

function DasSite({ doc, runId }: { doc: SiteDoc; runId: string }) {
  const { test, site } = doc;
  const loss = doc.loss ?? [];
  return (
    <div>
      <p role="status" className="ix-iia">
        IIA of <strong>{doc.variable}</strong> at layer {site?.layer} {site?.component}, position {site?.position}: <strong data-testid="das-iia">{pct(test?.iia)}</strong> on {test?.n} test pairs
      </p>
      <dl className="ix-figures">
        <dt>no intervention</dt>
        <dd>{pct(test?.baseline)}</dd>
        <dt>pairs whose label changes</dt>
        <dd>
          {pct(test?.changed?.iia)} of {test?.changed?.n} (no intervention {pct(test?.changed?.baseline)})
        </dd>
        <dt>subspace</dt>
        <dd>
          {doc.variant}, dim {doc.dim} of {site?.width}; {doc.parameters} trained parameters
        </dd>
      </dl>
      {loss.length > 0 && (
        <LineChart
          title="Training loss"
          subtitle={`cross-entropy of the counterfactual label, ${doc.task ?? ''}`}
          series={[{ name: 'loss', x: loss.map((p) => p.step + 1), y: loss.map((p) => p.value) }]}
          yTitle="loss"
          height={220}
          exportName={`das-loss-${runId.slice(0, 8)}`}
        />
      )}
    </div>
  );
}

function DasSearch({ doc, runId }: { doc: Record<string, unknown>; runId: string }) {
  const [changed, setChanged] = useState(false);
  const layers = (doc.layers as number[]) ?? [];
  const positions = (doc.positions as string[]) ?? [];
  const iia = nanFor(changed ? doc.changedIia : doc.iia);
  const best = doc.best as { layer: number; position: string; iia: number; changedIia: number } | undefined;
  const bestCell: [number, number] | null = best ? [layers.indexOf(best.layer), positions.indexOf(best.position)] : null;
  const pairs = changed ? `${String(doc.changedPairs)} test pairs whose label changes` : `${String(doc.testPairs)} test pairs`;
  const baseline = changed ? doc.changedBaseline : doc.baseline;
  return (
    <Heatmap
      title={`DAS IIA for ${String(doc.variable)} (${String(doc.variant)}, dim ${String(doc.dim)}, ${String(doc.component)})`}
      subtitle={`${String(doc.task)}, ${pairs}; no intervention ${pct(baseline)}. Best: L${best?.layer} ${best?.position}, ${pct(changed ? best?.changedIia : best?.iia)} (ringed).`}
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
      controls={
        <label className="ix-control">
          IIA over{' '}
          <select aria-label="IIA over" value={changed ? 'changed' : 'all'} onChange={(e) => setChanged(e.target.value === 'changed')}>
            <option value="all">all test pairs</option>
            <option value="changed">pairs whose label changes</option>
          </select>
        </label>
      }
    />
  );
}

export function DasResult({ doc, artifact, runId }: { doc: Record<string, unknown>; artifact: 'das-search' | 'das'; runId: string }) {
  return artifact === 'das' ? <DasSite doc={doc as SiteDoc} runId={runId} /> : <DasSearch doc={doc} runId={runId} />;
}
