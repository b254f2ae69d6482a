import { useApi } from '../../api/hooks.js';
import { ErrorNote, Loading, Section } from '../../app/ui.js';
import { displayToken, Heatmap, positionLabel } from '../../charts/index.js';

const pct = (p: number) => `${(p * 100).toFixed(1)}%`;

/**
 * The logit lens: after every layer, the residual stream read through the final
 * norm and the unembedding. The heatmap's colour is the top token's probability;
 * the hover names it and the runners-up. The table reads the last position, where
 * the next token is predicted.
 */
export function LogitLensPanel({ model, prompt }: { model: string; prompt: string }) {
  const r = useApi('playground.logitLens', { model, prompt, topK: 5 });
  const d = r.data;
  const tokens = d?.tokens.map((t) => t.text) ?? [];
  const values = d?.layers.map((l) => l.positions.map((p) => p[0]?.prob ?? NaN)) ?? [];
  const last = tokens.length - 1;
  return (
    <Section title="Logit lens">
      {r.error && <ErrorNote error={r.error} />}
      {r.loading && !d && <Loading label="Reading every layer" />}
      {d && (
        <div className="playground-row">
          <div className="grow">
            <Heatmap
              title="Logit lens: top-token probability"
              subtitle="x: position, y: layer (after the block); hover for the top tokens"
              orientation="position"
              tokens={tokens}
              values={values}
              scale={{ kind: 'sequential', label: 'top-token probability', min: 0, max: 1 }}
              cellName={(l, t) => `after layer ${l} at ${positionLabel(tokens[t], t)}`}
              meaning={(_, l, t) => d.layers[l].positions[t].map((x) => `${JSON.stringify(x.token)} ${pct(x.prob)}`).join(', ')}
              formatValue={pct}
              exportName="logit-lens"
            />
          </div>
          <table className="table lens-table" aria-label="Logit lens at the last position">
            <caption className="note">Top tokens at the last position, {positionLabel(tokens[last], last)}</caption>
            <thead>
              <tr>
                <th scope="col">Layer</th>
                <th scope="col">Top tokens</th>
              </tr>
            </thead>
            <tbody>
              {d.layers.map((l) => (
                <tr key={l.layer}>
                  <th scope="row" className="num">
                    {l.layer}
                  </th>
                  <td className="mono">
                    {l.positions[last].slice(0, 3).map((x, i) => (
                      <span key={i} className="lens-token" title={`logit ${x.logit.toFixed(3)}`}>
                        {displayToken(x.token)} <span className="note">{pct(x.prob)}</span>
                      </span>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}
