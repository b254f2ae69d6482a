/** The run list: one row per run with a checkbox (for compare) and a click that opens its details. */
import type { RunSummary } from '../../../src-main/api/contract.js';
import { formatDuration } from '../../app/format.js';
import type { TaskLabel } from './task-label.js';

const when = (t: number | null) => (t === null ? '—' : new Date(t).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' }));

export function RunTable({ runs, checked, onCheck, openId, onOpen, modelName, taskName }: { runs: RunSummary[]; checked: string[]; onCheck: (id: string, on: boolean) => void; openId?: string; onOpen: (id: string) => void; modelName: (id: string | null) => string; taskName: (datasetId: string | null) => TaskLabel }) {
  if (runs.length === 0) return <p className="note">No runs match these filters.</p>;
  return (
    <div className="runs-table-wrap">
      <table className="table selectable" aria-label="Runs">
        <thead>
          <tr>
            <th scope="col">
              <span className="visually-hidden">Compare</span>
            </th>
            <th scope="col">Name</th>
            <th scope="col">Kind</th>
            <th scope="col">Status</th>
            <th scope="col">Model</th>
            <th scope="col">Task</th>
            <th scope="col">Created</th>
            <th scope="col" className="num">
              Duration
            </th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id} className={r.id === openId ? 'selected' : undefined} onClick={() => onOpen(r.id)} data-run-id={r.id}>
              <td onClick={(e) => e.stopPropagation()}>
                <input type="checkbox" aria-label={`Compare ${r.name}`} checked={checked.includes(r.id)} onChange={(e) => onCheck(r.id, e.target.checked)} />
              </td>
              <td>
                <button type="button" className="link" onClick={() => onOpen(r.id)}>
                  {r.name}
                </button>
              </td>
              <td>{r.kind}</td>
              <td className={`run-status run-${r.status}`}>{r.status}</td>
              <td>{modelName(r.modelId)}</td>
              <td>
                <TaskCell label={taskName(r.datasetId)} />
              </td>
              <td>{when(r.createdAt)}</td>
              <td className="num">{r.startedAt !== null && r.endedAt !== null ? formatDuration(r.endedAt - r.startedAt) : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** One line, never wrapped; the full identity (hash, size) on hover. */
function TaskCell({ label }: { label: TaskLabel }) {
  return (
    <span className="runs-task" title={label.title}>
      {label.text}
    </span>
  );
}
