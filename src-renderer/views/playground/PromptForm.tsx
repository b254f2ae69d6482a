import { useId, useState } from 'react';
import type { ModelSummary } from '../../../src-main/api/contract.js';
import { ModelSelect } from '../../app/ModelSelect.js';

export interface PromptInput {
  /** The model's folder (a reference the API resolves). */
  model: string;
  prompt: string;
}

/** Model and prompt; the panels below run only when the form is submitted, not on every keystroke. */
export function PromptForm({ models, onSubmit }: { models: ModelSummary[]; onSubmit: (input: PromptInput) => void }) {
  const [model, setModel] = useState(models[0]?.folder ?? '');
  const [prompt, setPrompt] = useState('The capital of France is');
  const id = useId();
  if (models.length === 0) return <p className="note">No model can be read. Open one in the Models view.</p>;
  return (
    <form
      className="prompt-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (prompt.trim()) onSubmit({ model, prompt });
      }}
    >
      <ModelSelect id={`${id}-model`} models={models} value={model} onChange={setModel} />
      <label htmlFor={`${id}-prompt`}>Prompt</label>
      <textarea
        id={`${id}-prompt`}
        value={prompt}
        rows={2}
        spellCheck={false}
        onChange={(e) => setPrompt(e.target.value)}
        onKeyDown={(e) => {
          // Enter runs; Shift+Enter adds a line.
          if (e.key === 'Enter' && !e.shiftKey) {
            e.preventDefault();
            if (prompt.trim()) onSubmit({ model, prompt });
          }
        }}
      />
      <button type="submit" className="primary" disabled={!prompt.trim() || !model}>
        Run
      </button>
    </form>
  );
}
