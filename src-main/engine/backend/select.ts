/**
 * Picks the tensor backend once, at start-up, and keeps a report of why.
 *
 * Order of preference (first that works wins):
 *   tensorflow-gpu  @tensorflow/tfjs-node-gpu: libtensorflow with CUDA   -> 'CUDA GPU'
 *   tensorflow      @tensorflow/tfjs-node: libtensorflow on the CPU        -> 'CPU (libtensorflow)'
 *   wasm            @tensorflow/tfjs-backend-wasm (XNNPACK, SIMD)          -> 'CPU (WebAssembly, ...)'
 *   cpu             @tensorflow/tfjs-backend-cpu (plain JavaScript)        -> 'CPU (JavaScript)'
 *
 * `opts.prefer`, else the SUBSPACE_BACKEND environment variable, forces one
 * (error if it cannot load). SUBSPACE_WASM_THREADS sets the wasm backend's
 * thread count ('auto', the default: every core, at most 8; 1: the
 * single-threaded build; see wasm-threads.ts). SUBSPACE_WASM_DIR names the folder holding the
 * tfjs-backend-wasm*.wasm files (a packaged app keeps them under
 * app.asar.unpacked); by default they come from the installed package's dist/.
 *
 * The tfjs-node packages are optional dependencies: they are loaded with a
 * dynamic import() and may be absent ("not installed") or present but unloadable
 * (missing libtensorflow or CUDA libraries: a load error, with a fix).
 * tfjs-node brings its own @tensorflow/tfjs, which depends on
 * @tensorflow/tfjs-core; the engine imports @tensorflow/tfjs-core directly, so
 * both must resolve to the same copy (same version: npm dedupes them). That is
 * checked before loading, and the engine's registry is checked after.
 */
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { SubspaceError, errorMessage } from '../errors.js';
import * as os from 'node:os';
import { installWasmKernels, setWasmKernelThreads } from './wasm-kernels.js';
import { MAX_WASM_THREADS, startThreadedWasm, THREADED_WASM_FILE, THREADED_WASM_VERSION } from './wasm-threads.js';

export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendReason {
  backend: string;
  available: boolean;
  why: string;
  fix?: string;
}

export interface BackendReport {
  /** One of BACKEND_NAMES. (tfjs calls both tensorflow ones 'tensorflow': see tf.getBackend().) */
  backend: string;
  /** Where the arithmetic runs, e.g. 'CUDA GPU', 'CPU (WebAssembly, SIMD, 1 thread)'. */
  device: string;
  /** One entry per candidate, in order of preference. */
  reasons: BackendReason[];
}

export interface InitBackendOptions {
  /** Force a backend: one of BACKEND_NAMES, or 'auto'. Overrides SUBSPACE_BACKEND. */
  prefer?: string;
  /** Threads for the wasm backend: a count or 'auto'. Overrides SUBSPACE_WASM_THREADS. */
  wasmThreads?: number | 'auto';
}

const GPU_PKG = '@tensorflow/tfjs-node-gpu';
const NODE_PKG = '@tensorflow/tfjs-node';
const WASM_PKG = '@tensorflow/tfjs-backend-wasm';
const CPU_PKG = '@tensorflow/tfjs-backend-cpu';
const CORE_PKG = '@tensorflow/tfjs-core';

const CUDA_FIX = `install CUDA 11.2 and cuDNN 8.1 (what libtensorflow 2.9 in ${GPU_PKG} 4.22 is built for) and put their lib folders on LD_LIBRARY_PATH, or use ${NODE_PKG}`;

const requireHere = createRequire(import.meta.url);

let current: { report: BackendReport } | null = null;
let wanted = { threads: 1, why: '' };
let pending: Promise<BackendReport> | null = null;

