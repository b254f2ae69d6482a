/** One run: what it recorded (config, artifacts, metrics), delete with confirmation, and export in each format its kind allows. */
import { useState } from 'react';
import { useAction, useApi } from '../../api/hooks.js';
import { ErrorNote, Loading, PathPicker, Section } from '../../app/ui.js';
import { EXPORT_FORMATS } from './export-formats.js';

export function RunDetail({ runId, onDeleted }: { runId: string; onDeleted: () => void }) {
  const info = useApi('runs.get', { runId });
  const del = useAction('runs.delete');
  const exp = useAction('runs.export');
  const [confirming, setConfirming] = useState(false);
  const [format, setFormat] = useState('');
  if (info.error) return <ErrorNote error={info.error} title="Run" />;
  if (!info.data) return <Loading label="Reading the run" />;
  const { run, artifacts, metricNames, headScoreNames, headSelectionNames } = info.data;
  const hasExport = artifacts.some((a) => /[\\/]manifest\.json$/.test(a.path));
  const formats = hasExport ? EXPORT_FORMATS[run.kind] : [];
  const chosen = formats.find((f) => f.format === format) ?? formats[0];
  const { job: _job, ...config } = run.config;
  return (
    <Section
      title={`Run: ${run.name}`}
      actions={
        !confirming && (
          <button type="button" className="small danger" onClick={() => setConfirming(true)}>
            Delete…
          </button>
        )
      }
    >
      {confirming && (
        <div className="runs-confirm" role="alertdialog" aria-label="Confirm delete">
          <span>
            Delete <strong>{run.name}</strong>, its metrics and the files in its run folder? This cannot be undone.
          </span>
          <button
            type="button"
            className="danger"
            disabled={del.loading}
            onClick={async () => {
              if (await del.run({ runId })) onDeleted();
            }}
          >
            Delete run
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Keep it
          </button>
        </div>
      )}
      {del.error && <ErrorNote error={del.error} title="Delete" />}
      <p className="note">
        {run.kind} · {run.status} · id <span className="mono">{run.id}</span>
        {run.backend && ` · ${run.backend}`}
        {run.error && ` · ${run.error}`}
      </p>
      <div className="runs-columns">
        <div>
          <h3>Config</h3>
          <pre className="runs-config">{JSON.stringify(config, null, 2)}</pre>
        </div>
        <div>
          <h3>Recorded</h3>
          <p className="note">metrics: {metricNames.length ? metricNames.join(', ') : 'none'}</p>
          <p className="note">head scores: {headScoreNames.length ? headScoreNames.join(', ') : 'none'}; selections: {headSelectionNames.length ? headSelectionNames.join(', ') : 'none'}</p>
          <h3>Artifacts</h3>
          {artifacts.length === 0 ? (
            <p className="note">none</p>
          ) : (
            <ul className="mono" style={{ fontSize: 12, paddingLeft: 16, maxHeight: 140, overflow: 'auto' }}>
              {artifacts.map((a) => (
                <li key={a.id} title={a.sha256}>
                  {a.kind}: {a.path} ({a.sizeBytes} B)
                </li>
              ))}
            </ul>
          )}
        </div>
        <div>
          <h3>Export</h3>
          {formats.length === 0 ? (
            <p className="note">{run.kind === 'patch' ? 'A patching sweep has no intervention to export; its result is the JSON artifact, and the Interchange view exports its heatmap as CSV or JSON.' : 'This run has no exported intervention to convert.'}</p>
          ) : (
            <>
              <label>
                Format{' '}
                <select aria-label="Export format" value={chosen!.format} onChange={(e) => setFormat(e.target.value)}>
                  {formats.map((f) => (
                    <option key={f.format} value={f.format}>
                      {f.label}
                    </option>
                  ))}
                </select>
              </label>
              <PathPicker kind="save" label="Export to folder" busy={exp.loading} onPick={(dir) => void exp.run({ runId, format: chosen!.format, dir })} />
              {exp.loading && <Loading label="Exporting" />}
              {exp.error && <ErrorNote error={exp.error} title="Export" />}
              {exp.data && (
                <p className="note" role="status">
                  Exported {exp.data.method} as {exp.data.format} to <span className="mono">{exp.data.out}</span>
                </p>
              )}
            </>
          )}
        </div>
      </div>
    </Section>
  );
}
