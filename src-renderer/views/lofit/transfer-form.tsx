/**
 * The transfer job's form: a model, the tasks to cross (those that suit the model; the others are
 * shown disabled with the reason), K, epochs, examples per split and the seed.
 */
import { useEffect, useState } from 'react';
import { ApiCallError } from '../../api/client.js';
import { useAction, useApi } from '../../api/hooks.js';
import { ErrorNote, Loading } from '../../app/ui.js';
import { FieldGrid, ModelField, NumberField, num } from './fields.js';
import { transferUnits } from './transfer-data.js';

const FIELDS = ['model', 'tasks', 'k', 'epochs', 'limit', 'seed'];

export function TransferForm({ onStarted }: { onStarted: (runId: string) => void }) {
  const models = useApi('models.list', {});
  const [model, setModel] = useState('demo-gpt2');
  const options = useApi('transfer.options', { model });
  const [picked, setPicked] = useState<string[]>([]);
  const [k, setK] = useState('4');
  const [epochs, setEpochs] = useState('2');
  const [limit, setLimit] = useState('32');
  const [seed, setSeed] = useState('42');
  const start = useAction('transfer.start');

  // A new model keeps the chosen tasks that suit it; with none left, the first two that do.
  const suitable = (options.data?.tasks ?? []).filter((t) => t.suitable).map((t) => t.name);
  const suitableKey = suitable.join(',');
  useEffect(() => {
    if (!options.data) return;
    setPicked((p) => {
      const kept = p.filter((t) => suitable.includes(t));
      return kept.length > 0 ? kept : suitable.slice(0, 2);
    });
  }, [suitableKey]);

  if (models.error) return <ErrorNote error={models.error} title="Models" />;
  if (!models.data) return <Loading label="Reading models" />;

  const error = start.error;
  const fieldError = (f: string) => (error instanceof ApiCallError && error.field && (error.field === f || error.field.startsWith(`${f}.`)) ? error.message : undefined);
  const totalHeads = options.data ? options.data.layers * options.data.heads : undefined;
  const maxTasks = options.data?.maxTasks ?? 8;
  const toggle = (t: string) => setPicked((p) => (p.includes(t) ? p.filter((x) => x !== t) : [...p, t]));
  const tooFew = picked.length < 2;

  const submit = async () => {
    const r = await start.run({
      model,
      tasks: picked,
      ...(num(k) !== undefined && { k: num(k)! }),
      ...(num(epochs) !== undefined && { epochs: num(epochs)! }),
      ...(num(limit) !== undefined && { limit: num(limit)! }),
      ...(num(seed) !== undefined && { seed: num(seed)! }),
    });
    if (r) onStarted(r.runId);
  };

  return (
    <form
      aria-label="Transfer settings"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <fieldset style={{ border: 'none', padding: 0, margin: '0 0 8px' }} aria-describedby="transfer-tasks-help">
        <legend style={{ fontSize: 13, padding: 0, marginBottom: 4 }}>Tasks (rows and columns of the matrix)</legend>
        {options.error && <ErrorNote error={options.error} title="Tasks for this model" />}
        {!options.data && !options.error && <Loading label="Reading the tasks that suit this model" />}
        <div style={{ display: 'flex', flexWrap: 'wrap', gap: '4px 8px' }}>
          {options.data?.tasks.map((t) => {
            const on = picked.includes(t.name);
            return (
              <label
                key={t.name}
                title={t.suitable ? `${t.title} · ${t.sizes.train} train, ${t.sizes.test} test${t.kind === 'multiple-choice' ? ' · scored by MC1' : ''}` : t.why}
                style={{
                  display: 'inline-flex',
                  gap: 4,
                  alignItems: 'center',
                  padding: '2px 8px',
                  border: `1px solid ${on ? 'var(--accent)' : 'var(--border)'}`,
                  borderRadius: 12,
                  fontSize: 13,
                  opacity: t.suitable ? 1 : 0.55,
                  background: on ? 'var(--surface-2)' : 'transparent',
                }}
              >
                <input type="checkbox" checked={on} disabled={!t.suitable || (!on && picked.length >= maxTasks)} onChange={() => toggle(t.name)} aria-label={`Task ${t.name}`} />
                {t.name}
                {t.kind === 'multiple-choice' && <span className="note" style={{ margin: 0, fontSize: 11 }}>MC</span>}
              </label>
            );
          })}
        </div>
        <p id="transfer-tasks-help" className="note" style={{ fontSize: 12 }}>
          {picked.length} chosen (2 to {maxTasks}): step 1 on each, then {picked.length * picked.length} step-2 runs — {transferUnits(picked.length)} job steps in all.
        </p>
        {fieldError('tasks') && <span className="field-error">{fieldError('tasks')}</span>}
      </fieldset>
      <FieldGrid>
        <ModelField models={models.data.models} value={model} onChange={setModel} ariaLabel="Transfer model" error={fieldError('model')} />
        <NumberField label={totalHeads ? `K (of ${totalHeads} heads)` : 'K (heads)'} error={fieldError('k')} hint="How many heads step 1 keeps on each task" min={1} max={totalHeads} value={k} onChange={setK} aria-label="Transfer K" />
        <NumberField label="Epochs (both steps)" error={fieldError('epochs')} min={1} value={epochs} onChange={setEpochs} aria-label="Transfer epochs" />
        <NumberField label="Examples per split" error={fieldError('limit')} hint="Use only the first N examples of train, dev and test of each task (empty: all)" min={1} value={limit} placeholder="all" onChange={setLimit} aria-label="Transfer examples per split" />
        <NumberField label="Seed" error={fieldError('seed')} min={0} value={seed} onChange={setSeed} aria-label="Transfer seed" />
      </FieldGrid>
      <div style={{ display: 'flex', gap: 12, alignItems: 'center', marginTop: 10 }}>
        <button type="submit" className="primary" disabled={start.loading || tooFew || !options.data}>
          {start.loading ? 'Starting…' : 'Run transfer'}
        </button>
        {tooFew && <span className="note">choose at least two tasks</span>}
      </div>
      {error && !FIELDS.some((f) => fieldError(f)) && <ErrorNote error={error} title="Could not start" />}
    </form>
  );
}
