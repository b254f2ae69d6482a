/** The job form: model, task, K and the settings of both steps; optionally ITI on the same task. */
import { useState } from 'react';
import type { ApiResponse } from '../../../src-main/api/contract.js';
import { api, ApiCallError } from '../../api/client.js';
import { useApi, type ApiState } from '../../api/hooks.js';
import { ErrorNote, Loading } from '../../app/ui.js';
import { Field, FieldGrid, ModelField, NumberField, num } from './fields.js';
import { buildTask } from './task-input.js';

export interface StartedJobs {
  lofit: { jobId: string; runId: string };
  iti?: { jobId: string; runId: string };
}

type TaskList = ApiResponse<'tasks.list'>['tasks'];

const FIELDS = ['model', 'task', 'k', 'l1', 'lrSelect', 'lrTune', 'epochs', 'seed'];

/** `tasks` is the view's own tasks.list call, so the list is read once. */
export function RunForm({ onStarted, busy, tasks }: { onStarted: (jobs: StartedJobs) => void; busy: boolean; tasks: ApiState<ApiResponse<'tasks.list'>> }) {
  const models = useApi('models.list', {});
  const [model, setModel] = useState('demo-gpt2');
  const [task, setTask] = useState('ioi');
  const [limit, setLimit] = useState('64');
  const [k, setK] = useState('4');
  const [l1, setL1] = useState('0.001');
  const [lrSelect, setLrSelect] = useState('0.01');
  const [lrTune, setLrTune] = useState('0.1');
  const [epochs, setEpochs] = useState('2');
  const [loss, setLoss] = useState<'ce' | 'dpo'>('ce');
  const [seed, setSeed] = useState('42');
  const [withIti, setWithIti] = useState(true);
  const [starting, setStarting] = useState(false);
  const [error, setError] = useState<ApiCallError | Error>();

  if (models.error) return <ErrorNote error={models.error} title="Models" />;
  if (tasks.error) return <ErrorNote error={tasks.error} title="Tasks" />;
  if (!models.data || !tasks.data) return <Loading label="Reading models and tasks" />;
  const taskList: TaskList = tasks.data.tasks;
  const mc = taskList.find((t) => t.name === task)?.kind === 'multiple-choice';
  const fieldError = (f: string) => (error instanceof ApiCallError && error.field && (error.field === f || error.field.endsWith(`.${f}`)) ? error.message : undefined);

  const start = async () => {
    setStarting(true);
    setError(undefined);
    try {
      const jobTask = await buildTask(task, num(limit), mc);
      const config = {
        ...(num(k) !== undefined && { k: num(k)! }),
        ...(num(l1) !== undefined && { l1: num(l1)! }),
        ...(num(lrSelect) !== undefined && { lrSelect: num(lrSelect)! }),
        ...(num(lrTune) !== undefined && { lrTune: num(lrTune)! }),
        ...(num(epochs) !== undefined && { epochs: num(epochs)! }),
        ...(num(seed) !== undefined && { seed: num(seed)! }),
        loss,
      };
      const lofit = await api().call('jobs.start', { kind: 'lofit', model, task: jobTask, config, name: `LoFIT ${task} on ${model}` });
      let iti: StartedJobs['iti'];
      if (withIti) iti = await api().call('jobs.start', { kind: 'iti', model, task: jobTask, config: { ...(num(k) !== undefined && { k: num(k)! }), ...(num(seed) !== undefined && { seed: num(seed)! }) }, name: `ITI ${task} on ${model}` });
      onStarted({ lofit, ...(iti && { iti }) });
    } catch (e) {
      setError(e as Error);
    } finally {
      setStarting(false);
    }
  };

  return (
    <form
      aria-label="LoFIT settings"
      onSubmit={(e) => {
        e.preventDefault();
        void start();
      }}
    >
      <FieldGrid>
        <ModelField models={models.data.models} value={model} onChange={setModel} ariaLabel="Model" error={fieldError('model')} />
        <Field label="Task" error={fieldError('task')}>
          <select value={task} onChange={(e) => setTask(e.target.value)} aria-label="Task">
            {taskList.map((t) => (
              <option key={t.name} value={t.name}>
                {t.name} ({t.sizes.train} train)
              </option>
            ))}
          </select>
        </Field>
        <NumberField label="Examples per split" hint="Use only the first N examples of train, dev and test (empty: all)" min={1} max={500} value={limit} placeholder="all" onChange={setLimit} aria-label="Examples per split" />
        <NumberField label="K (heads)" error={fieldError('k')} hint="How many heads step 1 keeps" min={1} value={k} onChange={setK} aria-label="K" />
        <NumberField label="L1 λ (step 1)" error={fieldError('l1')} step="any" min={0} value={l1} onChange={setL1} aria-label="L1" />
        <NumberField label="LR step 1" error={fieldError('lrSelect')} step="any" min={0} value={lrSelect} onChange={setLrSelect} aria-label="LR step 1" />
        <NumberField label="LR step 2" error={fieldError('lrTune')} step="any" min={0} value={lrTune} onChange={setLrTune} aria-label="LR step 2" />
        <NumberField label="Epochs" error={fieldError('epochs')} min={1} value={epochs} onChange={setEpochs} aria-label="Epochs" />
        <Field label="Loss">
          <select value={loss} onChange={(e) => setLoss(e.target.value as 'ce' | 'dpo')} aria-label="Loss">
            <option value="ce">cross-entropy</option>
            <option value="dpo">DPO (preference)</option>
          </select>
        </Field>
        <NumberField label="Seed" error={fieldError('seed')} min={0} value={seed} onChange={setSeed} aria-label="Seed" />
      </FieldGrid>
      <div style={{ display: 'flex', gap: 12, alignItems: 'center', marginTop: 10 }}>
        <button type="submit" className="primary" disabled={starting || busy}>
          {starting ? 'Starting…' : 'Run LoFIT'}
        </button>
        <label style={{ display: 'flex', gap: 4, alignItems: 'center' }}>
          <input type="checkbox" checked={withIti} onChange={(e) => setWithIti(e.target.checked)} /> also train ITI probes (for comparison)
        </label>
        {busy && <span className="note">a LoFIT job of this view is running</span>}
      </div>
      {error && !FIELDS.some((f) => fieldError(f)) && <ErrorNote error={error} title="Could not start" />}
    </form>
  );
}
