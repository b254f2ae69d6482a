/**
 * ReFT: configure and train a representation intervention with live curves,
 * then read what it learned — the tokens each direction promotes, cosine
 * similarities between directions (or against another run), the task's
 * representations on two directions, and generations before and after.
 */
import { useState } from 'react';
import { useAction, useApi, useApiEvent } from '../../api/hooks.js';
import { ErrorNote, Loading, Section } from '../../app/ui.js';
import type { ViewDefinition } from '../types.js';
import { DirectionsPanel } from './DirectionsPanel.js';
import { GenerationsPanel } from './GenerationsPanel.js';
import { ProjectionPanel } from './ProjectionPanel.js';
import { ReftForm, type ReftStart } from './ReftForm.js';
import { RunProgress } from './RunProgress.js';
import './reft.css';

interface JobRecordView {
  modelFolder?: string;
  task?: { builtin?: string; name?: string };
}

function RunResults({ runId, allRuns }: { runId: string; allRuns: Parameters<typeof DirectionsPanel>[0]['otherRuns'] }) {
  const run = useApi('runs.get', { runId });
  const done = run.data?.run.status === 'succeeded';
  const dirs = useApi('directions.get', done ? { runId, topK: 8 } : null);
  useApiEvent((e) => {
    if ((e.type === 'job.done' || e.type === 'job.failed' || e.type === 'job.cancelled') && e.runId === runId) run.reload();
  });
  if (run.error) return <ErrorNote error={run.error} />;
  if (!run.data) return null;
  if (!done) return <p className="note">Directions, projections and generations appear when the run has finished ({run.data.run.status}).</p>;
  const job = run.data.run.config.job as JobRecordView | undefined;
  return (
    <>
      {dirs.error && <ErrorNote error={dirs.error} />}
      {dirs.loading && !dirs.data && <Loading label="Reading the learned directions" />}
      {dirs.data && (
        <div className="reft-results">
          <DirectionsPanel runId={runId} directions={dirs.data.directions} otherRuns={allRuns.filter((r) => r.status === 'succeeded')} />
          <ProjectionPanel runId={runId} directions={dirs.data.directions} />
          {job?.modelFolder && <GenerationsPanel runId={runId} model={job.modelFolder} task={job.task?.builtin} />}
        </div>
      )}
    </>
  );
}

function ReftView() {
  const models = useApi('models.list', {});
  const tasks = useApi('tasks.list', {});
  const runs = useApi('runs.list', { filters: { kind: ['reft'] }, sort: { by: 'createdAt', direction: 'desc' }, limit: 200 });
  const start = useAction('jobs.start');
  const [runId, setRunId] = useState<string>();
  useApiEvent((e) => {
    if ((e.type === 'job.queued' || e.type === 'job.done' || e.type === 'job.failed' || e.type === 'job.cancelled') && e.kind === 'reft') runs.reload();
  });
  const list = runs.data?.runs ?? [];
  const current = runId ?? list[0]?.id;
  const onStart = async (req: ReftStart) => {
    const r = await start.run(req);
    if (r) {
      setRunId(r.runId);
      runs.reload();
    }
  };
  const usableModels = (models.data?.models ?? []).filter((m) => m.architecture);
  return (
    <div className="reft">
        <Section title="Configure">
          {(models.error || tasks.error) && <ErrorNote error={(models.error ?? tasks.error)!} />}
          {(!models.data || !tasks.data) && !models.error && !tasks.error && <Loading label="Reading models and tasks" />}
          {models.data && tasks.data && <ReftForm models={usableModels} tasks={tasks.data.tasks} busy={start.loading} onStart={onStart} fieldError={start.error} />}
          {start.error && <ErrorNote error={start.error} />}
        </Section>
        <Section
          title="Run"
          actions={
            list.length > 0 && (
              <select className="reft-run-picker" aria-label="ReFT run" value={current} onChange={(e) => setRunId(e.target.value)}>
                {list.map((r) => (
                  <option key={r.id} value={r.id}>
                    {r.name} ({r.status})
                  </option>
                ))}
              </select>
            )
          }
        >
          {runs.error && <ErrorNote error={runs.error} />}
          {!current && runs.data && <p className="note">No ReFT runs yet. Configure one and press Train.</p>}
          {current && <RunProgress key={current} runId={current} jobId={current} />}
        </Section>
      {current && <RunResults key={current} runId={current} allRuns={list} />}
    </div>
  );
}

export const view: ViewDefinition = { id: 'reft', title: 'ReFT', description: 'Train low-rank representation interventions', component: ReftView };
