/**
 * The jobs the main process is running, kept up to date from its events, for
 * the job tray and for any view that wants to follow its own job:
 *
 *   const jobs = useJobs();                 // every job this session
 *   const mine = useJob(jobId);             // one job, or undefined
 */
import { useSyncExternalStore } from 'react';
import type { ApiEvent, JobInfo } from '../../src-main/api/contract.js';
import { api } from '../api/client.js';

export interface TrackedJob extends JobInfo {
  /** The latest one-line progress message. */
  message?: string;
  /** When (performance.now()) elapsedMs and etaMs were last reported, so the tray can count on between events. */
  seenAt: number;
}

let jobs: TrackedJob[] = [];
const subscribers = new Set<() => void>();
let started = false;

function set(next: TrackedJob[]): void {
  jobs = next;
  subscribers.forEach((s) => s());
}

function upsert(jobId: string, patch: Partial<TrackedJob> & Pick<JobInfo, 'runId' | 'kind'>): void {
  const at = jobs.findIndex((j) => j.jobId === jobId);
  const base: TrackedJob = at >= 0 ? jobs[at] : { jobId, runId: patch.runId, kind: patch.kind, state: 'queued', step: 0, total: 0, elapsedMs: 0, etaMs: 0, seenAt: performance.now() };
  const next = { ...base, ...patch };
  set(at >= 0 ? jobs.map((j, i) => (i === at ? next : j)) : [...jobs, next]);
}

export function applyEvent(e: ApiEvent): void {
  const now = performance.now();
  switch (e.type) {
    case 'job.queued':
      upsert(e.jobId, { runId: e.runId, kind: e.kind, state: 'queued', ...(e.name !== undefined && { name: e.name }), seenAt: now });
      break;
    case 'job.started':
      upsert(e.jobId, { runId: e.runId, kind: e.kind, state: 'running', seenAt: now });
      break;
    case 'job.progress':
      upsert(e.jobId, { runId: e.runId, kind: e.kind, state: 'running', phase: e.phase, step: e.step, total: e.total, elapsedMs: e.elapsedMs, etaMs: e.etaMs, message: e.message, seenAt: now });
      break;
    case 'job.done':
      upsert(e.jobId, { runId: e.runId, kind: e.kind, state: 'ended', outcome: 'done', elapsedMs: e.elapsedMs, etaMs: 0, seenAt: now });
      break;
    case 'job.failed':
      upsert(e.jobId, { runId: e.runId, kind: e.kind, state: 'ended', outcome: 'failed', error: e.error, seenAt: now });
      break;
    case 'job.cancelled':
      upsert(e.jobId, { runId: e.runId, kind: e.kind, state: 'ended', outcome: 'cancelled', ...(e.error !== undefined && { error: e.error }), seenAt: now });
      break;
    default:
      break;
  }
}

function start(): void {
  if (started) return;
  started = true;
  api().onEvent(applyEvent);
  api()
    .call('jobs.list', {})
    .then((r) => {
      const now = performance.now();
      // Events that arrived meanwhile are newer than the list.
      const known = new Map(jobs.map((j) => [j.jobId, j]));
      set([...r.jobs.filter((j) => !known.has(j.jobId)).map((j) => ({ ...j, seenAt: now })), ...jobs]);
    })
    .catch(() => {
      // The tray fills from events anyway.
    });
}

function subscribe(cb: () => void): () => void {
  start();
  subscribers.add(cb);
  return () => subscribers.delete(cb);
}

export function useJobs(): TrackedJob[] {
  return useSyncExternalStore(subscribe, () => jobs);
}

export function useJob(jobId: string | undefined): TrackedJob | undefined {
  const all = useJobs();
  return jobId === undefined ? undefined : all.find((j) => j.jobId === jobId);
}
