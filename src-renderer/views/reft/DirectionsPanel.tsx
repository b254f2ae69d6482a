import { useId, useState } from 'react';
import type { ApiResponse, RunSummary } from '../../../src-main/api/contract.js';
import { useApi } from '../../api/hooks.js';
import { ErrorNote, Loading, Section } from '../../app/ui.js';
import { displayToken, Heatmap } from '../../charts/index.js';
import { cosineMatrix, shortLabel } from './directions-math.js';

type Directions = ApiResponse<'directions.get'>['directions'];

function TokenList({ items }: { items?: { token: string; score: number }[] }) {
  if (!items) return <span className="note">not readable through the unembedding</span>;
  return (
    <span className="token-list">
      {items.map((t, i) => (
        <span key={i} className="token-chip" title={`score ${t.score.toFixed(4)}`}>
          {displayToken(t.token)}
        </span>
      ))}
    </span>
  );
}

/** The learned directions: the tokens each promotes and suppresses, and their cosine similarities (within the run or against another run). */
export function DirectionsPanel({ runId, directions, otherRuns }: { runId: string; directions: Directions; otherRuns: RunSummary[] }) {
  const id = useId();
  const [other, setOther] = useState('');
  const otherDirs = useApi('directions.get', other ? { runId: other, topK: 0 } : null);
  const rows = directions;
  const cols = other ? otherDirs.data?.directions : directions;
  const values = cols ? cosineMatrix(rows.map((d) => d.vector), cols.map((d) => d.vector)) : undefined;
  const otherName = otherRuns.find((r) => r.id === other)?.name;
  return (
    <>
      <Section title="Learned directions">
        <table className="table directions-table" aria-label="Learned directions">
          <thead>
            <tr>
              <th scope="col">Direction</th>
              <th scope="col">Promotes</th>
              <th scope="col">Suppresses</th>
            </tr>
          </thead>
          <tbody>
            {directions.map((d) => (
              <tr key={d.label}>
                <th scope="row" className="mono" title={d.label}>
                  {shortLabel(d)}
                </th>
                <td>
                  <TokenList items={d.top} />
                </td>
                <td>
                  <TokenList items={d.bottom} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section
        title="Cosine similarity"
        actions={
          <span className="inline-fields">
            <label htmlFor={`${id}-other`}>Columns</label>
            <select id={`${id}-other`} value={other} onChange={(e) => setOther(e.target.value)}>
              <option value="">this run's directions</option>
              {otherRuns
                .filter((r) => r.id !== runId)
                .map((r) => (
                  <option key={r.id} value={r.id}>
                    {r.name}
                  </option>
                ))}
            </select>
          </span>
        }
      >
        {otherDirs.error && <ErrorNote error={otherDirs.error} />}
        {other && otherDirs.loading && <Loading label="Reading the other run's directions" />}
        {values && cols && (
          <Heatmap
            title="Cosine similarity between directions"
            subtitle={other ? `rows: this run, columns: ${otherName ?? other}` : 'rows and columns: this run'}
            values={values}
            orientation="matrix"
            rowLabels={rows.map(shortLabel)}
            colLabels={cols.map(shortLabel)}
            xTitle={other ? 'other run' : 'direction'}
            yTitle="direction"
            scale={{ kind: 'diverging', positive: 'point the same way', negative: 'point opposite ways', maxAbs: 1, label: 'cosine similarity' }}
            cellName={(r, c) => `${rows[r].label} · ${cols[c].label}`}
            formatValue={(v) => v.toFixed(3)}
            cellHeight={Math.max(14, Math.min(36, Math.floor(360 / rows.length)))}
            exportName={`reft-cosine-${runId}`}
          />
        )}
      </Section>
    </>
  );
}
