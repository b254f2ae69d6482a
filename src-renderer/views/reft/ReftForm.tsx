import { useId, useState } from 'react';
import type { ApiRequest, ModelSummary, TaskSummary } from '../../../src-main/api/contract.js';
import { ModelSelect } from '../../app/ModelSelect.js';

export const REFT_TYPES = ['LoReFT', 'NoReFT', 'DiReFT', 'NodiReFT', 'ConsReFT', 'LobiReFT'] as const;
const COMPONENTS = ['block_output', 'block_input', 'attention_output', 'mlp_output'] as const;

export type ReftStart = Extract<ApiRequest<'jobs.start'>, { kind: 'reft' }>;

/** The ReFT job form: model, task, intervention type, layers, component, positions, rank and training settings. */
export function ReftForm({ models, tasks, busy, onStart, fieldError }: { models: ModelSummary[]; tasks: TaskSummary[]; busy: boolean; onStart: (req: ReftStart) => void; fieldError?: { field?: string; message: string } }) {
  const id = useId();
  const [model, setModel] = useState(models[0]?.folder ?? '');
  const [task, setTask] = useState(tasks.find((t) => t.name === 'fact-recall')?.name ?? tasks[0]?.name ?? '');
  const [type, setType] = useState<string>('LoReFT');
  const [layers, setLayers] = useState<number[]>([2]);
  const [component, setComponent] = useState<string>('block_output');
  const [positions, setPositions] = useState('l1');
  const [rank, setRank] = useState(4);
  const [epochs, setEpochs] = useState(3);
  const [lr, setLr] = useState(4e-3);
  const [batchSize, setBatchSize] = useState(16);
  const nLayers = models.find((m) => m.folder === model)?.architecture?.layers ?? 0;
  const toggle = (l: number) => setLayers((ls) => (ls.includes(l) ? ls.filter((x) => x !== l) : [...ls, l].sort((a, b) => a - b)));
  const validLayers = layers.filter((l) => l < nLayers);
  const errorFor = (f: string) => (fieldError?.field && fieldError.field.includes(f) ? <span className="field-error">{fieldError.message}</span> : null);
  const num = (set: (n: number) => void) => (e: { target: { value: string } }) => set(Number(e.target.value));
  return (
    <form
      className="reft-form"
      aria-label="ReFT run"
      onSubmit={(e) => {
        e.preventDefault();
        const modelName = models.find((m) => m.folder === model)?.name ?? model;
        onStart({
          kind: 'reft',
          model,
          task,
          name: `${type} L${validLayers.join(',')} r${rank} on ${task} (${modelName})`,
          config: { type, layers: validLayers, component, positions, rank, epochs, lr, batchSize },
        });
      }}
    >
      <ModelSelect id={`${id}-model`} models={models} value={model} onChange={setModel} />
      <label htmlFor={`${id}-task`}>Task</label>
      <select id={`${id}-task`} value={task} onChange={(e) => setTask(e.target.value)}>
        {tasks.map((t) => (
          <option key={t.name} value={t.name}>
            {t.title}
          </option>
        ))}
      </select>
      <label htmlFor={`${id}-type`}>Type</label>
      <select id={`${id}-type`} value={type} onChange={(e) => setType(e.target.value)}>
        {REFT_TYPES.map((t) => (
          <option key={t}>{t}</option>
        ))}
      </select>
      <span className="form-label" id={`${id}-layers`}>
        Layers
      </span>
      <div className="layer-boxes" role="group" aria-labelledby={`${id}-layers`}>
        {Array.from({ length: nLayers }, (_, l) => (
          <label key={l} className="check">
            <input type="checkbox" checked={layers.includes(l)} onChange={() => toggle(l)} /> {l}
          </label>
        ))}
        {errorFor('layers')}
      </div>
      <label htmlFor={`${id}-component`}>Component</label>
      <select id={`${id}-component`} value={component} onChange={(e) => setComponent(e.target.value)}>
        {COMPONENTS.map((c) => (
          <option key={c}>{c}</option>
        ))}
      </select>
      <label htmlFor={`${id}-positions`}>Positions</label>
      <span>
        <input id={`${id}-positions`} type="text" value={positions} onChange={(e) => setPositions(e.target.value)} title="f{n}: first n prompt tokens, l{n}: last n, f{n}+l{n}: both" spellCheck={false} />
        {errorFor('positions')}
      </span>
      <label htmlFor={`${id}-rank`}>Rank</label>
      <input id={`${id}-rank`} type="number" min={1} max={64} value={rank} onChange={num(setRank)} />
      <label htmlFor={`${id}-epochs`}>Epochs</label>
      <input id={`${id}-epochs`} type="number" min={1} max={200} value={epochs} onChange={num(setEpochs)} />
      <label htmlFor={`${id}-lr`}>Learning rate</label>
      <input id={`${id}-lr`} type="number" min={0} step="any" value={lr} onChange={num(setLr)} />
      <label htmlFor={`${id}-batch`}>Batch size</label>
      <input id={`${id}-batch`} type="number" min={1} max={512} value={batchSize} onChange={num(setBatchSize)} />
      <div className="form-actions">
        <button type="submit" className="primary" disabled={busy || !model || !task || validLayers.length === 0 || rank < 1 || epochs < 1 || !(lr > 0)}>
          Train
        </button>
      </div>
    </form>
  );
}
