/**
 * What every job kind's runner gets and how it reports files: shared by the
 * kind modules (job-kinds.ts, job-kinds-interchange.ts) so they need not import
 * each other.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedModel } from '../engine/io/model-folder.js';
import type { RunHooks } from '../engine/methods/progress.js';
import type { TaskExample } from '../engine/tasks/schema.js';
import type { WorkerJob, WorkerMessage } from './protocol.js';

/** A task as the worker runs it. */
export interface TaskData {
  name: string;
  train: TaskExample[];
  dev: TaskExample[];
  test: TaskExample[];
  multipleChoice: boolean;
  /** Built-in tasks: the manifest's roles and causal variables (patching's position axis, DAS). */
  roles?: string[];
  variables?: string[];
}

export interface KindContext {
  job: WorkerJob;
  m: LoadedModel;
  task: TaskData;
  backend: string;
  /** Progress and cancellation for the engine (progress is reported to the main process). */
  hooks: RunHooks;
  send: (msg: WorkerMessage) => void;
}

/** A runner returns the job's summary; one that must read more files first (several tasks) may return it as a promise. */
export type KindRunner = (ctx: KindContext) => Record<string, unknown> | Promise<Record<string, unknown>>;

/** Hashes a file and reports it as an artifact of the run. */
export function reportArtifact(ctx: KindContext, path: string, kind: string): void {
  const bytes = readFileSync(path);
  ctx.send({ type: 'artifact', kind, path, sizeBytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
}

/** Reports every file of an export folder as an artifact of the run. */
export function reportArtifacts(ctx: KindContext, dir: string, kind: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir).sort()) {
    const path = join(dir, f);
    if (!statSync(path).isFile()) continue;
    reportArtifact(ctx, path, kind);
    out.push(path);
  }
  return out;
}
