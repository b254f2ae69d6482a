/**
 * A pool of worker processes for independent pieces of engine work (the layers of
 * a patching sweep, batches of an evaluation): each worker starts its own tensor
 * backend with one thread, loads what it needs once (`setup`), then runs jobs
 * handed out one at a time, so a fast worker takes more of them.
 *
 * Processes rather than threads: XNNPACK's own threads wait for each other after
 * every operation, which costs more than it gains for the small operations of
 * small models and on busy cores; independent processes never wait for each other.
 * The cost is a model load per worker and its memory.
 *
 *   const pool = await startPool<Init, Job, Result>(taskModuleUrl, init, { workers: 2 });
 *   try { const results = await pool.map(jobs); } finally { await pool.close(); }
 *
 * A task module exports `setup(init)` (optional, once per worker) and `run(job)`.
 * Init, jobs and results cross the process boundary by structured clone (typed
 * arrays and NaN survive; functions and tensors do not).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SubspaceError, errorMessage } from '../errors.js';
import type { FromWorker, ToWorker } from './protocol.js';

export interface PoolOptions {
  /** Worker processes; default: the machine's cores. */
  workers?: number;
  /** Backend for the workers (BACKEND_NAMES or 'auto'); default: the same choice as initBackend(). */
  backend?: string;
  /** XNNPACK threads per worker on wasm; default 1 (the workers are the parallelism). */
  wasmThreads?: number;
}

export interface TaskModule<Init, Job, Result> {
  setup?: (init: Init) => void | Promise<void>;
  run: (job: Job) => Result | Promise<Result>;
}

export interface Pool<Job, Result> {
  readonly size: number;
  /** Runs every job on some worker; results in the order of `jobs`. Rejects with the first error. */
  map(jobs: readonly Job[]): Promise<Result[]>;
  close(): Promise<void>;
}

let tsxLoader: string | undefined;
function tsxLoaderUrl(): string {
  tsxLoader ??= pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return tsxLoader;
}

export function defaultWorkers(): number {
  return Math.max(1, typeof availableParallelism === 'function' ? availableParallelism() : cpus().length);
}

interface Slot {
  child: ChildProcess;
  busy: boolean;
  exited?: string;
}

/** Starts `workers` processes that import `taskModule` (a path or file URL) and run `setup(init)`. */
export async function startPool<Init, Job, Result>(taskModule: string | URL, init: Init, opts: PoolOptions = {}): Promise<Pool<Job, Result>> {
  const size = opts.workers ?? defaultWorkers();
  if (!Number.isInteger(size) || size < 1) throw new SubspaceError('BAD_ARGUMENT', `workers must be a whole number of at least 1 (got ${size})`, 'workers');
  const moduleUrl = taskModule instanceof URL ? taskModule.href : taskModule.startsWith('file:') ? taskModule : pathToFileURL(taskModule).href;
  const entry = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url));
  const slots: Slot[] = [];
  /** The map() in progress: every message from a worker frees it, then this batch may feed it again. */
  let onFree: ((slot: Slot, m: FromWorker) => void) | undefined;

  const spawnOne = (): Promise<Slot> =>
    new Promise((resolve, reject) => {
      const child = fork(entry, [], {
        execArgv: entry.endsWith('.ts') ? ['--import', tsxLoaderUrl()] : [],
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        serialization: 'advanced',
      });
      const slot: Slot = { child, busy: false };
      let ready = false;
      child.on('exit', (code, signal) => {
        slot.exited = `a pool worker exited (code ${code}, signal ${signal})`;
        if (!ready) reject(new SubspaceError('INTERNAL', `a pool worker exited while starting (code ${code}, signal ${signal})`));
        else if (slot.busy) {
          slot.busy = false;
          onFree?.(slot, { type: 'error', id: -1, batch: -1, message: slot.exited });
        }
      });
      child.on('message', (m: FromWorker) => {
        if (!ready) {
          if (m.type === 'ready') {
            ready = true;
            resolve(slot);
          } else if (m.type === 'error') reject(new SubspaceError('INTERNAL', `a pool worker failed to start: ${m.message}`));
          return;
        }
        slot.busy = false;
        onFree?.(slot, m);
      });
      const msg: ToWorker = { type: 'init', module: moduleUrl, init, backend: opts.backend, wasmThreads: opts.wasmThreads ?? 1 };
      child.send(msg);
    });

  const started = await Promise.allSettled(Array.from({ length: size }, spawnOne));
  for (const s of started) if (s.status === 'fulfilled') slots.push(s.value);
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    for (const s of slots) s.child.kill();
    throw failed.reason instanceof Error ? failed.reason : new SubspaceError('INTERNAL', errorMessage(failed.reason));
  }

  let closed = false;
  let batches = 0;
  return {
    size,
    map(jobs: readonly Job[]): Promise<Result[]> {
      if (closed) return Promise.reject(new SubspaceError('BAD_ARGUMENT', 'the pool is closed'));
      if (onFree) return Promise.reject(new SubspaceError('BAD_ARGUMENT', 'the pool is already running a map(); wait for it'));
      const batch = ++batches;
      const results = new Array<Result>(jobs.length);
      let next = 0;
      let done = 0;
      return new Promise<Result[]>((resolve, reject) => {
        const finish = (error?: Error) => {
          onFree = undefined;
          if (error) reject(error);
          else resolve(results);
        };
        const feed = (slot: Slot) => {
          if (next >= jobs.length || slot.exited) return;
          const id = next++;
          slot.busy = true;
          const msg: ToWorker = { type: 'job', id, batch, job: jobs[id] };
          slot.child.send(msg);
        };
        onFree = (slot, m) => {
          // A reply to an earlier map() that stopped at an error: the worker is free again.
          if (m.type !== 'ready' && m.batch !== batch && m.batch !== -1) return feed(slot);
          if (m.type === 'result') {
            results[m.id] = m.result as Result;
            if (++done === jobs.length) finish();
            else feed(slot);
          } else if (m.type === 'error') {
            finish(new SubspaceError('INTERNAL', m.id >= 0 ? `job ${m.id} failed in a pool worker: ${m.message}` : m.message));
          }
        };
        if (jobs.length === 0) return finish();
        if (slots.every((s) => s.exited)) return finish(new SubspaceError('INTERNAL', slots[0].exited!));
        for (const slot of slots) if (!slot.busy) feed(slot);
      });
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await Promise.all(
        slots.map(
          (s) =>
            new Promise<void>((resolve) => {
              if (s.exited || s.child.exitCode !== null) return resolve();
              s.child.once('exit', () => resolve());
              const msg: ToWorker = { type: 'close' };
              s.child.send(msg);
              setTimeout(() => s.child.kill(), 10_000).unref();
            }),
        ),
      );
    },
  };
}
