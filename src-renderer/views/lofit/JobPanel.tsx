/**
 * One job of this view as it runs: a progress bar with the phase, steps, elapsed time and an
 * estimate, a cancel button, and the live loss of both steps (events while it runs, the stored
 * curve once it has ended or when the view is opened again).
 */
import { useEffect, useMemo, useState } from 'react';
import { api } from '../../api/client.js';
import { useApi, useApiEvent } from '../../api/hooks.js';
import { formatDuration } from '../../app/format.js';
import { useJob } from '../../app/jobs.js';
import { ErrorNote } from '../../app/ui.js';
import { LineChart, type LineSeries } from '../../charts/index.js';

const CURVES = [
  { metric: 'select.loss', name: 'step 1 loss (task + L1)' },
  { metric: 'tune.loss', name: 'step 2 loss' },
] as const;

type Points = Record<string, Map<number, number>>;

export function JobPanel({ jobId, runId, label, onEnded }: { jobId: string; runId: string; label: string; onEnded?: (outcome: string) => void }) {
  const job = useJob(jobId);
  const stored = useApi('runs.metrics', { runId, names: CURVES.map((c) => c.metric) });
  const [live, setLive] = useState<Points>({});
  const [now, setNow] = useState(() => performance.now());
  const [cancelError, setCancelError] = useState<Error>();
  const running = job?.state !== 'ended';

  useApiEvent((e) => {
    if (e.type === 'job.metric' && e.jobId === jobId && e.value !== null && CURVES.some((c) => c.metric === e.name)) {
      const value = e.value;
      setLive((p) => ({ ...p, [e.name]: new Map(p[e.name] ?? []).set(e.step, value) }));
    }
    if ((e.type === 'job.done' || e.type === 'job.failed' || e.type === 'job.cancelled') && e.jobId === jobId) {
      stored.reload();
      onEnded?.(e.type.slice(4));
    }
  });

  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => setNow(performance.now()), 1000);
    return () => clearInterval(t);
  }, [running]);

  const series: LineSeries[] = useMemo(
    () =>
      CURVES.map((c) => {
        const pts = new Map<number, number>();
        const s = stored.data?.series[c.metric];
        s?.steps.forEach((step, i) => s.values[i] !== null && pts.set(step, s.values[i]!));
        for (const [step, v] of live[c.metric] ?? []) pts.set(step, v);
        const steps = [...pts.keys()].sort((a, b) => a - b);
        return { name: c.name, x: steps, y: steps.map((st) => pts.get(st)!) };
      }).filter((s) => s.y.length > 0),
    [stored.data, live],
  );

  const since = job?.state === 'running' ? Math.max(0, now - job.seenAt) : 0;
  const fraction = job && job.total > 0 ? Math.min(1, job.step / job.total) : 0;
  const phase = job?.phase === 'lofit-select' ? 'step 1: finding heads' : job?.phase === 'lofit-tune' ? 'step 2: tuning offsets' : (job?.phase ?? job?.state ?? 'waiting');
  const status = !job ? 'waiting for the job' : job.state === 'ended' ? (job.outcome ?? 'ended') : `${phase} · ${job.step}/${job.total}`;
  const cancel = async () => {
    try {
      await api().call('jobs.cancel', { jobId });
    } catch (e) {
      setCancelError(e as Error);
    }
  };

  return (
    <div aria-label={`Job ${label}`}>
      <div style={{ display: 'flex', gap: 12, alignItems: 'center', flexWrap: 'wrap' }}>
        <strong>{label}</strong>
        <span data-testid="lofit-job-status">{status}</span>
        {job && <span className="note">elapsed {formatDuration(job.elapsedMs + since)}</span>}
        {job?.state === 'running' && job.step > 0 && <span className="note">about {formatDuration(Math.max(0, job.etaMs - since))} left in this step</span>}
        {running && (
          <button type="button" className="small" onClick={cancel}>
            Cancel
          </button>
        )}
      </div>
      <div className="progress" role="progressbar" aria-label={`${label} progress`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(fraction * 100)} style={{ margin: '6px 0' }}>
        <div className="progress-fill" style={{ width: `${(job?.state === 'ended' && job.outcome === 'done' ? 1 : fraction) * 100}%` }} />
      </div>
      {job?.error && <ErrorNote error={new Error(job.error)} title={job.outcome === 'cancelled' ? 'Cancelled' : 'Failed'} />}
      {cancelError && <ErrorNote error={cancelError} title="Cancel" />}
      {stored.error && <ErrorNote error={stored.error} title="Loss curve" />}
      {series.length > 0 && <LineChart title="Training loss" subtitle="steps count from 1 in each step of LoFIT" series={series} xTitle="step" yTitle="loss" height={240} exportName={`lofit-loss-${runId.slice(0, 8)}`} />}
    </div>
  );
}
