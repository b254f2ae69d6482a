/**
 * Multi-threaded XNNPACK for the tfjs WebAssembly backend in Node.
 *
 * tfjs-backend-wasm 4.22 ships a threaded SIMD build but switches it off in Node
 * (the WASM_HAS_MULTITHREAD_SUPPORT flag is false there), and the path it takes
 * in browsers cannot work in Node as it stands:
 *   - the pthread worker script and the main script are handed to the workers as
 *     Blob object URLs; Node's worker_threads and its `importScripts` shim read
 *     files, not blob: URLs;
 *   - the main script is the factory function's source text, cut out of the
 *     bundle: evaluated on its own in a worker it refers to bundle-local names
 *     (the bundled `require`s of fs/path/perf_hooks/os, `commonjsGlobal`, the
 *     tslib iteration helpers, `_scriptDir`) that do not exist there.
 *
 * During the backend's start this module captures both scripts as text, writes
 * them to files (named by their content, under the OS temp folder; they are
 * reused by later processes) and gives the worker script a prologue that
 * defines the missing names and resolves the main script's "blob" to its file.
 * The runtime's pool of eight workers is replaced by stand-ins that start a
 * real worker only for a thread that runs (LazyWorker). Everything else is the
 * package's own code. The workers are unref'd so they do not keep the process alive.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { Worker as NodeWorker, type Transferable } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';

/** The CommonJS \`os\` object the backend's bundle reads (an ES namespace cannot be patched). */
const osModule = createRequire(import.meta.url)('os') as typeof os;

const PATH_KEY = '__subspaceScriptPath';
/** The threaded build preallocates this many pthread workers; more threads would need more at run time. */
export const MAX_WASM_THREADS = 8;
/** The package version whose bundle this shim was written against (its internals are not an API). */
export const THREADED_WASM_VERSION = '4.22.0';
export const THREADED_WASM_FILE = 'tfjs-backend-wasm-threaded-simd.wasm';

/** Definitions the bundle gives its factory, recreated inside each worker. */
const WORKER_PROLOGUE = `"use strict";
(function () {
  var g = globalThis;
  g.require$$0 = require("fs");
  g.require$$1 = require("path");
  g.require$$3 = require("perf_hooks");
  g.require$$4 = require("os");
  g.commonjsGlobal = g;
  g._scriptDir = __filename;
  g.__filename = __filename;
  g.__dirname = __dirname;
  g.__values = function (o) {
    var s = typeof Symbol === "function" && Symbol.iterator, m = s && o[s], i = 0;
    if (m) return m.call(o);
    if (o && typeof o.length === "number") return { next: function () { if (o && i >= o.length) o = void 0; return { value: o && o[i++], done: !o }; } };
    throw new TypeError(s ? "Object is not iterable." : "Symbol.iterator is not defined.");
  };
  g.__read = function (o, n) {
    var m = typeof Symbol === "function" && o[Symbol.iterator];
    if (!m) return o;
    var it = m.call(o), ar = [], r;
    while ((n === void 0 || n-- > 0) && !(r = it.next()).done) ar.push(r.value);
    return ar;
  };
  g.__spreadArray = function (to, from, pack) { return to.concat(Array.prototype.slice.call(from)); };
  // The main script arrives as a captured "Blob": an object naming its file.
  var createObjectURL = URL.createObjectURL, revokeObjectURL = URL.revokeObjectURL;
  URL.createObjectURL = function (b) { return b && typeof b.${PATH_KEY} === "string" ? b.${PATH_KEY} : createObjectURL.call(URL, b); };
  URL.revokeObjectURL = function (u) { if (typeof u === "string" && u.indexOf("blob:") === 0) revokeObjectURL.call(URL, u); };
})();
`;