/**
 * Start the best available backend (or the forced one) and return the report.
 * Idempotent: later calls return the same report object. Asking for a different
 * backend once one is running is an error (tests can call resetBackendForTests()).
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<BackendReport> {
  const requested = requestedBackend(opts);
  if (!current) {
    if (!pending) {
      wanted = wasmThreadChoice(opts.wasmThreads);
      pending = select(requested)
        .then((report) => {
          current = { report };
          return report;
        })
        .finally(() => {
          pending = null;
        });
    }
    await pending;
  }
  const report = current!.report;
  if (requested && requested.name !== report.backend) {
    throw new SubspaceError(
      'BACKEND',
      `The tensor backend is already '${report.backend}' (${report.device}); it is chosen once per process, so '${requested.name}' (${requested.source}) cannot be used now.`,
      requested.name,
    );
  }
  return report;
}

/** The report of the backend in use, or undefined before initBackend() has finished. */
export function backendReport(): BackendReport | undefined {
  return current?.report;
}

/** Forget the choice so that the next initBackend() chooses again (tests only). */
export function resetBackendForTests(): void {
  current = null;
}

/** Human-readable lines for `subspace info`, joined with newlines. */
export function formatBackendReport(report: BackendReport): string {
  const width = Math.max(...BACKEND_NAMES.map((n) => n.length), ...report.reasons.map((r) => r.backend.length));
  const lines = [`Backend: ${report.backend} on ${report.device}`];
  for (const r of report.reasons) {
    const mark = r.backend === report.backend ? 'in use' : r.available ? 'available' : 'unavailable';
    const head = `  ${r.backend.padEnd(width)}  ${mark.padEnd(11)}  `;
    lines.push(head + r.why);
    if (r.fix) lines.push(' '.repeat(head.length) + `fix: ${r.fix}`);
  }
  return lines.join('\n');
}

/** Parse a backend name; throws a SubspaceError naming the valid ones. null means auto. */
export function parseBackendName(name: string, source = 'backend'): BackendName | null {
  const n = name.trim().toLowerCase();
  if (n === '' || n === 'auto') return null;
  if ((BACKEND_NAMES as readonly string[]).includes(n)) return n as BackendName;
  throw new SubspaceError(
    'BAD_ARGUMENT',
    `Unknown ${source} '${name}': valid names are ${BACKEND_NAMES.join(', ')} (or auto).`,
    name,
  );
}

interface Requested {
  name: BackendName;
  source: string;
}

function requestedBackend(opts: InitBackendOptions): Requested | null {
  if (opts.prefer !== undefined) {
    const name = parseBackendName(opts.prefer, 'backend');
    if (name) return { name, source: 'prefer' };
    return null; // 'auto' here overrides the environment
  }
  const env = process.env.SUBSPACE_BACKEND;
  if (env !== undefined) {
    const name = parseBackendName(env, 'SUBSPACE_BACKEND value');
    if (name) return { name, source: 'SUBSPACE_BACKEND' };
  }
  return null;
}

// ---------------------------------------------------------------------------
// Selection
// ---------------------------------------------------------------------------

interface Attempt {
  ok: boolean;
  device?: string;
  why: string;
  fix?: string;
  /** For tensorflow-gpu: libtensorflow loaded but found no GPU; usable as 'tensorflow'. */
  cpuFallback?: boolean;
}

