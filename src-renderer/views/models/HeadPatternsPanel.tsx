import { useId, useState } from 'react';
import { useApi } from '../../api/hooks.js';
import { ErrorNote, Loading, Section } from '../../app/ui.js';
import { Heatmap, topKCells } from '../../charts/index.js';

const CHARTS = [
  { key: 'previousToken', title: 'Previous token', meaning: 'attention to the position before' },
  { key: 'duplicateToken', title: 'Duplicate token', meaning: "attention to the same token's first occurrence" },
  { key: 'induction', title: 'Induction', meaning: 'attention to the token that followed it there' },
] as const;

/**
 * Each head's copying signature on random token sequences repeated twice. Built-in models are
 * measured at once, on the induction task's tokens (the only tokens they were taught to copy);
 * others load only when asked, since a large model takes a while to read.
 */
export function HeadPatternsPanel({ model, builtIn }: { model: string; builtIn: boolean }) {
  const [asked, setAsked] = useState(builtIn);
  const [from, setFrom] = useState(builtIn ? 'induction' : '');
  const id = useId();
  const tasks = useApi('tasks.list', {});
  const r = useApi('models.headPatterns', asked ? { model, ...(from && { task: from }) } : null);
  return (
    <Section
      title="Head patterns"
      actions={
        <div className="inline-fields">
          <label htmlFor={`${id}-from`}>Tokens from</label>
          <select id={`${id}-from`} value={from} onChange={(e) => setFrom(e.target.value)}>
            <option value="">whole vocabulary</option>
            {(tasks.data?.tasks ?? []).map((t) => (
              <option key={t.name} value={t.name}>
                task {t.name}
              </option>
            ))}
          </select>
          {!asked && (
            <button type="button" onClick={() => setAsked(true)}>
              Measure head patterns
            </button>
          )}
        </div>
      }
    >
      <p className="note">
        Mean attention weight of every head on random token sequences repeated twice. An induction head in one layer fed by a previous-token head in an
        earlier one is the classic copying circuit; <code>subspace head-patterns</code> prints the same figures.
      </p>
      {r.error && <ErrorNote error={r.error} />}
      {r.loading && !r.data && <Loading label="Measuring head patterns" />}
      {r.data && (
        <div className="head-patterns">
          {CHARTS.map((c) => (
            <Heatmap
              key={c.key}
              title={c.title}
              subtitle={`${r.data!.sequences} sequences of ${r.data!.length} tokens from ${r.data!.tokensFrom === 'vocabulary' ? 'the vocabulary' : `task ${r.data!.tokensFrom}`}, repeated`}
              values={r.data![c.key]}
              orientation="head"
              scale={{ kind: 'sequential', label: c.meaning, min: 0, max: 1 }}
              outlined={topKCells(r.data![c.key], 1)}
              formatValue={(v) => v.toFixed(2)}
              exportName={`head-patterns-${c.key}`}
            />
          ))}
        </div>
      )}
    </Section>
  );
}
