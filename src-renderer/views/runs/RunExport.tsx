/**
 * One run's export: the formats it has (its native export's conversions, and CSV/JSON when it has
 * tables), a folder to write to, and what was written.
 */
import { useState } from 'react';
import type { ApiResponse } from '../../../src-main/api/contract.js';
import { api } from '../../api/client.js';
import { useAction, useApi, useApiEvent } from '../../api/hooks.js';
import { formatCount } from '../../app/format.js';
import { ErrorNote, Loading, PathPicker } from '../../app/ui.js';
import { formatLabel, writesTables, type ExportFormat } from './export-formats.js';

type Written = { file: string; detail: string }[];

/** The files a folder export wrote (listed after the fact), or the one file it names. */
async function filesUnder(out: string): Promise<Written> {
  const listing: ApiResponse<'lofit.listFiles'> = await api().call('lofit.listFiles', { dir: out });
  const dir = listing.dir.replace(/[\\/]+$/, '');
  return listing.files.map((f) => ({ file: f.path === '.' ? dir : `${dir}/${f.path}`, detail: `${formatCount(f.sizeBytes)} B` }));
}

export function RunExport({ runId }: { runId: string }) {
  const plan = useApi('runs.exportFormats', { runId });
  const exp = useAction('runs.export');
  const [format, setFormat] = useState<ExportFormat>();
  const [written, setWritten] = useState<Written>();
  const [listError, setListError] = useState<Error>();
  // A run that ends while it is open gets its results (and so its tables) at the end.
  useApiEvent((e) => {
    if ((e.type === 'job.done' || e.type === 'job.failed' || e.type === 'job.cancelled') && e.runId === runId) plan.reload();
  });
  if (plan.error) return <ErrorNote error={plan.error} title="Export" />;
  if (!plan.data) return <Loading label="Reading what it exports" />;
  const { formats, tables, problem } = plan.data;
  if (formats.length === 0) {
    return problem ? (
      <ErrorNote error={new Error(`its results give no tables: ${problem}`)} title="Export" />
    ) : (
      <p className="note">This run has no exported intervention and no result tables to export.</p>
    );
  }
  const chosen = format && formats.includes(format) ? format : formats[0];
  const exportTo = async (dir: string) => {
    setWritten(undefined);
    setListError(undefined);
    const r = await exp.run({ runId, format: chosen, dir });
    if (!r) return;
    if (r.tables) setWritten(r.tables.map((t) => ({ file: t.file, detail: `${t.rows} × ${t.columns}` })));
    else {
      try {
        setWritten(await filesUnder(r.out));
      } catch (e) {
        setListError(e as Error);
      }
    }
  };
  return (
    <div className="runs-export">
      <label>
        Format{' '}
        <select
          aria-label="Export format"
          value={chosen}
          onChange={(e) => {
            setFormat(e.target.value as ExportFormat);
            exp.reset();
            setWritten(undefined);
          }}
        >
          {formats.map((f) => (
            <option key={f} value={f}>
              {formatLabel(f, tables)}
            </option>
          ))}
        </select>
      </label>
      {writesTables(chosen) && (
        <p className="note">
          {tables.length === 1 ? 'Table' : `${tables.length} tables`}: <span className="mono">{tables.map((t) => `${t}.${chosen}`).join(', ')}</span>
        </p>
      )}
      {problem && <p className="note">Not all of its results could be read: {problem}</p>}
      <PathPicker kind="save" label="Export to folder" busy={exp.loading} onPick={(dir) => void exportTo(dir)} />
      {exp.loading && <Loading label="Exporting" />}
      {exp.error && <ErrorNote error={exp.error} title="Export" />}
      {listError && <ErrorNote error={listError} title="Listing the export" />}
      {exp.data && !exp.loading && (
        <p className="note" role="status">
          Exported {exp.data.method} as {exp.data.format} to <span className="mono">{exp.data.out}</span>
        </p>
      )}
      {exp.data?.notes?.map((n) => (
        <p key={n} className="note">
          Note: {n}
        </p>
      ))}
      {written && exp.data && !exp.loading && (
        <table className="table runs-export-files" aria-label="Exported files">
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col" className="num">
                {exp.data.tables ? 'Rows × columns' : 'Size'}
              </th>
            </tr>
          </thead>
          <tbody>
            {written.map((w) => (
              <tr key={w.file}>
                <td className="mono" data-testid="runs-exported-file">
                  {w.file}
                </td>
                <td className="num">{w.detail}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
