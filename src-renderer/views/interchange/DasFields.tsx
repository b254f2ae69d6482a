/** The DAS settings of the start form, and the job config they make. */
import type { Architecture, TaskSummary } from '../../../src-main/api/contract.js';
import type { DasJobConfig } from '../../../src-main/jobs/protocol.js';

export interface DasForm {
  variable: string;
  layer: number;
  position: string;
  dim: number;
  epochs: number;
  nTrain: number;
  nTest: number;
}

/** Small enough that a search over every layer and role of a demo model takes a minute or two. */
export const DAS_FORM_DEFAULTS: DasForm = { variable: '', layer: 0, position: '', dim: 8, epochs: 2, nTrain: 128, nTest: 64 };

/** The roles a DAS site can sit at: the task's own, then first and last. */
export const dasPositions = (task: TaskSummary | undefined) => [...(task?.roles ?? []), 'first', 'last'];

/** The form with every choice made valid for this task and model (a variable or role the task lacks falls back to its first / last). */
export function resolveDasForm(f: DasForm, task: TaskSummary | undefined, arch: Architecture | null): DasForm {
  const variables = task?.variables ?? [];
  const positions = dasPositions(task);
  const layers = arch?.layers ?? 1;
  return {
    ...f,
    variable: variables.includes(f.variable) ? f.variable : (variables[0] ?? ''),
    position: positions.includes(f.position) ? f.position : (task?.roles.at(-1) ?? 'last'),
    layer: Math.min(Math.max(0, f.layer), layers - 1),
    dim: arch ? Math.min(f.dim, arch.width) : f.dim,
  };
}

/** The job's config and label, or why it cannot start. */
export function dasJobConfig(f: DasForm, task: TaskSummary | undefined, arch: Architecture | null, search: boolean): { config?: DasJobConfig; label: string; problem?: string } {
  const r = resolveDasForm(f, task, arch);
  if (!r.variable) {
    return { label: 'DAS', problem: `DAS needs (base, source) pairs with a causal model's counterfactual labels; task '${task?.name ?? '?'}' has no causal variables (hierarchical-equality has).` };
  }
  const common = { variable: r.variable, dim: r.dim, epochs: r.epochs, nTrain: r.nTrain, nTest: r.nTest };
  if (search) return { config: { ...common, search: true }, label: `DAS search ${r.variable}` };
  return { config: { ...common, layer: r.layer, position: r.position }, label: `DAS ${r.variable} at L${r.layer} ${r.position}` };
}

const whole = (v: string, min: number, max: number) => Math.min(max, Math.max(min, Math.round(Number(v)) || min));

export function DasFields({ form, onChange, task, arch, search }: { form: DasForm; onChange: (f: DasForm) => void; task: TaskSummary | undefined; arch: Architecture | null; search: boolean }) {
  const r = resolveDasForm(form, task, arch);
  const variables = task?.variables ?? [];
  const set = (patch: Partial<DasForm>) => onChange({ ...r, ...patch });
  return (
    <>
      <label>
        Variable
        <select aria-label="Variable" value={r.variable} onChange={(e) => set({ variable: e.target.value })}>
          {variables.length === 0 && <option value="">(this task has none)</option>}
          {variables.map((x) => (
            <option key={x}>{x}</option>
          ))}
        </select>
      </label>
      {!search && (
        <>
          <label>
            Layer
            <select aria-label="Layer" value={r.layer} onChange={(e) => set({ layer: Number(e.target.value) })}>
              {Array.from({ length: arch?.layers ?? 1 }, (_, l) => (
                <option key={l} value={l}>
                  {l}
                </option>
              ))}
            </select>
          </label>
          <label>
            Position
            <select aria-label="Position" value={r.position} onChange={(e) => set({ position: e.target.value })}>
              {dasPositions(task).map((p) => (
                <option key={p}>{p}</option>
              ))}
            </select>
          </label>
        </>
      )}
      <label title="interchanged dimensions of the rotated subspace">
        Dim
        <input type="number" aria-label="Dim" min={1} max={arch?.width ?? 4096} value={r.dim} onChange={(e) => set({ dim: whole(e.target.value, 1, arch?.width ?? 4096) })} />
      </label>
      <label>
        Epochs
        <input type="number" aria-label="Epochs" min={1} max={50} value={r.epochs} onChange={(e) => set({ epochs: whole(e.target.value, 1, 50) })} />
      </label>
      <label title={`pairs from the train split${task ? ` (${task.sizes.train} in all)` : ''}`}>
        Train pairs
        <input type="number" aria-label="Train pairs" min={1} max={task?.sizes.train || 100_000} value={r.nTrain} onChange={(e) => set({ nTrain: whole(e.target.value, 1, task?.sizes.train || 100_000) })} />
      </label>
      <label title={`pairs from the test split${task ? ` (${task.sizes.test} in all)` : ''}`}>
        Test pairs
        <input type="number" aria-label="Test pairs" min={1} max={task?.sizes.test || 100_000} value={r.nTest} onChange={(e) => set({ nTest: whole(e.target.value, 1, task?.sizes.test || 100_000) })} />
      </label>
    </>
  );
}
