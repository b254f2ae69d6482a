/** The recorded transfer runs, newest first; a click opens one. */
import type { RunSummary } from '../../../src-main/api/contract.js';

export function TransferRuns({ runs, current, onOpen }: { runs: RunSummary[]; current?: string; onOpen: (runId: string) => void }) {
  return (
    <table className="table selectable" aria-label="Transfer runs">
      <thead>
        <tr>
          <th scope="col">Run</th>
          <th scope="col">Status</th>
          <th scope="col">Started</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr key={r.id} className={r.id === current ? 'selected' : undefined} onClick={() => onOpen(r.id)} title="show this run's matrix">
            <td>
              <button
                type="button"
                className="link"
                onClick={(e) => {
                  e.stopPropagation();
                  onOpen(r.id);
                }}>
                {r.name}
              </button>
            </td>
            <td>{r.status}</td>
            <td>{new Date(r.createdAt).toLocaleString()}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
