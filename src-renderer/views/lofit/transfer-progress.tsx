/**
 * A transfer job as it runs: one progress step per step-1 selection and per cell, the phase, the
 * elapsed time and an estimate, and a cancel button. Nothing when the run's job is not of this session.
 */
import { useEffect, useState } from 'react';
import { api } from '../../api/client.js';
import { formatDuration } from '../../app/format.js';
import { useJob } from '../../app/jobs.js';
import { ErrorNote } from '../../app/ui.js';

const PHASES: Record<string, string> = {
  'transfer-select': 'step 1: selecting heads on each task',
  'transfer-tune': 'step 2: training and scoring the cells',
};

export function TransferProgress({ runId }: { runId: string }) {
  // A job's id is its run's id.
  const job = useJob(runId);
  const [now, setNow] = useState(() => performance.now());
  const [cancelError, setCancelError] = useState<Error>();
  const running = job !== undefined && job.state !== 'ended';

  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => setNow(performance.now()), 1000);
    return () => clearInterval(t);
  }, [running]);

  if (!job) return null;
  const since = job.state === 'running' ? Math.max(0, now - job.seenAt) : 0;
  const done = job.state === 'ended' && job.outcome === 'done';
  const fraction = done ? 1 : job.total > 0 ? Math.min(1, job.step / job.total) : 0;
  const status = job.state === 'ended' ? (job.outcome ?? 'ended') : job.state === 'queued' ? 'queued' : `${PHASES[job.phase ?? ''] ?? job.phase ?? 'starting'} · ${job.step} of ${job.total || '…'} done`;
  const cancel = async () => {
    setCancelError(undefined);
    try {
      await api().call('jobs.cancel', { jobId: job.jobId });
    } catch (e) {
      setCancelError(e as Error);
    }
  };

  return (
    <div aria-label="Transfer job" style={{ margin: '8px 0' }}>
      <div style={{ display: 'flex', gap: 12, alignItems: 'center', flexWrap: 'wrap' }}>
        <strong>Transfer job</strong>
        <span data-testid="transfer-job-status">{status}</span>
        <span className="note">elapsed {formatDuration(job.elapsedMs + since)}</span>
        {job.state === 'running' && job.step > 0 && <span className="note">about {formatDuration(Math.max(0, job.etaMs - since))} left</span>}
        {running && (
          <button type="button" className="small" onClick={cancel}>
            Cancel
          </button>
        )}
      </div>
      <div className="progress" role="progressbar" aria-label="Transfer progress" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(fraction * 100)}>
        <div className="progress-fill" style={{ width: `${fraction * 100}%` }} />
      </div>
      {job.error && <ErrorNote error={new Error(job.error)} title={job.outcome === 'cancelled' ? 'Cancelled' : 'Failed'} />}
      {cancelError && <ErrorNote error={cancelError} title="Cancel" />}
    </div>
  );
}