async function select(requested: Requested | null): Promise<BackendReport> {
  const reasons: BackendReason[] = [];
  const note = (backend: BackendName, a: Attempt) =>
    reasons.push({ backend, available: a.ok, why: a.why, ...(a.fix ? { fix: a.fix } : {}) });

  if (requested) {
    const a = await attempt(requested.name);
    note(requested.name, a);
    if (!a.ok) {
      throw new SubspaceError(
        'BACKEND',
        `Backend '${requested.name}' was asked for (${requested.source}) but cannot be used: ${a.why}${a.fix ? `. Fix: ${a.fix}` : ''}`,
        requested.name,
      );
    }
    for (const other of BACKEND_NAMES) {
      if (other !== requested.name) reasons.push(untried(other, `'${requested.name}' was asked for (${requested.source})`));
    }
    reasons.sort((x, y) => order(x.backend) - order(y.backend));
    return { backend: requested.name, device: a.device!, reasons };
  }

  let chosen: { backend: BackendName; device: string } | null = null;
  const gpu = await attempt('tensorflow-gpu');
  note('tensorflow-gpu', gpu);
  if (gpu.ok) chosen = { backend: 'tensorflow-gpu', device: gpu.device! };

  if (!chosen && gpu.cpuFallback) {
    // libtensorflow is already loaded (from the gpu package); a second copy from
    // tfjs-node must not be loaded into the same process.
    const device = 'CPU (libtensorflow)';
    await tf.setBackend('tensorflow');
    note('tensorflow', { ok: true, device, why: `libtensorflow on the CPU, from ${GPU_PKG} (no usable GPU); ${NODE_PKG} not loaded beside it` });
    chosen = { backend: 'tensorflow', device };
  } else if (!chosen) {
    const cpuTf = await attempt('tensorflow');
    note('tensorflow', cpuTf);
    if (cpuTf.ok) chosen = { backend: 'tensorflow', device: cpuTf.device! };
  } else {
    reasons.push(untried('tensorflow', `'tensorflow-gpu' is in use`));
  }

  for (const name of ['wasm', 'cpu'] as const) {
    if (chosen) {
      reasons.push(untried(name, `'${chosen.backend}' is in use`));
      continue;
    }
    const a = await attempt(name);
    note(name, a);
    if (a.ok) chosen = { backend: name, device: a.device! };
  }
  if (!chosen) {
    throw new SubspaceError('BACKEND', `No tensor backend could be started:\n${formatBackendReport({ backend: 'none', device: 'none', reasons })}`);
  }
  // A library's own setBackend (tfjs-node does one on import) must not win.
  if (!(await tf.setBackend(tfName(chosen.backend)))) {
    throw new SubspaceError('BACKEND', `tf.setBackend('${tfName(chosen.backend)}') failed after the backend had started.`);
  }
  return { backend: chosen.backend, device: chosen.device, reasons };
}

function order(name: string): number {
  const i = (BACKEND_NAMES as readonly string[]).indexOf(name);
  return i < 0 ? BACKEND_NAMES.length : i;
}

function tfName(name: BackendName): string {
  return name === 'tensorflow-gpu' ? 'tensorflow' : name;
}

const PACKAGE_OF: Record<BackendName, string> = {
  'tensorflow-gpu': GPU_PKG,
  tensorflow: NODE_PKG,
  wasm: WASM_PKG,
  cpu: CPU_PKG,
};

/** A backend that was not started: say whether it is installed, without loading it. */
function untried(name: BackendName, because: string): BackendReason {
  const pkg = PACKAGE_OF[name];
  let installed = false;
  try {
    installed = resolvePackageJson(pkg) !== null;
  } catch {
    installed = false;
  }
  if (!installed) return { backend: name, available: false, why: `${pkg} is not installed`, fix: installFix(pkg) };
  return { backend: name, available: true, why: `installed, not started: ${because}` };
}

async function attempt(name: BackendName): Promise<Attempt> {
  try {
    switch (name) {
      case 'tensorflow-gpu':
        return await attemptTensorflow(GPU_PKG, true);
      case 'tensorflow':
        return await attemptTensorflow(NODE_PKG, false);
      case 'wasm':
        return await attemptWasm();
      case 'cpu':
        return await attemptCpu();
    }
  } catch (e) {
    return { ok: false, why: `failed to start: ${firstLine(errorMessage(e))}` };
  }
}

// ---------------------------------------------------------------------------
// tensorflow (tfjs-node, tfjs-node-gpu)
// ---------------------------------------------------------------------------

/** The installed package.json of `pkg` as seen from `from`, or null if not installed. */
function resolvePackageJson(pkg: string, from: NodeJS.Require = requireHere): string | null {
  try {
    return from.resolve(`${pkg}/package.json`);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') return null;
    throw e;
  }
}

