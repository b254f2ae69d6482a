import { useId, useState } from 'react';
import { useAction, useApi } from '../../api/hooks.js';
import { ErrorNote, Loading, Section } from '../../app/ui.js';

const FOLDER = '__folder__';

/** Greedy continuation of the prompt, without and with a chosen intervention (a finished run or an export folder). */
export function GeneratePanel({ model, prompt }: { model: string; prompt: string }) {
  const runs = useApi('runs.list', { filters: { kind: ['reft', 'lofit', 'iti'], status: ['succeeded'] }, sort: { by: 'createdAt', direction: 'desc' }, limit: 100 });
  const gen = useAction('playground.generate');
  const [choice, setChoice] = useState('');
  const [folder, setFolder] = useState('');
  const [maxTokens, setMaxTokens] = useState(16);
  const id = useId();
  const intervention = choice === FOLDER ? folder.trim() : choice;
  const result = gen.data;
  return (
    <Section title="Generation">
      <form
        className="inline-fields"
        onSubmit={(e) => {
          e.preventDefault();
          void gen.run({ model, prompt, maxTokens, ...(intervention && { intervention }) });
        }}
      >
        <label htmlFor={`${id}-iv`}>Intervention</label>
        <select id={`${id}-iv`} value={choice} onChange={(e) => setChoice(e.target.value)}>
          <option value="">none (base model only)</option>
          {(runs.data?.runs ?? []).map((r) => (
            <option key={r.id} value={r.id}>
              {r.kind}: {r.name}
            </option>
          ))}
          <option value={FOLDER}>an export folder…</option>
        </select>
        {choice === FOLDER && <input aria-label="Export folder" type="text" placeholder="/path/to/export" value={folder} onChange={(e) => setFolder(e.target.value)} spellCheck={false} />}
        <label htmlFor={`${id}-max`}>Tokens</label>
        <input id={`${id}-max`} type="number" min={1} max={128} value={maxTokens} onChange={(e) => setMaxTokens(Math.max(1, Math.min(128, Number(e.target.value) || 1)))} className="narrow" />
        <button type="submit" className="primary" disabled={gen.loading || (choice === FOLDER && !folder.trim())}>
          Generate
        </button>
      </form>
      {runs.error && <ErrorNote error={runs.error} title="Runs" />}
      {gen.error && <ErrorNote error={gen.error} />}
      {gen.loading && <Loading label="Generating" />}
      {result && !gen.loading && (
        <div className="side-by-side" aria-label="Generations">
          <figure className="generation">
            <figcaption>Without intervention</figcaption>
            <p className="generation-text">
              <span className="prompt-echo">{prompt}</span>
              <strong>{result.without.text}</strong>
            </p>
          </figure>
          <figure className="generation">
            <figcaption>{result.with ? `With ${result.with.method} (${result.with.source})` : 'With intervention'}</figcaption>
            {result.with ? (
              <p className="generation-text">
                <span className="prompt-echo">{prompt}</span>
                <strong>{result.with.text}</strong>
              </p>
            ) : (
              <p className="note">Choose an intervention to compare.</p>
            )}
          </figure>
        </div>
      )}
    </Section>
  );
}
