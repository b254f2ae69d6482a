/**
 * The raw matmul ceiling of the tensor backend, in GFLOP/s.
 *
 *   npx tsx bench/matmul.ts            (backend: SUBSPACE_BACKEND, else the best available)
 *   SUBSPACE_BACKEND=wasm npx tsx bench/matmul.ts
 *
 * For each shape [M,K,N] it times a x b with a:[M,K], b:[K,N] (plain), and
 * a x b^T with b stored as [N,K] (transposeB, as for torch-layout weights and for
 * attention scores). On wasm the transposed product is timed twice in the same
 * run: with the stock tfjs-backend-wasm kernels ("before") and with Subspace's
 * replacement kernels ("after"). Every run ends with dataSync(), so the figure
 * includes the whole computation; the median run is reported after warm-up.
 */
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src-main/engine/backend/index.js';
import { installWasmKernels, uninstallWasmKernels, wasmKernelStatus } from '../src-main/engine/backend/wasm-kernels.js';

export interface BenchMatmulOptions {
  /** [M, K, N]; default [512, 768, 768]. */
  shape?: [number, number, number];
  /** Backend to start if none is running yet (see initBackend); default: auto / SUBSPACE_BACKEND. */
  backend?: string;
  /** Untimed runs first (default 1). */
  warmup?: number;
  /** Timed runs: at least this many (default 3) ... */
  minRuns?: number;
  /** ... and until this much time has passed (default 1000 ms), at most maxRuns (default 20). */
  minMs?: number;
  maxRuns?: number;
}

export interface BenchMatmulResult {
  backend: string;
  shape: [number, number, number];
  /** Plain a x b. */
  gflops: number;
  msPerRun: number;
  /** a x b^T. gflopsBefore: stock wasm kernels (only measured on wasm). */
  transposed: { gflopsBefore?: number; gflopsAfter: number };
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median milliseconds of f(), which must return a tensor; forces completion with dataSync(). */
export function timeRuns(f: () => tf.Tensor, opts: BenchMatmulOptions = {}): number {
  const warmup = opts.warmup ?? 1;
  const minRuns = opts.minRuns ?? 3;
  const minMs = opts.minMs ?? 1000;
  const maxRuns = opts.maxRuns ?? 20;
  for (let i = 0; i < warmup; i++) {
    const t = f();
    t.dataSync();
    t.dispose();
  }
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minRuns || (performance.now() - start < minMs && times.length < maxRuns)) {
    const t0 = performance.now();
    const t = f();
    t.dataSync();
    times.push(performance.now() - t0);
    t.dispose();
  }
  return median(times);
}

export async function benchMatmul(opts: BenchMatmulOptions = {}): Promise<BenchMatmulResult> {
  await initBackend(opts.backend ? { prefer: opts.backend } : {});
  const backend = tf.getBackend();
  const [M, K, N] = opts.shape ?? [512, 768, 768];
  const flops = 2 * M * K * N;
  const gf = (ms: number) => flops / (ms * 1e6);
  const a = tf.randomNormal([M, K], 0, 1, 'float32', 1);
  const b = tf.randomNormal([K, N], 0, 1, 'float32', 2);
  const bt = tf.randomNormal([N, K], 0, 1, 'float32', 3);
  try {
    const plainMs = timeRuns(() => tf.matMul(a, b), opts);
    const transposedRun = () => timeRuns(() => tf.matMul(a, bt, false, true), opts);
    let gflopsBefore: number | undefined;
    let gflopsAfter: number;
    if (backend === 'wasm') {
      const wasInstalled = wasmKernelStatus().installed;
      uninstallWasmKernels();
      try {
        gflopsBefore = gf(transposedRun());
      } finally {
        installWasmKernels();
      }
      gflopsAfter = gf(transposedRun());
      if (!wasInstalled) uninstallWasmKernels();
    } else {
      gflopsAfter = gf(transposedRun());
    }
    return {
      backend,
      shape: [M, K, N],
      gflops: gf(plainMs),
      msPerRun: plainMs,
      transposed: gflopsBefore === undefined ? { gflopsAfter } : { gflopsBefore, gflopsAfter },
    };
  } finally {
    tf.dispose([a, b, bt]);
  }
}

