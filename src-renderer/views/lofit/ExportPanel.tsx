/** Exports a run in the formats other tools load, into a chosen folder, then lists what was written. */
import { useState } from 'react';
import { EXPORT_FORMAT_NAMES, type ApiResponse } from '../../../src-main/api/contract.js';
import { api } from '../../api/client.js';
import { formatCount } from '../../app/format.js';
import { ErrorNote, PathPicker } from '../../app/ui.js';

type Format = (typeof EXPORT_FORMAT_NAMES)[number];

const FORMATS: { format: Format; label: string; sub: string }[] = [
  { format: 'native', label: 'Subspace (native)', sub: 'native' },
  { format: 'lofit-npy', label: 'LoFIT top_heads.npy', sub: 'lofit-npy' },
  { format: 'csv', label: 'head scores CSV', sub: 'tables' },
  { format: 'json', label: 'head scores JSON', sub: 'tables' },
  { format: 'merged', label: 'merged checkpoint', sub: 'merged' },
];

type Listing = ApiResponse<'lofit.listFiles'>;

const join = (dir: string, sub: string) => `${dir.replace(/[\\/]+$/, '')}/${sub}`;

export function ExportPanel({ runId }: { runId: string }) {
  const [chosen, setChosen] = useState<Set<Format>>(new Set(['native', 'lofit-npy', 'csv', 'json']));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const [written, setWritten] = useState<Listing>();
  const exportTo = async (dir: string) => {
    setBusy(true);
    setError(undefined);
    setWritten(undefined);
    try {
      // Each format in its own sub-folder, so a native export never mixes with the tables.
      for (const f of FORMATS.filter((x) => chosen.has(x.format))) await api().call('runs.export', { runId, format: f.format, dir: join(dir, f.sub) });
      setWritten(await api().call('lofit.listFiles', { dir }));
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div>
      <div style={{ display: 'flex', gap: 12, flexWrap: 'wrap', marginBottom: 8 }}>
        {FORMATS.map((f) => (
          <label key={f.format} style={{ display: 'flex', gap: 4, alignItems: 'center' }}>
            <input
              type="checkbox"
              checked={chosen.has(f.format)}
              onChange={(e) => {
                const next = new Set(chosen);
                if (e.target.checked) next.add(f.format);
                else next.delete(f.format);
                setChosen(next);
              }}
            />
            {f.label}
          </label>
        ))}
      </div>
      <PathPicker kind="save" label="Export to folder" placeholder="/path/to/export-folder" busy={busy || chosen.size === 0} onPick={exportTo} />
      {busy && <p className="note">Exporting…</p>}
      {error && <ErrorNote error={error} title="Export" />}
      {written && (
        <div>
          <p className="note">
            {written.files.length} files in <span className="mono">{written.dir}</span>
          </p>
          <table className="table" aria-label="Exported files">
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col" className="num">
                  Bytes
                </th>
              </tr>
            </thead>
            <tbody>
              {written.files.map((f) => (
                <tr key={f.path}>
                  <td className="mono" data-testid="lofit-exported-file">
                    {f.path}
                  </td>
                  <td className="num">{formatCount(f.sizeBytes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
