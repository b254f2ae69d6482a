/** The view's own job: phase, steps, progress bar, elapsed time, estimate and cancel; a DAS job's live curves. */
import { useEffect, useState } from 'react';
import { api } from '../../api/client.js';
import { formatDuration } from '../../app/format.js';
import { useJob } from '../../app/jobs.js';
import { ErrorNote } from '../../app/ui.js';
import { JobCurves } from './JobCurves.js';

export function JobProgress({ jobId, label, curves }: { jobId: string; label: string; curves?: 'das' | 'das-search' }) {
  const job = useJob(jobId);
  const [now, setNow] = useState(() => performance.now());
  const [err, setErr] = useState<Error>();
  const running = job?.state !== 'ended';
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => setNow(performance.now()), 1000);
    return () => clearInterval(t);
  }, [running]);
  const since = job?.state === 'running' ? Math.max(0, now - job.seenAt) : 0;
  const fraction = job?.state === 'ended' ? (job.outcome === 'done' ? 1 : 0) : job && job.total > 0 ? Math.min(1, job.step / job.total) : 0;
  const status = !job ? 'waiting for the job' : job.state === 'ended' ? (job.outcome ?? 'ended') : `${job.phase ?? job.state} · ${job.step}/${job.total}`;
  return (
    <div aria-label={`Job ${label}`} style={{ margin: '8px 0' }}>
      <div className="ix-row">
        <strong>{label}</strong>
        <span data-testid="ix-job-status">{status}</span>
        {job && <span className="note">elapsed {formatDuration(job.elapsedMs + since)}</span>}
        {job?.state === 'running' && job.step > 0 && <span className="note">about {formatDuration(Math.max(0, job.etaMs - since))} left</span>}
        {running && (
          <button type="button" className="small" onClick={() => api().call('jobs.cancel', { jobId }).catch((e: Error) => setErr(e))}>
            Cancel
          </button>
        )}
      </div>
      <div className="progress" role="progressbar" aria-label={`${label} progress`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(fraction * 100)}>
        <div className="progress-fill" style={{ width: `${fraction * 100}%` }} />
      </div>
      {job?.error && <ErrorNote error={new Error(job.error)} title={job.outcome === 'cancelled' ? 'Cancelled' : 'Failed'} />}
      {err && <ErrorNote error={err} title="Cancel" />}
      {/* A finished single-site run shows its loss with its result below; a search's curves have no other place. */}
      {curves && (curves === 'das-search' || job?.state !== 'ended' || job.outcome !== 'done') && <JobCurves runId={jobId} search={curves === 'das-search'} />}
    </div>
  );
}
