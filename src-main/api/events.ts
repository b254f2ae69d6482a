/**
 * Events for the UI: the JobManager's events turned into the contract's
 * `ApiEvent`s, fanned out to every transport that listens (the WebSocket
 * clients, the Electron window), plus the latest state of each job for
 * `jobs.list` (so a window opened mid-job shows its progress at once).
 */
import type { JobEvent, JobManager } from '../jobs/index.js';
import type { ApiEvent, JobInfo } from './contract.js';

type Listener = (e: ApiEvent) => void;

const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(3);
}

/** One line for people: `reft 12/48 · loss 0.532`. */
export function progressMessage(e: Pick<JobEvent, 'kind' | 'phase' | 'step' | 'total' | 'metrics'>): string {
  const metrics = Object.entries(e.metrics)
    .filter(([k]) => k !== 'epoch')
    .slice(0, 3)
    .map(([k, v]) => `${k} ${formatNumber(v)}`);
  const epoch = e.metrics.epoch !== undefined ? [`epoch ${e.metrics.epoch}`] : [];
  return [`${e.phase ?? e.kind} ${e.step}/${e.total}`, ...epoch, ...metrics].join(' · ');
}

export class EventHub {
  private readonly listeners = new Set<Listener>();
  private readonly jobs = new Map<string, JobInfo>();
  /** The metric names of each job's latest progress event (already sent as job.metric). */
  private readonly lastProgress = new Map<string, Record<string, number>>();
  private detach?: () => void;

  /** `nameOf` finds a run's name (the store knows it; the manager's events do not carry it). */
  constructor(private readonly nameOf: (runId: string) => string | undefined = () => undefined) {}

  /** Start relaying the manager's events. */
  attach(manager: JobManager): void {
    const listener = (e: JobEvent) => this.onJobEvent(e);
    manager.on('event', listener);
    this.detach = () => manager.off('event', listener);
  }

  close(): void {
    this.detach?.();
    this.listeners.clear();
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every job seen this session, oldest first. */
  list(): JobInfo[] {
    return [...this.jobs.values()].map((j) => ({ ...j }));
  }

  emit(event: ApiEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // One broken listener (a closed socket) must not stop the others.
      }
    }
  }

  private onJobEvent(e: JobEvent): void {
    const ref = { jobId: e.jobId, runId: e.runId, kind: e.kind };
    let info = this.jobs.get(e.jobId);
    if (!info) {
      let name: string | undefined;
      try {
        name = this.nameOf(e.runId);
      } catch {
        // A name is a nicety.
      }
      info = { ...ref, state: 'queued', step: 0, total: 0, elapsedMs: 0, etaMs: 0, ...(name !== undefined && { name }) };
    }
    Object.assign(info, { step: e.step, total: e.total, elapsedMs: e.elapsedMs, etaMs: e.etaMs, ...(e.phase !== undefined && { phase: e.phase }) });
    this.jobs.set(e.jobId, info);
    switch (e.type) {
      case 'queued':
        this.emit({ type: 'job.queued', ...ref, ...(info.name !== undefined && { name: info.name }) });
        break;
      case 'started':
        info.state = 'running';
        this.emit({ type: 'job.started', ...ref });
        break;
      case 'progress':
        info.state = 'running';
        this.emit({ type: 'job.progress', ...ref, phase: e.phase, step: e.step, total: e.total, elapsedMs: e.elapsedMs, etaMs: e.etaMs, message: progressMessage(e) });
        for (const [name, value] of Object.entries(e.metrics)) if (name !== 'epoch') this.emit({ type: 'job.metric', ...ref, name, step: e.step, value: finite(value) });
        break;
      case 'metrics':
        // Progress events already carried their per-step values; these are the stored batches
        // (final evaluations, resumed curves), sent once each.
        for (const [name, value] of Object.entries(e.metrics)) if (!(name in (this.lastProgress.get(e.jobId) ?? {}))) this.emit({ type: 'job.metric', ...ref, name, step: e.step, value: finite(value) });
        break;
      case 'checkpoint':
        break;
      case 'done':
        Object.assign(info, { state: 'ended', outcome: 'done', etaMs: 0 });
        this.emit({ type: 'job.done', ...ref, elapsedMs: e.elapsedMs });
        break;
      case 'failed':
        Object.assign(info, { state: 'ended', outcome: 'failed', error: e.error ?? 'failed' });
        this.emit({ type: 'job.failed', ...ref, error: e.error ?? 'failed' });
        break;
      case 'cancelled':
        Object.assign(info, { state: 'ended', outcome: 'cancelled', ...(e.error !== undefined && { error: e.error }) });
        this.emit({ type: 'job.cancelled', ...ref, ...(e.error !== undefined && { error: e.error }) });
        break;
    }
    if (e.type === 'progress') this.lastProgress.set(e.jobId, e.metrics);
  }
}
