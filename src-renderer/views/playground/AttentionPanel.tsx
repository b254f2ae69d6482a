import { useId, useState } from 'react';
import { useApi } from '../../api/hooks.js';
import { ErrorNote, Loading, Section } from '../../app/ui.js';
import { AttentionPattern, type CellRef } from '../../charts/index.js';

/** One head's attention pattern; the layer's patterns load together, so switching heads is instant. */
export function AttentionPanel({ model, prompt, layers, heads }: { model: string; prompt: string; layers: number; heads: number }) {
  const [layer, setLayer] = useState(0);
  const [head, setHead] = useState(0);
  const [locked, setLocked] = useState<CellRef | null>(null);
  const id = useId();
  const r = useApi('playground.attention', { model, prompt, layer: Math.min(layer, layers - 1) });
  const h = Math.min(head, heads - 1);
  const pattern = r.data?.patterns[h];
  return (
    <Section
      title="Attention"
      actions={
        <div className="inline-fields">
          <label htmlFor={`${id}-layer`}>Layer</label>
          <select id={`${id}-layer`} value={layer} onChange={(e) => setLayer(Number(e.target.value))}>
            {Array.from({ length: layers }, (_, l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
          <label htmlFor={`${id}-head`}>Head</label>
          <select id={`${id}-head`} value={h} onChange={(e) => setHead(Number(e.target.value))}>
            {Array.from({ length: heads }, (_, i) => (
              <option key={i} value={i}>
                {i}
              </option>
            ))}
          </select>
        </div>
      }
    >
      {r.error && <ErrorNote error={r.error} />}
      {r.loading && !r.data && <Loading label={`Reading layer ${layer}`} />}
      {r.data && pattern && (
        <AttentionPattern
          pattern={pattern}
          tokens={r.data.tokens.map((t) => t.text)}
          layer={r.data.layer}
          head={h}
          subtitle="rows: query token, columns: key token; greyed keys come after the query"
          locked={locked}
          onCellClick={(q, k) => setLocked((c) => (c && c[0] === q && c[1] === k ? null : [q, k]))}
          exportName={`attention-L${r.data.layer}H${h}`}
        />
      )}
    </Section>
  );
}