function readVersion(pkgJson: string): string {
  try {
    return String((JSON.parse(fs.readFileSync(pkgJson, 'utf8')) as { version?: unknown }).version ?? '?');
  } catch {
    return '?';
  }
}

function realDir(pkgJson: string): string {
  try {
    return fs.realpathSync(path.dirname(pkgJson));
  } catch {
    return path.dirname(pkgJson);
  }
}

/**
 * Which copies of tfjs-core `pkg` (and its @tensorflow/tfjs) would load, versus
 * the engine's. Returns a problem (why + fix) if they differ in version, a note
 * if they differ only in place.
 */
export function checkSameCore(pkg: string, pkgJson: string): { problem?: Attempt; note?: string } {
  const ours = resolvePackageJson(CORE_PKG);
  if (!ours) return {};
  const ourDir = realDir(ours);
  const ourVersion = readVersion(ours);
  const fromPkg = createRequire(pkgJson);
  const seen: Array<{ via: string; json: string }> = [];
  const direct = resolvePackageJson(CORE_PKG, fromPkg);
  if (direct) seen.push({ via: pkg, json: direct });
  const union = resolvePackageJson('@tensorflow/tfjs', fromPkg);
  if (union) {
    const viaUnion = resolvePackageJson(CORE_PKG, createRequire(union));
    if (viaUnion) seen.push({ via: `${pkg} -> @tensorflow/tfjs`, json: viaUnion });
  }
  let note: string | undefined;
  for (const s of seen) {
    const dir = realDir(s.json);
    if (dir === ourDir) continue;
    const version = readVersion(s.json);
    if (version !== ourVersion) {
      return {
        problem: {
          ok: false,
          why: `${s.via} uses ${CORE_PKG} ${version} (${dir}) but the engine uses ${ourVersion} (${ourDir}); backends and kernels registered by one copy do not match the other`,
          fix: `install ${pkg}@${ourVersion} so that npm dedupes ${CORE_PKG} (then check \`npm ls ${CORE_PKG}\` lists one version)`,
        },
      };
    }
    note = `a second copy of ${CORE_PKG} ${version} at ${dir} (same version; tfjs shares its engine through a global, run \`npm dedupe\` to remove it)`;
  }
  return { note };
}

async function attemptTensorflow(pkg: string, wantGpu: boolean): Promise<Attempt> {
  const pkgJson = resolvePackageJson(pkg);
  if (!pkgJson) {
    return { ok: false, why: `${pkg} is not installed`, fix: installFix(pkg) };
  }
  const same = checkSameCore(pkg, pkgJson);
  if (same.problem) return same.problem;

  try {
    await importOptional(pkg);
  } catch (e) {
    if (isNotInstalled(e, pkg)) return { ok: false, why: `${pkg} is not installed`, fix: installFix(pkg) };
    return { ok: false, ...classifyLoadError(pkg, e) };
  }

  if (!tf.findBackendFactory('tensorflow')) {
    return {
      ok: false,
      why: `${pkg} loaded, but its 'tensorflow' backend is not in the engine's registry: it registered in another copy of ${CORE_PKG}`,
      fix: `make ${pkg}, @tensorflow/tfjs and the engine share one ${CORE_PKG} (same version, then \`npm dedupe\`)`,
    };
  }
  const warnings = await setBackendCapturingWarnings('tensorflow');
  if (!warnings.ok) {
    return { ok: false, ...classifyLoadError(pkg, new Error(warnings.text || `tf.setBackend('tensorflow') failed`)) };
  }
  const instance = tf.findBackend('tensorflow') as unknown as { isUsingGpuDevice?: boolean } | undefined;
  const onGpu = instance?.isUsingGpuDevice === true;
  const version = readVersion(pkgJson);
  const extra = same.note ? `; note: ${same.note}` : '';
  if (wantGpu) {
    if (!onGpu) {
      return {
        ok: false,
        cpuFallback: true,
        why: `${pkg} ${version} loaded, but TensorFlow found no usable CUDA GPU (libcudart.so.11.0 / libcudnn.so.8 not found, or no device)${extra}`,
        fix: CUDA_FIX,
      };
    }
    return { ok: true, device: 'CUDA GPU', why: `libtensorflow with CUDA, from ${pkg} ${version}${extra}` };
  }
  return {
    ok: true,
    device: onGpu ? 'CUDA GPU' : 'CPU (libtensorflow)',
    why: `libtensorflow, from ${pkg} ${version}${extra}`,
  };
}

