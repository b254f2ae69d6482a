/** Starts a patching sweep or a DAS run as a job (kinds 'patch' and 'das'). */
import { useState } from 'react';
import { useAction, useApi } from '../../api/hooks.js';
import { ErrorNote } from '../../app/ui.js';

export function StartForm({ onStarted }: { onStarted: (jobId: string, label: string) => void }) {
  const models = useApi('models.list', {});
  const tasks = useApi('tasks.list', {});
  const start = useAction('jobs.start');
  const [model, setModel] = useState('demo-gpt2');
  const [task, setTask] = useState('ioi');
  const [what, setWhat] = useState<'heads' | 'resid' | 'attn' | 'mlp' | 'das'>('heads');
  const [direction, setDirection] = useState<'denoise' | 'noise'>('denoise');
  const [metric, setMetric] = useState<'logit-diff' | 'normalised' | 'prob' | 'accuracy'>('logit-diff');
  const [n, setN] = useState(8);
  const [variable, setVariable] = useState('');
  const [epochs, setEpochs] = useState(1);
  const taskInfo = tasks.data?.tasks.find((t) => t.name === task);
  const variables = taskInfo?.variables ?? [];
  const v = variables.includes(variable) ? variable : (variables[0] ?? '');
  const submit = async () => {
    const label = what === 'das' ? `DAS search ${v} on ${task}` : `patch ${what} ${task}`;
    const r =
      what === 'das'
        ? await start.run({ kind: 'das', model, task, name: `${label} (${model})`, config: { variable: v, search: true, epochs, nTrain: n * 8, nTest: n * 4 } })
        : await start.run({ kind: 'patch', model, task, name: `${label} on ${model}`, config: { sweep: what, direction, metric, n } });
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
        <select value={task} onChange={(e) => setTask(e.target.value)}>
          {(tasks.data?.tasks ?? [{ name: task }]).map((t) => (
            <option key={t.name}>{t.name}</option>
          ))}
        </select>
      </label>
      <label>
        Sweep
        <select aria-label="Sweep" value={what} onChange={(e) => setWhat(e.target.value as typeof what)}>
          <option value="heads">heads (layer × head)</option>
          <option value="resid">residual stream (layer × position)</option>
          <option value="attn">attention output (layer × position)</option>
          <option value="mlp">MLP output (layer × position)</option>
          <option value="das">DAS search (layer × position IIA)</option>
        </select>
      </label>
      {what !== 'das' ? (
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
        </>
      ) : (
        <>
          <label>
            Variable
            <select value={v} onChange={(e) => setVariable(e.target.value)}>
              {variables.length === 0 && <option value="">(this task has none)</option>}
              {variables.map((x) => (
                <option key={x}>{x}</option>
              ))}
            </select>
          </label>
          <label>
            Epochs
            <input type="number" min={1} max={50} value={epochs} onChange={(e) => setEpochs(Math.max(1, Number(e.target.value) || 1))} />
          </label>
        </>
      )}
      <label>
        {what === 'das' ? 'Size (×8 train, ×4 test)' : 'Pairs'}
        <input type="number" aria-label="Pairs" min={1} max={512} value={n} onChange={(e) => setN(Math.max(1, Number(e.target.value) || 1))} />
      </label>
      <button type="submit" disabled={start.loading || (what === 'das' && !v)}>
        Run {what === 'das' ? 'DAS search' : 'sweep'}
      </button>
      {start.error && <ErrorNote error={start.error} title="Start" />}
    </form>
  );
}