export interface BenchCaseResult {
  name: string;
  gflopsBefore?: number;
  gflopsAfter: number;
}

/**
 * Other matmul patterns a transformer uses (wasm only has a before/after):
 * activations x weights with a batch dim, attention scores q k^T, attention
 * output p v, and the backward-pass products with transposeA.
 */
export async function benchMatmulCases(opts: BenchMatmulOptions = {}): Promise<BenchCaseResult[]> {
  await initBackend(opts.backend ? { prefer: opts.backend } : {});
  const onWasm = tf.getBackend() === 'wasm';
  const cases: Array<{ name: string; a: number[]; b: number[]; tA?: boolean; tB?: boolean }> = [
    { name: '[4,128,768] x [768,768]', a: [4, 128, 768], b: [768, 768] },
    { name: '[12,128,64] x [12,128,64]^T (q k^T)', a: [12, 128, 64], b: [12, 128, 64], tB: true },
    { name: '[12,512,64] x [12,512,64]^T (q k^T)', a: [12, 512, 64], b: [12, 512, 64], tB: true },
    { name: '[12,512,512] x [12,512,64] (p v)', a: [12, 512, 512], b: [12, 512, 64] },
    { name: '[512,768]^T x [512,3072] (dW)', a: [512, 768], b: [512, 3072], tA: true },
    { name: '[1,768] x [50257,768]^T (1-row logits)', a: [1, 768], b: [50257, 768], tB: true },
  ];
  const out: BenchCaseResult[] = [];
  for (const c of cases) {
    const a = tf.randomNormal(c.a, 0, 1, 'float32', 1);
    const b = tf.randomNormal(c.b, 0, 1, 'float32', 2);
    const run = () => tf.matMul(a, b, c.tA ?? false, c.tB ?? false);
    const probe = run();
    const rows = probe.shape;
    probe.dispose();
    const K = c.tA ? c.a[c.a.length - 2] : c.a[c.a.length - 1];
    const flops = 2 * rows.reduce((x, y) => x * y, 1) * K;
    const gf = (ms: number) => flops / (ms * 1e6);
    let gflopsBefore: number | undefined;
    if (onWasm) {
      const wasInstalled = wasmKernelStatus().installed;
      uninstallWasmKernels();
      try {
        gflopsBefore = gf(timeRuns(run, opts));
      } finally {
        installWasmKernels();
      }
      out.push({ name: c.name, gflopsBefore, gflopsAfter: gf(timeRuns(run, opts)) });
      if (!wasInstalled) uninstallWasmKernels();
    } else {
      out.push({ name: c.name, gflopsAfter: gf(timeRuns(run, opts)) });
    }
    tf.dispose([a, b]);
  }
  return out;
}

async function main(): Promise<void> {
  const report = await initBackend();
  console.log(`backend: ${report.backend} on ${report.device}`);
  const f = (x: number | undefined) => (x === undefined ? '   -  ' : x.toFixed(2).padStart(6));
  for (const shape of [
    [512, 768, 768],
    [512, 768, 3072],
  ] as Array<[number, number, number]>) {
    const r = await benchMatmul({ shape });
    const t = r.transposed;
    console.log(
      `${shape.join('x').padEnd(12)} plain ${f(r.gflops)} GFLOP/s (${r.msPerRun.toFixed(1)} ms/run)   a x b^T: ` +
        (t.gflopsBefore === undefined
          ? `${f(t.gflopsAfter)} GFLOP/s`
          : `stock ${f(t.gflopsBefore)} -> fixed ${f(t.gflopsAfter)} GFLOP/s`),
    );
  }
  if (!process.argv.includes('--quick')) {
    console.log(report.backend === 'wasm' ? 'other shapes (GFLOP/s, stock -> fixed):' : 'other shapes (GFLOP/s):');
    for (const c of await benchMatmulCases()) console.log(`  ${c.name.padEnd(40)} ${f(c.gflopsBefore)} -> ${f(c.gflopsAfter)}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