function installFix(pkg: string): string {
  if (pkg === GPU_PKG) {
    return `npm install ${pkg} (Linux x64 with an NVIDIA GPU, CUDA 11.2 and cuDNN 8.1; its install downloads libtensorflow)`;
  }
  if (pkg === NODE_PKG) return `npm install ${pkg} (its install downloads libtensorflow)`;
  return `npm install ${pkg}`;
}

/** Dynamic import of an optional package (a variable specifier keeps tsc from resolving it). */
async function importOptional(pkg: string): Promise<unknown> {
  const specifier: string = pkg;
  return import(specifier);
}

function isNotInstalled(e: unknown, pkg: string): boolean {
  const code = (e as { code?: string }).code;
  const msg = errorMessage(e);
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    (msg.includes(`'${pkg}'`) || msg.includes(`"${pkg}"`)) &&
    !msg.includes(`${pkg}/`)
  );
}

/**
 * Turn an error thrown while loading a tfjs-node package into a reason and a fix.
 * Exported for tests.
 */
export function classifyLoadError(pkg: string, e: unknown): { why: string; fix: string } {
  const msg = errorMessage(e);
  const line = firstLine(msg);
  const rebuild = `npm rebuild ${pkg} (needs network: it downloads libtensorflow), or reinstall it`;
  if (/libcu(dart|blas|blasLt|dnn|fft|rand|solver|sparse)[\w.]*\.so|cudart64|cudnn64|CUDA driver|cuInit/i.test(msg)) {
    return { why: `${pkg} failed to load the CUDA libraries: ${line}`, fix: CUDA_FIX };
  }
  if (/NODE_MODULE_VERSION|compiled against a different Node\.js version/i.test(msg)) {
    return {
      why: `${pkg}'s native addon was built for another Node.js/Electron: ${line}`,
      fix: `rebuild it for this runtime: npm rebuild ${pkg} (inside Electron: npx @electron/rebuild -o ${pkg})`,
    };
  }
  if (/GLIBC(XX)?_[\d.]+' not found/i.test(msg)) {
    return { why: `libtensorflow needs a newer C library than this system has: ${line}`, fix: `use a newer Linux (glibc 2.27+), or use the wasm backend` };
  }
  if (/tfjs_binding\.node|libtensorflow(_framework)?\.(so|dylib)|tensorflow\.dll/i.test(msg)) {
    return { why: `${pkg} is installed but its native part (libtensorflow / tfjs_binding.node) is missing or broken: ${line}`, fix: rebuild };
  }
  if (/The specified module could not be found/i.test(msg)) {
    return {
      why: `${pkg}'s native addon could not load a DLL: ${line}`,
      fix: `install the Microsoft Visual C++ Redistributable (x64), then ${rebuild}`,
    };
  }
  const code = (e as { code?: string }).code;
  if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
    return { why: `${pkg} is installed but one of its dependencies is missing: ${line}`, fix: `npm install (to restore ${pkg}'s dependencies)` };
  }
  return { why: `${pkg} is installed but failed to load: ${line}`, fix: rebuild };
}

function firstLine(s: string): string {
  const l = s.split('\n').find((x) => x.trim() !== '') ?? s;
  return l.trim().slice(0, 400);
}

/**
 * tf.setBackend() reports a failed backend start only with console.warn and a
 * false. Capture those lines so the report can say what went wrong.
 */
