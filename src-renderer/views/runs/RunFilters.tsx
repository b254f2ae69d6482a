/** Filters and sort of the run list: kind, status, model, task, a text search, sort key and direction. */
import { RUN_KIND_NAMES, RUN_STATUS_NAMES, type ApiResponse } from '../../../src-main/api/contract.js';
import type { TaskLabel } from './task-label.js';

export interface RunFilterState {
  kind: string;
  status: string;
  modelId: string;
  datasetId: string;
  search: string;
  sortBy: 'createdAt' | 'startedAt' | 'endedAt' | 'name' | 'status' | 'kind';
  direction: 'asc' | 'desc';
}

export const NO_FILTERS: RunFilterState = { kind: '', status: '', modelId: '', datasetId: '', search: '', sortBy: 'createdAt', direction: 'desc' };

export function RunFilters({ value, onChange, facets, taskLabels }: { value: RunFilterState; onChange: (v: RunFilterState) => void; facets?: ApiResponse<'runs.facets'>; taskLabels?: Map<string, TaskLabel> }) {
  const set = (patch: Partial<RunFilterState>) => onChange({ ...value, ...patch });
  return (
    <div className="runs-filters" role="group" aria-label="Run filters">
      <NameFilter label="Kind" names={RUN_KIND_NAMES} value={value.kind} onChange={(kind) => set({ kind })} />
      <NameFilter label="Status" names={RUN_STATUS_NAMES} value={value.status} onChange={(status) => set({ status })} />
      <label>
        Model
        <select aria-label="Model filter" value={value.modelId} onChange={(e) => set({ modelId: e.target.value })}>
          <option value="">all</option>
          {facets?.models.map((m) => (
            <option key={m.id} value={m.id}>
              {m.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Task
        <select aria-label="Task filter" value={value.datasetId} onChange={(e) => set({ datasetId: e.target.value })}>
          <option value="">all</option>
          {facets?.datasets.map((d) => (
            <option key={d.id} value={d.id} title={taskLabels?.get(d.id)?.title}>
              {taskLabels?.get(d.id)?.text ?? d.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Search
        <input type="search" aria-label="Search runs" value={value.search} placeholder="name or id" onChange={(e) => set({ search: e.target.value })} />
      </label>
      <label>
        Sort by
        <select aria-label="Sort by" value={value.sortBy} onChange={(e) => set({ sortBy: e.target.value as RunFilterState['sortBy'] })}>
          <option value="createdAt">created</option>
          <option value="startedAt">started</option>
          <option value="endedAt">ended</option>
          <option value="name">name</option>
          <option value="status">status</option>
          <option value="kind">kind</option>
        </select>
      </label>
      <button type="button" className="small" aria-label={`Sort ${value.direction === 'desc' ? 'descending' : 'ascending'}`} onClick={() => set({ direction: value.direction === 'desc' ? 'asc' : 'desc' })}>
        {value.direction === 'desc' ? '↓ newest / Z first' : '↑ oldest / A first'}
      </button>
    </div>
  );
}

/** A filter over a fixed list of names, with "all" (the empty value) first. */
function NameFilter({ label, names, value, onChange }: { label: string; names: readonly string[]; value: string; onChange: (v: string) => void }) {
  return (
    <label>
      {label}
      <select aria-label={`${label} filter`} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">all</option>
        {names.map((k) => (
          <option key={k}>{k}</option>
        ))}
      </select>
    </label>
  );
}
