/** The "Model" label and select of forms that pass a model by its folder (a reference the API resolves). */
import type { ModelSummary } from '../../src-main/api/contract.js';

/** Renders the label and the select as siblings, so grid forms place them in their own columns. */
export function ModelSelect({ id, models, value, onChange }: { id: string; models: ModelSummary[]; value: string; onChange: (folder: string) => void }) {
  return (
    <>
      <label htmlFor={id}>Model</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        {models.map((m) => (
          <option key={m.folder} value={m.folder}>
            {m.name}
          </option>
        ))}
      </select>
    </>
  );
}
