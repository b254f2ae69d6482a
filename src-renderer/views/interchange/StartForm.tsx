/** Starts a patching sweep (job kind 'patch'), a DAS search or a DAS run at one site (kind 'das'). */
import { useState } from 'react';
import { useAction, useApi } from '../../api/hooks.js';
import { ErrorNote } from '../../app/ui.js';
import { DasFields, dasJobConfig, DAS_FORM_DEFAULTS, type DasForm } from './DasFields.js';

type What = 'heads' | 'resid' | 'attn' | 'mlp' | 'das-search' | 'das';

export function StartForm({ onStarted }: { onStarted: (jobId: string, label: string, das?: 'das' | 'das-search') => void }) {
  const models = useApi('models.list', {});
  const tasks = useApi('tasks.list', {});
  const start = useAction('jobs.start');
  const [model, setModel] = useState('demo-gpt2');
  const [task, setTask] = useState('ioi');
  const [what, setWhat] = useState<What>('heads');
  const [direction, setDirection] = useState<'denoise' | 'noise'>('denoise');
  const [metric, setMetric] = useState<'logit-diff' | 'normalised' | 'prob' | 'accuracy'>('logit-diff');
  const [n, setN] = useState(8);
  const [das, setDas] = useState<DasForm>(DAS_FORM_DEFAULTS);
  const taskInfo = tasks.data?.tasks.find((t) => t.name === task);
  const arch = models.data?.models.find((m) => m.name === model)?.architecture ?? null;
  const isDas = what === 'das' || what === 'das-search';
  const dasConfig = isDas ? dasJobConfig(das, taskInfo, arch, what === 'das-search') : undefined;
  const submit = async () => {
    if (dasConfig) {
      const { config, label } = dasConfig;
      if (!config) return;
      const r = await start.run({ kind: 'das', model, task, name: `${label} on ${task} (${model})`, config });
      if (r) onStarted(r.jobId, `${label} on ${task}`, what === 'das-search' ? 'das-search' : 'das');
      return;
    }
    const label = `patch ${what} ${task}`;
    const r = await start.run({ kind: 'patch', model, task, name: `${label} on ${model}`, config: { sweep: what as 'heads', direction, metric, n } });
    if (r) onStarted(r.jobId, label);
  };
  return (
    <form
      className="ix-form"
      aria-label="Start a sweep"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <label>
        Model
        <select value={model} onChange={(e) => setModel(e.target.value)}>
          {(models.data?.models ?? [{ name: model }]).map((m) => (
            <option key={m.name}>{m.name}</option>
          ))}
        </select>
      </label>
      <label>
        Task
        <select aria-label="Task" value={task} onChange={(e) => setTask(e.target.value)}>
          {(tasks.data?.tasks ?? [{ name: task }]).map((t) => (
            <option key={t.name}>{t.name}</option>
          ))}
        </select>
      </label>
      <label>
        Sweep
        <select aria-label="Sweep" value={what} onChange={(e) => setWhat(e.target.value as What)}>
          <option value="heads">heads (layer × head)</option>
          <option value="resid">residual stream (layer × position)</option>
          <option value="attn">attention output (layer × position)</option>
          <option value="mlp">MLP output (layer × position)</option>
          <option value="das-search">DAS search (layer × position IIA)</option>
          <option value="das">DAS at one site (IIA)</option>
        </select>
      </label>
      {isDas ? (
        <DasFields form={das} onChange={setDas} task={taskInfo} arch={arch} search={what === 'das-search'} />
      ) : (
        <>
          <label>
            Direction
            <select value={direction} onChange={(e) => setDirection(e.target.value as typeof direction)}>
              <option value="denoise">denoise (clean → corrupt)</option>
              <option value="noise">noise (corrupt → clean)</option>
            </select>
          </label>
          <label>
            Metric
            <select value={metric} onChange={(e) => setMetric(e.target.value as typeof metric)}>
              <option>logit-diff</option>
              <option>normalised</option>
              <option>prob</option>
              <option>accuracy</option>
            </select>
          </label>
          <label>
            Pairs
            <input type="number" aria-label="Pairs" min={1} max={512} value={n} onChange={(e) => setN(Math.max(1, Number(e.target.value) || 1))} />
          </label>
        </>
      )}
      <button type="submit" disabled={start.loading || (dasConfig !== undefined && !dasConfig.config)}>
        {what === 'das-search' ? 'Run DAS search' : what === 'das' ? 'Train DAS' : 'Run sweep'}
      </button>
      {dasConfig?.problem && <p className="note ix-form-note">{dasConfig.problem}</p>}
      {start.error && <ErrorNote error={start.error} title="Start" />}
    </form>
  );
}
