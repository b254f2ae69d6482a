/**
 * The main-process side of the compute process: starts it, sends it requests,
 * matches replies, and restarts it when it dies (the requests it was running
 * fail with a message saying so; the next request gets a fresh process).
 *
 * A child process rather than a worker thread, for the reasons runner.ts gives
 * for jobs: a native backend crash or an out-of-memory kill takes the child
 * down, never the main process.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BackendReport } from '../../engine/backend/index.js';
import { ApiFailure } from '../dispatch.js';
import type { ComputeHello, ComputeOp, ComputeOps, ComputeReply } from './ops.js';

export interface ComputeClientOptions {
  /** The compute worker's entry (default compute-worker.ts beside this file; a .ts entry runs through tsx). */
  entry?: string;
  /** The Node binary (an Electron main passes its own, with ELECTRON_RUN_AS_NODE=1 in env). */
  execPath?: string;
  env?: NodeJS.ProcessEnv;
  execArgv?: string[];
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  op: ComputeOp;
}

function tsxImport(): string[] {
  return ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href];
}

export class ComputeClient {
  private child?: ChildProcess;
  private hello?: Promise<BackendReport>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private stderrTail = '';

  constructor(private readonly opts: ComputeClientOptions = {}) {}

  /** Starts the process now (so the backend is ready by the first request). */
  start(): void {
    this.ensure();
  }

  /** The compute process's backend report (waits for its start-up). */
  backend(): Promise<BackendReport> {
    this.ensure();
    return this.hello!;
  }

  call<K extends ComputeOp>(op: K, args: ComputeOps[K]['args']): Promise<ComputeOps[K]['result']> {
    if (this.closed) return Promise.reject(new ApiFailure('INTERNAL', 'the compute process is shut down'));
    const child = this.ensure();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, op });
      try {
        child.send({ id, op, args });
      } catch (e) {
        this.pending.delete(id);
        reject(new ApiFailure('INTERNAL', `could not reach the compute process: ${(e as Error).message}`));
      }
    });
  }

  /** Requests waiting or running. */
  get busy(): number {
    return this.pending.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((done) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => {
        clearTimeout(timer);
        done();
      });
      child.kill('SIGTERM');
    });
  }

  private ensure(): ChildProcess {
    if (this.child) return this.child;
    const entry = this.opts.entry ?? fileURLToPath(new URL('./compute-worker.ts', import.meta.url));
    const child = fork(entry, [], {
      execArgv: [...(entry.endsWith('.ts') ? tsxImport() : []), ...(this.opts.execArgv ?? [])],
      execPath: this.opts.execPath,
      env: { ...process.env, ...this.opts.env },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    this.child = child;
    this.stderrTail = '';
    child.stderr?.on('data', (c: Buffer) => {
      this.stderrTail = (this.stderrTail + c.toString('utf8')).slice(-2000);
      process.stderr.write(c);
    });
    let helloDone: (r: BackendReport) => void;
    let helloFail: (e: unknown) => void;
    this.hello = new Promise<BackendReport>((res, rej) => {
      helloDone = res;
      helloFail = rej;
    });
    // A caller that never asks for the backend must not see an unhandled rejection.
    this.hello.catch(() => {});
    child.on('message', (raw: unknown) => {
      const m = raw as ComputeReply | ComputeHello;
      if ('hello' in m) {
        if (m.backend) helloDone(m.backend);
        else helloFail(new ApiFailure(m.error?.code ?? 'BACKEND', m.error?.message ?? 'the tensor backend did not start'));
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new ApiFailure(m.error.code, m.error.message, m.error.field));
    });
    const onGone = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      const lines = this.stderrTail.trim().split('\n').filter(Boolean);
      const said = lines.length ? `; it said: ${lines.slice(-2).join(' | ').slice(-400)}` : '';
      const err = new ApiFailure('INTERNAL', `the compute process ${why} while running ${[...this.pending.values()].map((p) => p.op).join(', ') || 'nothing'}${said}; the next request starts a new one`);
      helloFail(err);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    child.on('error', (e) => onGone(`failed (${e.message})`));
    child.on('exit', (code, signal) => onGone(signal ? `was killed by ${signal}` : `exited with code ${code}`));
    return child;
  }
}