async function setBackendCapturingWarnings(name: string): Promise<{ ok: boolean; text: string }> {
  const captured: string[] = [];
  const original = console.warn;
  // tfjs drops its warnings in PROD / IS_TEST mode; lift that while we listen.
  const env = tf.env();
  const silenced = (['PROD', 'IS_TEST'] as const).filter((f) => env.getBool(f));
  for (const f of silenced) env.set(f, false);
  console.warn = (...args: unknown[]) => {
    captured.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(' '));
  };
  let ok = false;
  try {
    ok = await tf.setBackend(name);
  } finally {
    console.warn = original;
    for (const f of silenced) env.set(f, true);
  }
  const text = captured.filter((l) => !/^Initialization of backend/.test(l)).join('\n');
  if (ok && silenced.length === 0) for (const l of captured) original(l);
  return { ok, text };
}

// ---------------------------------------------------------------------------
// wasm
// ---------------------------------------------------------------------------

interface WasmModule {
  setWasmPaths(prefix: string): void;
  getThreadsCount(): number;
  setThreadsCount(n: number): void;
}

/**
 * The wasm thread count asked for: the option, else SUBSPACE_WASM_THREADS, else
 * 'auto'. Auto takes the cores nothing else is using plus the one this process
 * will busy: ⌊cores − 1-minute load average + 1⌋, from 1 to MAX_WASM_THREADS.
 * XNNPACK hands every operation to all its threads and waits for the slowest, so
 * a thread that has to queue for a busy core slows each operation down instead of
 * speeding it up. Measured on 2 cores, GPT-2-small forward 8×64, 2 threads against
 * 1: 1.9× faster at a load of 1, 1.2× faster at 2–6, 1.3× slower at 10 (a 4-layer
 * demo model: faster at 1, 1.3–2× slower from 2 up).
 */
export function wasmThreadCount(option?: number | 'auto'): number {
  return wasmThreadChoice(option).threads;
}

export function wasmThreadChoice(option?: number | 'auto'): { threads: number; why: string } {
  const raw = option ?? process.env.SUBSPACE_WASM_THREADS ?? 'auto';
  if (raw === 'auto' || (typeof raw === 'string' && ['auto', ''].includes(raw.trim().toLowerCase()))) {
    const cores = Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
    const load = os.loadavg()[0] ?? 0;
    const threads = Math.min(MAX_WASM_THREADS, cores, Math.max(1, Math.floor(cores - load + 1)));
    return { threads, why: `auto: ${cores} core${cores === 1 ? '' : 's'}, load average ${load.toFixed(1)}` };
  }
  const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
  if (!Number.isInteger(n) || n < 1 || n > MAX_WASM_THREADS) {
    throw new SubspaceError('BAD_ARGUMENT', `wasm thread count '${raw}' is not valid: use a whole number from 1 to ${MAX_WASM_THREADS}, or auto`, 'SUBSPACE_WASM_THREADS');
  }
  return { threads: n, why: option !== undefined ? 'asked for' : 'SUBSPACE_WASM_THREADS' };
}

/** The folders that may hold the .wasm files, in the order they are tried. */
export function wasmDirCandidates(): Array<{ dir: string; source: string }> {
  const env = process.env.SUBSPACE_WASM_DIR;
  if (env && env.trim() !== '') return [{ dir: path.resolve(env.trim()), source: 'SUBSPACE_WASM_DIR' }];
  const pkgJson = resolvePackageJson(WASM_PKG);
  if (!pkgJson) return [];
  const dist = path.join(path.dirname(pkgJson), 'dist');
  const out: Array<{ dir: string; source: string }> = [];
  // Inside a packaged Electron app the package resolves into app.asar, but the
  // .wasm files must be read from app.asar.unpacked.
  const asar = `app.asar${path.sep}`;
  if (dist.includes(asar)) out.push({ dir: dist.replace(asar, `app.asar.unpacked${path.sep}`), source: 'app.asar.unpacked' });
  out.push({ dir: dist, source: 'the installed package' });
  return out;
}

