/** One run: what it recorded (config, artifacts, metrics), delete with confirmation, and export in each format it has. */
import { useState } from 'react';
import { useAction, useApi } from '../../api/hooks.js';
import { ErrorNote, Loading, Section } from '../../app/ui.js';
import { RunExport } from './RunExport.js';

export function RunDetail({ runId, onDeleted }: { runId: string; onDeleted: () => void }) {
  const info = useApi('runs.get', { runId });
  const del = useAction('runs.delete');
  const [confirming, setConfirming] = useState(false);
  if (info.error) return <ErrorNote error={info.error} title="Run" />;
  if (!info.data) return <Loading label="Reading the run" />;
  const { run, artifacts, metricNames, headScoreNames, headSelectionNames } = info.data;
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
        <div className="runs-export-cell">
          <h3>Export</h3>
          <RunExport runId={runId} />
        </div>
      </div>
    </Section>
  );
}
