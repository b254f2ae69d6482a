import { useEffect, useId, useState } from 'react';
import { useAction, useApi } from '../../api/hooks.js';
import { ErrorNote, Loading, Section } from '../../app/ui.js';

/** Greedy continuations before and after the run's intervention, on a prompt from its task or one typed in. */
export function GenerationsPanel({ runId, model, task }: { runId: string; model: string; task?: string }) {
  const id = useId();
  const examples = useApi('tasks.examples', task ? { task, split: 'test', limit: 5 } : null);
  const [prompt, setPrompt] = useState('');
  const gen = useAction('playground.generate');
  const first = examples.data?.examples[0];
  useEffect(() => {
    if (first && !prompt) setPrompt(first.prompt);
  }, [first]);
  const expected = examples.data?.examples.find((e) => e.prompt === prompt)?.completion;
  return (
    <Section title="Generations before and after">
      <form
        className="inline-fields generate-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (prompt.trim()) void gen.run({ model, prompt, maxTokens: 12, intervention: runId });
        }}
      >
        <label htmlFor={`${id}-prompt`}>Prompt</label>
        <input id={`${id}-prompt`} type="text" value={prompt} onChange={(e) => setPrompt(e.target.value)} spellCheck={false} className="wide" list={`${id}-examples`} />
        <datalist id={`${id}-examples`}>
          {examples.data?.examples.map((e) => (
            <option key={e.id} value={e.prompt} />
          ))}
        </datalist>
        <button type="submit" className="primary" disabled={!prompt.trim() || gen.loading}>
          Generate
        </button>
      </form>
      {expected !== undefined && <p className="note">Expected answer: <span className="mono">{JSON.stringify(expected)}</span></p>}
      {gen.error && <ErrorNote error={gen.error} />}
      {gen.loading && <Loading label="Generating" />}
      {gen.data && !gen.loading && (
        <div className="side-by-side" aria-label="Generations">
          <figure className="generation">
            <figcaption>Before (base model)</figcaption>
            <p className="generation-text">{gen.data.without.text}</p>
          </figure>
          <figure className="generation">
            <figcaption>After (with the intervention)</figcaption>
            <p className="generation-text">{gen.data.with?.text ?? '–'}</p>
          </figure>
        </div>
      )}
    </Section>
  );
}
