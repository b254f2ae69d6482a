/**
 * Running and recent jobs: a progress bar, elapsed time, an estimate of what is
 * left and a cancel button for each. The times count on between progress
 * events, so the tray moves even when a step takes a while.
 */
import { useEffect, useState } from 'react';
import { api } from '../api/client.js';
import { formatDuration } from './format.js';
import { useJobs, type TrackedJob } from './jobs.js';

const RECENT = 4;

function useTick(active: boolean): number {
  const [now, setNow] = useState(() => performance.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(performance.now()), 1000);
    return () => clearInterval(t);
  }, [active]);
  return now;
}

function JobRow({ job, now }: { job: TrackedJob; now: number }) {
  const [cancelling, setCancelling] = useState(false);
  const [problem, setProblem] = useState<string>();
  const running = job.state === 'running';
  const since = running ? Math.max(0, now - job.seenAt) : 0;
  const elapsed = job.elapsedMs + since;
  const eta = job.total > 0 && job.step > 0 ? Math.max(0, job.etaMs - since) : undefined;
  const fraction = job.total > 0 ? Math.min(1, job.step / job.total) : 0;
  const label = job.name ?? `${job.kind} ${job.runId.slice(0, 8)}`;
  const cancel = async () => {
    setCancelling(true);
    try {
      await api().call('jobs.cancel', { jobId: job.jobId });
    } catch (e) {
      setProblem((e as Error).message);
      setCancelling(false);
    }
  };
  return (
    <li className={`job job-${job.outcome ?? job.state}`} data-job={job.jobId}>
      <div className="job-title">
        <span className="job-name" title={label}>
          {label}
        </span>
        {job.state !== 'ended' && (
          <button type="button" className="small" onClick={cancel} disabled={cancelling} aria-label={`Cancel ${label}`}>
            {cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
      </div>
      {job.state !== 'ended' ? (
        <>
          <div className="progress" role="progressbar" aria-label={`${label} progress`} aria-valuemin={0} aria-valuemax={job.total || 1} aria-valuenow={job.step}>
            <div className="progress-fill" style={{ width: `${(fraction * 100).toFixed(1)}%` }} />
          </div>
          <div className="job-meta">
            {job.state === 'queued' ? (
              'queued'
            ) : (
              <>
                <span>{job.total > 0 ? `${job.step}/${job.total}` : 'starting'}</span>
                <span>{formatDuration(elapsed)} elapsed</span>
                <span>{eta !== undefined ? `~${formatDuration(eta)} left` : 'estimating…'}</span>
              </>
            )}
          </div>
          {job.message && <div className="job-message">{job.message}</div>}
        </>
      ) : (
        <div className="job-meta">
          <span>{job.outcome === 'done' ? `done in ${formatDuration(job.elapsedMs)}` : job.outcome}</span>
          {job.error && job.outcome === 'failed' && <span className="field-error">{job.error}</span>}
        </div>
      )}
      {problem && <div className="field-error">{problem}</div>}
    </li>
  );
}

export function JobTray() {
  const jobs = useJobs();
  const active = jobs.filter((j) => j.state !== 'ended');
  const recent = jobs.filter((j) => j.state === 'ended').slice(-RECENT).reverse();
  const now = useTick(active.length > 0);
  return (
    <aside className="job-tray" aria-label="Jobs">
      <h2>Jobs</h2>
      {active.length === 0 && recent.length === 0 && <p className="note">No jobs yet. Training and evaluation jobs show their progress here.</p>}
      <ul>
        {[...active, ...recent].map((j) => (
          <JobRow key={j.jobId} job={j} now={now} />
        ))}
      </ul>
    </aside>
  );
}