function scriptFile(text: string, suffix: string): string {
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), 'subspace-wasm-threads');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${hash}${suffix}.cjs`);
  if (!fs.existsSync(file)) {
    // Write then rename, so a process starting beside this one never reads half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  }
  return file;
}

class CapturedBlob {
  readonly [PATH_KEY]: string;
  readonly text: string;
  constructor(parts: unknown[] = []) {
    this.text = parts.map(String).join('');
    this[PATH_KEY] = scriptFile(this.text, '-main');
  }
}

/**
 * Stands in for one of the pthread workers the runtime starts up front (eight,
 * whatever the thread count). It answers the runtime's "load" at once and keeps
 * the message; only when the runtime hands it a thread to run does it start a
 * real worker, replay "load", and relay messages both ways. So a 2-thread
 * backend starts one worker instead of eight (each is a Node isolate: tens to
 * hundreds of milliseconds, and memory).
 */
class LazyWorker extends EventEmitter {
  private real?: NodeWorker;
  private load?: { msg: unknown; transfer?: readonly Transferable[] };
  private unrefd = false;

  constructor(private readonly file: string) {
    super();
  }

  postMessage(msg: unknown, transfer?: readonly Transferable[]): void {
    if (this.real) {
      this.real.postMessage(msg, transfer as never);
      return;
    }
    if ((msg as { cmd?: string } | null)?.cmd === 'load') {
      this.load = { msg, transfer };
      setImmediate(() => this.emit('message', { cmd: 'loaded' }));
      return;
    }
    this.start().postMessage(msg, transfer as never);
  }

  private start(): NodeWorker {
    const real = new NodeWorker(this.file);
    let first = true;
    real.on('message', (d: { cmd?: string }) => {
      // The runtime already had its "loaded" from the stand-in.
      if (first && d?.cmd === 'loaded') {
        first = false;
        return;
      }
      this.emit('message', d);
    });
    real.on('error', (e) => this.emit('error', e));
    if (this.unrefd) real.unref();
    if (this.load) real.postMessage(this.load.msg, this.load.transfer as never);
    this.real = real;
    return real;
  }

  unref(): void {
    this.unrefd = true;
    this.real?.unref();
  }

  ref(): void {
    this.unrefd = false;
    this.real?.ref();
  }

  terminate(): Promise<number> {
    return this.real ? this.real.terminate() : Promise.resolve(0);
  }
}

interface PThreadLike {
  unusedWorkers: Array<{ unref?: () => void }>;
  runningWorkers: Array<{ unref?: () => void }>;
}

/**
 * Runs `start` (which must call tf.setBackend('wasm')) with the threaded build
 * enabled for `threads` threads. `wasm` is the imported tfjs-backend-wasm module.
 * Returns what `start` returned; the globals it borrows are restored either way.
 */
export async function startThreadedWasm<T>(wasm: { setThreadsCount(n: number): void }, threads: number, start: () => Promise<T>): Promise<T> {
  const g = globalThis as unknown as { Blob: unknown };
  const originalBlob = g.Blob;
  const originalCreate = URL.createObjectURL;
  const workerProp = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  const n = Math.max(1, Math.min(MAX_WASM_THREADS, Math.floor(threads)));
  wasm.setThreadsCount(n);
  // The backend caps its thread pool at half the logical cores (it assumes two
  // hardware threads per core), read once while the module starts.
  const cpus = osModule.cpus;
  osModule.cpus = () => {
    const real = cpus.call(osModule);
    return Array.from({ length: Math.max(real.length, 2 * n) }, (_, i) => real[i % real.length]);
  };
  g.Blob = CapturedBlob;
  URL.createObjectURL = ((b: unknown) =>
    b instanceof CapturedBlob ? scriptFile(WORKER_PROLOGUE + b.text, '-worker') : originalCreate.call(URL, b as Blob)) as typeof URL.createObjectURL;
  // The runtime sets the global Worker to worker_threads' and then constructs its pool from it.
  Object.defineProperty(globalThis, 'Worker', {
    configurable: true,
    get: () => LazyWorker,
    set: () => {},
  });
  try {
    return await start();
  } finally {
    osModule.cpus = cpus;
    g.Blob = originalBlob;
    URL.createObjectURL = originalCreate;
    if (workerProp) Object.defineProperty(globalThis, 'Worker', workerProp);
    else delete (globalThis as { Worker?: unknown }).Worker;
    unrefWorkers();
  }
}

/** Lets the process exit while the pthread workers idle. */
export function unrefWorkers(): void {
  const backend = tf.findBackend('wasm') as unknown as { wasm?: { PThread?: PThreadLike } } | undefined;
  const pt = backend?.wasm?.PThread;
  if (!pt) return;
  for (const w of [...pt.unusedWorkers, ...pt.runningWorkers]) w.unref?.();
}