async function attemptWasm(): Promise<Attempt> {
  if (typeof WebAssembly !== 'object') return { ok: false, why: 'this runtime has no WebAssembly' };
  if (!resolvePackageJson(WASM_PKG)) return { ok: false, why: `${WASM_PKG} is not installed`, fix: `npm install ${WASM_PKG}` };
  const mod = (await importOptional(WASM_PKG)) as WasmModule & { default?: WasmModule };
  const wasm: WasmModule = typeof mod.setWasmPaths === 'function' ? mod : mod.default!;
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  const file = simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm';
  const candidates = wasmDirCandidates();
  const found = candidates.find((c) => fs.existsSync(path.join(c.dir, file)));
  if (!found) {
    return {
      ok: false,
      why: `${file} not found in ${candidates.map((c) => `${c.dir} (${c.source})`).join(', ') || 'any folder'}`,
      fix: `set SUBSPACE_WASM_DIR to the folder holding the tfjs-backend-wasm*.wasm files (in a packaged app: …/app.asar.unpacked/node_modules/${WASM_PKG}/dist)`,
    };
  }
  wasm.setWasmPaths(found.dir.endsWith(path.sep) ? found.dir : found.dir + path.sep);
  const kernels = installWasmKernels();
  let threadNote = `; threads: ${wanted.why}`;
  let started: { ok: boolean; text: string } | undefined;
  if (wanted.threads > 1) {
    const version = readVersion(resolvePackageJson(WASM_PKG)!);
    const files = fs.existsSync(path.join(found.dir, THREADED_WASM_FILE));
    if (!simd || !files || version !== THREADED_WASM_VERSION) {
      threadNote += `; one thread: ${!simd ? 'the threaded build needs SIMD' : !files ? `${THREADED_WASM_FILE} is missing` : `threads in Node are set up for ${WASM_PKG} ${THREADED_WASM_VERSION}, this is ${version}`}`;
    } else {
      started = await startThreadedWasm(wasm, wanted.threads, () => setBackendCapturingWarnings('wasm'));
      if (!started.ok) {
        threadNote += `; threaded start failed (${firstLine(started.text || 'unknown error')}), running one thread`;
        tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
        started = undefined;
      }
    }
  }
  started ??= await setBackendCapturingWarnings('wasm');
  if (!started.ok) {
    return { ok: false, why: `the WebAssembly backend failed to start from ${found.dir}: ${firstLine(started.text || 'unknown error')}` };
  }
  const threads = wasm.getThreadsCount();
  setWasmKernelThreads(threads);
  const fixes = [kernels.batchMatMul && 'matmul', kernels.identity && 'Identity shares data', kernels.unsortedSegmentSumAdded && 'UnsortedSegmentSum'].filter(Boolean);
  return {
    ok: true,
    device: `CPU (WebAssembly${simd ? ', SIMD' : ''}, ${threads} thread${threads === 1 ? '' : 's'})`,
    why: `XNNPACK via WebAssembly; .wasm files from ${found.dir} (${found.source})${fixes.length ? `; Subspace kernel fixes: ${fixes.join(', ')}` : ''}${threadNote}`,
  };
}

// ---------------------------------------------------------------------------
// cpu
// ---------------------------------------------------------------------------

async function attemptCpu(): Promise<Attempt> {
  await importOptional(CPU_PKG);
  if (!(await tf.setBackend('cpu'))) return { ok: false, why: `tf.setBackend('cpu') failed` };
  // The cpu backend prints an "install tfjs-node" banner on first use; the
  // report above already says that, with the reason.
  const instance = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | undefined;
  if (instance && 'firstUse' in instance) instance.firstUse = false;
  return { ok: true, device: 'CPU (JavaScript)', why: 'plain JavaScript kernels (slowest)' };
}
