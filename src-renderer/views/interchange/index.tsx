/**
 * Interchange: run activation-patching sweeps, DAS searches and DAS at one site as jobs, read a
 * run's heatmap back, and click a cell to see one example's patched next-token
 * distribution next to the clean and corrupt ones.
 */
import { useState } from 'react';
import { useApi, useApiEvent } from '../../api/hooks.js';
import { ErrorNote, Loading, Section } from '../../app/ui.js';
import type { ViewDefinition } from '../types.js';
import { DasResult } from './DasResult.js';
import { JobProgress } from './JobProgress.js';
import { StartForm } from './StartForm.js';
import { SweepResult } from './SweepResult.js';
import type { SweepDoc } from './sweep-cells.js';
import './interchange.css';

function RunResult({ runId }: { runId: string }) {
  const r = useApi('interchange.result', { runId });
  if (r.error) return <ErrorNote error={r.error} title="Result" />;
  if (!r.data) return <Loading label="Reading the result" />;
  if (r.data.artifact === 'patch') return <SweepResult doc={r.data.result as unknown as SweepDoc} runId={runId} />;
  return <DasResult doc={r.data.result} artifact={r.data.artifact} runId={runId} />;
}

function InterchangeView() {
  const [job, setJob] = useState<{ jobId: string; label: string; das?: 'das' | 'das-search' }>();
  const [picked, setPicked] = useState<string>();
  const runs = useApi('runs.list', { filters: { kind: ['patch', 'das'], status: ['succeeded'] }, sort: { by: 'createdAt', direction: 'desc' }, limit: 200 });
  useApiEvent((e) => {
    if (e.type === 'job.done' && (e.kind === 'patch' || e.kind === 'das')) {
      runs.reload();
      if (e.jobId === job?.jobId) setPicked(e.runId);
    }
  });
  const list = runs.data?.runs ?? [];
  const current = picked ?? list[0]?.id;
  return (
    <>
      <Section title="New sweep or DAS run">
        <StartForm
          onStarted={(jobId, label, das) => {
            setJob({ jobId, label, das });
          }}
        />
        {job && <JobProgress key={job.jobId} jobId={job.jobId} label={job.label} curves={job.das} />}
      </Section>
      <Section
        title="Result"
        actions={
          list.length > 0 && (
            <label>
              Run{' '}
              <select aria-label="Run" value={current} onChange={(e) => setPicked(e.target.value)}>
                {list.map((r) => (
                  <option key={r.id} value={r.id}>
                    {r.name} · {new Date(r.createdAt).toLocaleTimeString()}
                  </option>
                ))}
              </select>
            </label>
          )
        }
      >
        {runs.error && <ErrorNote error={runs.error} />}
        {!runs.data && !runs.error && <Loading label="Reading runs" />}
        {runs.data && !current && <p className="note">No finished sweep or DAS run yet: start one above.</p>}
        {current && <RunResult key={current} runId={current} />}
      </Section>
    </>
  );
}

export const view: ViewDefinition = { id: 'interchange', title: 'Interchange', description: 'Patching sweeps, interchange interventions and DAS', component: InterchangeView };
