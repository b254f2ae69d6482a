/**
 * A helper thread that a synchronous training loop can hand part of each step to.
 *
 * The loop posts a message, computes its own part, then blocks until the helper's
 * answer is in: the answer comes back on a MessagePort read with
 * `receiveMessageOnPort` after `Atomics.wait` on a shared counter, so no event
 * loop turn is needed and the engine's training functions stay synchronous.
 * Threads rather than processes for that reason: only threads share memory to
 * wait on. The helper starts its own tensor backend (one wasm thread) and loads
 * the task modules listed in shard-worker.ts.
 *
 *   const t = ShardThread.start();          // blocks until ready, or throws
 *   t.post(msg); ...own work...; const reply = t.collect();
 *   t.close();
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { SubspaceError } from '../errors.js';

/** What every helper answer carries besides its payload. */
export type ShardReply = { type: 'ok'; value?: unknown } | { type: 'error'; message: string };

export interface ShardThreadOptions {
  /** Backend for the helper (BACKEND_NAMES or 'auto'); default wasm. */
  backend?: string;
  /** How long to wait for the helper to start, ms. */
  startTimeoutMs?: number;
  /** How long one answer may take, ms; past it the helper is taken to be lost. */
  replyTimeoutMs?: number;
}

/** The helper's entry: the TypeScript source under tsx, or the bundle's sibling in a build. */
function workerEntry(): { entry: string; tsx?: string } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) return { entry: new URL('./shard-worker.ts', here).href, tsx: tsxRegisterUrl() };
  return { entry: new URL('./shard-worker.mjs', here).href };
}

/** tsx's ESM `register()` module, from its package exports (createRequire would pick the CommonJS one). */
function tsxRegisterUrl(): string {
  const pkgJson = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgJson, 'utf8')) as { exports: Record<string, { import?: { default?: string } }> };
  const rel = pkg.exports['./esm/api']?.import?.default;
  if (!rel) throw new SubspaceError('INTERNAL', `tsx ${pkgJson} exports no ./esm/api module`);
  return pathToFileURL(join(dirname(pkgJson), rel)).href;
}

// Registers tsx where the entry is TypeScript, then loads it; a failure to load is reported
// through the same port and counter, because nothing else reaches a loop that is blocked.
const BOOT = `const { workerData } = await import('node:worker_threads');
try { if (workerData.tsx) (await import(workerData.tsx)).register(); await import(workerData.entry); }
catch (e) { workerData.port.postMessage({ type: 'error', message: String((e && e.stack) || e) }); Atomics.add(workerData.signal, 0, 1); Atomics.notify(workerData.signal, 0); }`;

export class ShardThread {
  private seen = 0;
  private pending = 0;
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    private readonly signal: Int32Array,
    private readonly replyTimeoutMs: number,
  ) {}

  /** Starts a helper and waits (blocking) until its backend is up. Throws a SubspaceError naming why it could not start. */
  static start(opts: ShardThreadOptions = {}): ShardThread {
    const { entry, tsx } = workerEntry();
    if (!existsSync(fileURLToPath(entry))) throw new SubspaceError('INTERNAL', `the training helper's script is missing (${fileURLToPath(entry)})`);
    const signal = new Int32Array(new SharedArrayBuffer(4));
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(BOOT)}`), {
      workerData: { port: port2, signal, tsx, entry, backend: opts.backend ?? 'wasm' },
      transferList: [port2],
      stdout: false,
      stderr: false,
    });
    // Never keeps the process alive on its own.
    worker.unref();
    port1.unref();
    const t = new ShardThread(worker, port1, signal, opts.replyTimeoutMs ?? 300_000);
    // The helper's first answer says whether its backend started; read it like any other.
    t.pending = 1;
    try {
      t.collect(opts.startTimeoutMs ?? 60_000);
    } catch (e) {
      t.close();
      throw e;
    }
    return t;
  }

  /** Hands the helper a message; its answer is read by collect(). */
  post(message: unknown, transfer: ArrayBuffer[] = []): void {
    if (this.closed) throw new SubspaceError('INTERNAL', 'the training helper is closed');
    this.worker.postMessage(message, transfer);
    this.pending++;
  }

  /** Blocks until the oldest unanswered message is answered; returns its value or throws its error. */
  collect(timeoutMs = this.replyTimeoutMs): unknown {
    if (this.pending === 0) throw new SubspaceError('INTERNAL', 'nothing was posted to the training helper');
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const got = receiveMessageOnPort(this.port);
      if (got) {
        this.seen++;
        this.pending--;
        const reply = got.message as ShardReply;
        if (reply.type === 'error') throw new SubspaceError('INTERNAL', `the training helper failed: ${reply.message}`);
        return reply.value;
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        this.close();
        throw new SubspaceError('INTERNAL', `the training helper gave no answer within ${Math.round(timeoutMs / 1000)} s; it was stopped`);
      }
      Atomics.wait(this.signal, 0, this.seen, Math.min(left, 1000));
    }
  }

  /** Reads and drops every answer still owed (after a step that failed between post and collect), errors included. */
  drain(): void {
    while (this.pending > 0 && !this.closed) {
      try {
        this.collect();
      } catch {
        // An owed answer that was an error; the caller has already failed for its own reason.
      }
    }
  }

  /** Sends a message and waits for its answer. */
  call(message: unknown): unknown {
    this.post(message);
    return this.collect();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.port.close();
    void this.worker.terminate();
  }
}
