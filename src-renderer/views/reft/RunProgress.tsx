import { useEffect, useState } from 'react';
import { useAction, useApiEvent } from '../../api/hooks.js';
import { api } from '../../api/client.js';
import { formatDuration } from '../../app/format.js';
import { useJob } from '../../app/jobs.js';
import { ErrorNote } from '../../app/ui.js';
import { LineChart } from '../../charts/index.js';
import { addPoint, fromSeries, type Curves } from './curves.js';

const isAccuracy = (name: string) => /accuracy/i.test(name);
/** Accuracy's own range, a little headroom so a point at 1 is not cut by the plot's edge. */
const ACCURACY_RANGE = [0, 1.05] as const;

/** The run's own progress (steps, elapsed, estimate, cancel) and its loss and accuracy curves as they arrive. */
export function RunProgress({ runId, jobId }: { runId: string; jobId?: string }) {
  const job = useJob(jobId);
  const cancel = useAction('jobs.cancel');
  const [curves, setCurves] = useState<Curves>({});
  const [loadError, setLoadError] = useState<Error>();
  useEffect(() => {
    let live = true;
    setCurves({});
    setLoadError(undefined);
    api()
      .call('runs.metrics', { runId })
      .then((r) => live && setCurves((c) => mergeStored(fromSeries(r.series), c)))
      .catch((e: unknown) => live && setLoadError(e as Error));
    return () => {
      live = false;
    };
  }, [runId]);
  useApiEvent((e) => {
    if (e.type === 'job.metric' && e.runId === runId) setCurves((c) => addPoint(c, e.name, e.step, e.value));
  });
  const names = Object.keys(curves).sort();
  const loss = names.filter((n) => n === 'loss' || /loss/i.test(n));
  const acc = names.filter(isAccuracy);
  const fraction = job && job.total > 0 ? job.step / job.total : job?.state === 'ended' && job.outcome === 'done' ? 1 : 0;
  return (
    <div className="run-progress">
      {job && (
        <div className="run-status">
          <div className="progress" role="progressbar" aria-label="Training progress" aria-valuemin={0} aria-valuemax={job.total || 1} aria-valuenow={job.outcome === 'done' ? job.total || 1 : job.step}>
            <div className="progress-fill" style={{ width: `${(fraction * 100).toFixed(1)}%` }} />
          </div>
          <div className="job-meta">
            <span data-testid="reft-step">
              {job.state === 'ended' ? (job.outcome === 'done' ? `done: ${job.total} of ${job.total} steps` : job.outcome) : job.state === 'queued' ? 'queued' : `step ${job.step} of ${job.total || '?'}`}
            </span>
            <span>elapsed {formatDuration(job.elapsedMs)}</span>
            {job.state === 'running' && <span>about {formatDuration(job.etaMs)} left</span>}
            {job.state !== 'ended' && (
              <button type="button" className="small" onClick={() => void cancel.run({ jobId: job.jobId })} disabled={cancel.loading}>
                Cancel
              </button>
            )}
          </div>
          {job.message && job.state !== 'ended' && <p className="note mono">{job.message}</p>}
          {job.error && <ErrorNote error={new Error(job.error)} title="The run stopped" />}
        </div>
      )}
      {loadError && <ErrorNote error={loadError} title="Curves" />}
      <div className="curve-row">
        <LineChart title="Training loss" series={loss.map((n) => ({ name: n, x: curves[n].x, y: curves[n].y }))} yTitle="loss" height={240} exportName={`reft-loss-${runId}`} />
        <LineChart title="Accuracy" subtitle="dev after each epoch; test at the end" series={acc.map((n) => ({ name: n, x: curves[n].x, y: curves[n].y }))} yTitle="accuracy" yRange={ACCURACY_RANGE} height={240} exportName={`reft-accuracy-${runId}`} />
      </div>
    </div>
  );
}

/** Stored points first, then live points newer than them. */
function mergeStored(stored: Curves, live: Curves): Curves {
  let out = stored;
  for (const [name, c] of Object.entries(live)) c.x.forEach((x, i) => (out = addPoint(out, name, x, c.y[i])));
  return out;
}
