import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The engine's entry to tfjs-core: it also registers the gradients (needed by tf.grad).
import * as tf from '../../src-main/engine/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { SubspaceError } from '../../src-main/engine/errors.js';
import {
  BACKEND_NAMES,
  backendReport,
  classifyLoadError,
  formatBackendReport,
  initBackend,
  parseBackendName,
  resetBackendForTests,
  setWasmMatMulRoute,
  wasmKernelStatus,
  wasmMatMulCounts,
} from '../../src-main/engine/backend/index.js';
import { size, values } from '../helpers/values.js';

const requireHere = createRequire(import.meta.url);
function installed(pkg: string): boolean {
  try {
    requireHere.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Run f on `backend` and return its result's values (and shape, in .shape). */
async function on(backend: string, f: () => tf.Tensor): Promise<Float32Array & { shape: number[] }> {
  await tf.setBackend(backend);
  const t = tf.tidy(f);
  const out = Object.assign(t.dataSync() as Float32Array, { shape: t.shape });
  t.dispose();
  return out;
}

describe('backend selection', () => {
  const savedEnv = process.env.SUBSPACE_BACKEND;
  beforeAll(() => {
    delete process.env.SUBSPACE_BACKEND;
    resetBackendForTests();
  });
  afterAll(() => {
    if (savedEnv === undefined) delete process.env.SUBSPACE_BACKEND;
    else process.env.SUBSPACE_BACKEND = savedEnv;
    resetBackendForTests();
  });

  it('rejects an unknown name and lists the valid ones', async () => {
    const err = await initBackend({ prefer: 'gpu' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SubspaceError);
    for (const name of BACKEND_NAMES) expect((err as Error).message).toContain(name);

    process.env.SUBSPACE_BACKEND = 'cuda';
    try {
      const envErr = await initBackend().catch((e: unknown) => e);
      expect(envErr).toBeInstanceOf(SubspaceError);
      expect((envErr as Error).message).toContain('SUBSPACE_BACKEND');
      expect((envErr as Error).message).toContain('tensorflow-gpu, tensorflow, wasm, cpu');
    } finally {
      delete process.env.SUBSPACE_BACKEND;
    }
    expect(backendReport()).toBeUndefined();
    expect(parseBackendName(' WASM ')).toBe('wasm');
    expect(parseBackendName('auto')).toBeNull();
  });

  it('forces cpu and says why the tensorflow backends are not used', async () => {
    const report = await initBackend({ prefer: 'cpu' });
    expect(report.backend).toBe('cpu');
    expect(report.device).toBe('CPU (JavaScript)');
    expect(tf.getBackend()).toBe('cpu');
    expect(report.reasons.map((r) => r.backend)).toEqual([...BACKEND_NAMES]);
    for (const [name, pkg] of [
      ['tensorflow-gpu', '@tensorflow/tfjs-node-gpu'],
      ['tensorflow', '@tensorflow/tfjs-node'],
    ] as const) {
      const r = report.reasons.find((x) => x.backend === name)!;
      if (installed(pkg)) {
        expect(r.why).toContain('not started');
      } else {
        expect(r.available).toBe(false);
        expect(r.why).toBe(`${pkg} is not installed`);
        expect(r.fix).toContain(`npm install ${pkg}`);
      }
    }
    const text = formatBackendReport(report);
    expect(text.split('\n')[0]).toBe('Backend: cpu on CPU (JavaScript)');
    expect(text).toContain('tensorflow-gpu');
    expect(text).toMatch(/cpu\s+in use/);
  });

  it('is idempotent and refuses to switch once chosen', async () => {
    const first = backendReport();
    expect(first).toBeDefined();
    expect(await initBackend()).toBe(first);
    expect(await initBackend({ prefer: 'cpu' })).toBe(first);
    const [a, b] = await Promise.all([initBackend(), initBackend()]);
    expect(a).toBe(first);
    expect(b).toBe(first);
    const err = await initBackend({ prefer: 'wasm' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SubspaceError);
    expect((err as SubspaceError).code).toBe('BACKEND');
  });

  it('explains load errors of the tfjs-node packages', () => {
    const cuda = classifyLoadError(
      '@tensorflow/tfjs-node-gpu',
      Object.assign(new Error('libcudart.so.11.0: cannot open shared object file: No such file or directory'), {
        code: 'ERR_DLOPEN_FAILED',
      }),
    );
    expect(cuda.why).toContain('libcudart.so.11.0');
    expect(cuda.fix).toContain('install CUDA 11.2 and cuDNN 8.1');
    expect(cuda.fix).toContain('@tensorflow/tfjs-node');

    const binding = classifyLoadError(
      '@tensorflow/tfjs-node',
      Object.assign(new Error("Cannot find module '/app/node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node'"), {
        code: 'MODULE_NOT_FOUND',
      }),
    );
    expect(binding.why).toContain('native part');
    expect(binding.fix).toContain('npm rebuild @tensorflow/tfjs-node');

    const dep = classifyLoadError(
      '@tensorflow/tfjs-node',
      Object.assign(new Error("Cannot find module '@tensorflow/tfjs'"), { code: 'MODULE_NOT_FOUND' }),
    );
    expect(dep.why).toContain('dependencies is missing');

    const abi = classifyLoadError('@tensorflow/tfjs-node', new Error('was compiled against a different Node.js version using NODE_MODULE_VERSION 115'));
    expect(abi.fix).toContain('electron');
  });
});

describe('wasm backend', () => {
  beforeAll(async () => {
    resetBackendForTests();
    const report = await initBackend({ prefer: 'wasm' });
    expect(report.backend).toBe('wasm');
    expect(report.device).toMatch(/^CPU \(WebAssembly(, SIMD)?, \d+ threads?\)$/);
    expect(tf.getBackend()).toBe('wasm');
  });
  afterAll(() => {
    setWasmMatMulRoute('auto');
    resetBackendForTests();
  });

  it('has the replacement kernels installed by initBackend', () => {
    const status = wasmKernelStatus();
    expect(status.installed).toBe(true);
    expect(status.batchMatMul).toBe(true);
    expect(status.fusedMatMul).toBe(true);
    // tfjs-backend-wasm 4.22 has no UnsortedSegmentSum of its own.
    expect(status.unsortedSegmentSumAdded).toBe(true);
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeDefined();
  });

  // [a shape, b shape] before transposition (a: [..., M, K], b: [..., K, N]).
  const cases: Array<[number[], number[]]> = [
    [[5, 7], [7, 3]],
    [[1, 7], [7, 6]],
    [[5, 7], [7, 1]],
    [[3, 5, 7], [3, 7, 4]],
    [[1, 5, 7], [3, 7, 4]], // broadcast a's batch
    [[3, 5, 7], [1, 7, 4]], // broadcast b's batch
    [[3, 5, 7], [7, 4]], // rank 3 x rank 2 (folded into rows)
    [[5, 7], [3, 7, 4]], // rank 2 x rank 3
    [[2, 3, 5, 7], [2, 3, 7, 4]],
    [[2, 3, 5, 7], [1, 1, 7, 4]],
    [[1, 3, 5, 7], [3, 7, 4]], // equal batches up to leading 1s
    [[2, 3, 5, 7], [3, 7, 4]], // [2,3] x [3]: left to the stock kernel
  ];
  const flagCombos: Array<[boolean, boolean]> = [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ];
  const swap = (s: number[]) => [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]];

  for (const routeName of ['xnnpack', 'auto', 'stock'] as const) {
    it(`matMul with every transposeA/transposeB equals cpu (route ${routeName})`, async () => {
      setWasmMatMulRoute(routeName);
      const before = wasmMatMulCounts();
      try {
        for (const [aShape, bShape] of cases) {
          for (const [tA, tB] of flagCombos) {
            const aS = tA ? swap(aShape) : aShape;
            const bS = tB ? swap(bShape) : bShape;
            const av = values(size(aS), 1);
            const bv = values(size(bS), 2);
            const f = () => tf.matMul(tf.tensor(av, aS), tf.tensor(bv, bS), tA, tB);
            const want = await on('cpu', f);
            const got = await on('wasm', f);
            const what = `${aS} x ${bS} tA=${tA} tB=${tB}`;
            expect(got.shape, what).toEqual(want.shape);
            expect(maxAbsDiff(got, want), what).toBeLessThan(1e-4);
          }
        }
      } finally {
        setWasmMatMulRoute('auto');
      }
      const after = wasmMatMulCounts();
      if (routeName === 'xnnpack') {
        expect(after.folded).toBeGreaterThan(before.folded);
        expect(after.perBatch).toBeGreaterThan(before.perBatch);
      } else if (routeName === 'stock') {
        expect(after.folded).toBe(before.folded);
        expect(after.perBatch).toBe(before.perBatch);
      }
    });
  }

  it('picks the XNNPACK route by itself for large shapes and matches cpu', async () => {
    setWasmMatMulRoute('auto');
    const cases2: Array<[number[], number[], boolean, boolean]> = [
      [[64, 96], [80, 96], false, true],
      [[96, 64], [96, 80], true, false],
      [[4, 32, 96], [96, 80], false, false],
      [[6, 40, 32], [6, 40, 32], false, true],
    ];
    for (const [aS, bS, tA, tB] of cases2) {
      const av = values(size(aS), 3);
      const bv = values(size(bS), 4);
      const f = () => tf.matMul(tf.tensor(av, aS), tf.tensor(bv, bS), tA, tB);
      const want = await on('cpu', f);
      const before = wasmMatMulCounts();
      const got = await on('wasm', f);
      const after = wasmMatMulCounts();
      expect(after.folded + after.perBatch, `${aS} x ${bS} took the XNNPACK route`).toBe(before.folded + before.perBatch + 1);
      expect(maxAbsDiff(got, want), `${aS} x ${bS}`).toBeLessThan(1e-4);
    }
    // A single row against a large transposed matrix never transposes b (that would
    // cost more than the product): it is computed as (b·aᵀ)ᵀ, moving only the row.
    const before = wasmMatMulCounts();
    const got = await on('wasm', () => tf.matMul(tf.ones([1, 64]), tf.ones([2000, 64]), false, true));
    const after = wasmMatMulCounts();
    expect(after.swapped).toBe(before.swapped + 1);
    expect(after.folded + after.perBatch).toBe(before.folded + before.perBatch);
    expect(got[0]).toBe(64);
  });

  it('fused matMul (bias, activation, transposes, batches) equals cpu', async () => {
    // The stock wasm _FusedMatMul adds bias[N-1] to every row after the first
    // whenever a transpose flag is set or the batch is > 1.
    for (const routeName of ['auto', 'xnnpack', 'stock'] as const) {
      setWasmMatMulRoute(routeName);
      for (const batched of [false, true]) {
        for (const [tA, tB] of flagCombos) {
          for (const activation of ['linear', 'relu'] as const) {
            const M = 5;
            const K = 7;
            const N = 4;
            const aS = batched ? (tA ? [3, K, M] : [3, M, K]) : tA ? [K, M] : [M, K];
            const bS = tB ? [N, K] : [K, N];
            const av = values(size(aS), 5);
            const bv = values(size(bS), 6);
            const bias = values(N, 7);
            const f = () =>
              tf.fused.matMul({
                a: tf.tensor(av, aS) as tf.Tensor as tf.Tensor2D,
                b: tf.tensor(bv, bS) as tf.Tensor as tf.Tensor2D,
                transposeA: tA,
                transposeB: tB,
                bias: tf.tensor1d(bias),
                activation,
              });
            const want = await on('cpu', f);
            const got = await on('wasm', f);
            expect(maxAbsDiff(got, want), `${routeName} ${aS} x ${bS} tA=${tA} tB=${tB} ${activation}`).toBeLessThan(1e-4);
          }
        }
      }
    }
    setWasmMatMulRoute('auto');
  });

  it('leaks no tensors or wasm buffers', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const a3 = tf.tensor(values(3 * 5 * 7, 1), [3, 7, 5]); // used as [3,5,7]^T
    const b3 = tf.tensor(values(3 * 7 * 4, 2), [3, 4, 7]); // used as [3,7,4]^T
    const a1 = tf.tensor(values(5 * 7, 3), [1, 7, 5]);
    const b2 = tf.tensor(values(7 * 4, 4), [4, 7]);
    const bias = tf.tensor1d(values(4, 5));
    for (const routeName of ['xnnpack', 'auto', 'stock'] as const) {
      setWasmMatMulRoute(routeName);
      const tensorsBefore = tf.memory().numTensors;
      const buffersBefore = backend.numDataIds();
      const products = [
        () => tf.matMul(a3, b3, true, true), // per-batch route
        () => tf.matMul(a1, b3, true, true), // broadcast a
        () => tf.matMul(a3, b2, true, true), // folded into rows
        () => tf.matMul(b2, b2, false, true), // 2-D
        () => tf.fused.matMul({ a: a3 as tf.Tensor3D, b: b3 as tf.Tensor3D, transposeA: true, transposeB: true, bias, activation: 'relu' }),
      ];
      for (const p of products) {
        const out = p();
        out.dataSync();
        // exactly one new tensor and one new wasm buffer: the result
        expect(tf.memory().numTensors - tensorsBefore).toBe(1);
        expect(backend.numDataIds() - buffersBefore).toBe(1);
        out.dispose();
        expect(tf.memory().numTensors).toBe(tensorsBefore);
        expect(backend.numDataIds()).toBe(buffersBefore);
      }
    }
    tf.dispose([a3, b3, a1, b2, bias]);
    setWasmMatMulRoute('auto');
  });

  it('survives the same weights multiplied under two shapes (reshape shares the buffer)', async () => {
    // Stock tfjs-backend-wasm 4.22 caches its XNNPACK operator by buffer id
    // and aborts the process here.
    const w = values(8 * 12, 12);
    const x = values(8, 13);
    const y = values(3 * 12, 14);
    const z = values(2 * 3 * 12, 15);
    const f = () => {
      const W = tf.tensor(w, [8, 12]);
      const first = tf.matMul(tf.tensor(x, [1, 8]), W);
      const second = tf.matMul(tf.tensor(y, [3, 12]), tf.reshape(W, [12, 8]));
      const third = tf.matMul(tf.tensor(z, [2, 3, 12]), tf.reshape(W, [12, 8])); // folded (xnnpack route)
      const fourth = tf.matMul(tf.tensor(z, [6, 12]), tf.reshape(W, [12, 8]));
      return tf.concat([first, second, third, fourth].map((t) => tf.reshape(t, [-1])));
    };
    const want = await on('cpu', f);
    for (const routeName of ['auto', 'xnnpack'] as const) {
      setWasmMatMulRoute(routeName);
      const got = await on('wasm', f);
      expect(maxAbsDiff(got, want), routeName).toBeLessThan(1e-4);
    }
    setWasmMatMulRoute('auto');
  });

  it('unsortedSegmentSum on wasm equals cpu (ids repeated, negative, out of range)', async () => {
    const x = values(6 * 3, 8);
    const ids = [2, 0, 2, -1, 5, 1];
    const f = () => tf.unsortedSegmentSum(tf.tensor(x, [6, 3]), tf.tensor1d(ids, 'int32'), 4);
    const want = await on('cpu', f);
    const got = await on('wasm', f);
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-6);
    const fi = () => tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3, 4], 'int32'), tf.tensor1d([1, 1, 0, 3], 'int32'), 4);
    expect(Array.from(await on('wasm', fi))).toEqual([3, 3, 0, 4]);
  });

  it('gradient through gather (embedding lookup) works on wasm and equals cpu', async () => {
    const V = 10;
    const D = 6;
    const table = values(V * D, 9);
    const weights = values(7 * D, 10);
    const idx = [3, 1, 3, 9, 0, 3, 7]; // repeats must accumulate
    const lossGrad = () =>
      tf.grad((emb: tf.Tensor) => tf.sum(tf.mul(tf.gather(emb, tf.tensor1d(idx, 'int32')), tf.tensor(weights, [7, D]))))(
        tf.tensor(table, [V, D]),
      );
    const want = await on('cpu', lossGrad);
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const got = tf.tidy(lossGrad);
    expect(got.shape).toEqual([V, D]);
    expect(maxAbsDiff(got.dataSync(), want)).toBeLessThan(1e-5);
    got.dispose();
    expect(tf.memory().numTensors).toBe(before);

    // gather along axis 1 (the gradient transposes around the segment sum)
    const g1 = () =>
      tf.grad((m: tf.Tensor) => tf.sum(tf.square(tf.gather(m, tf.tensor1d([2, 0, 2], 'int32'), 1))))(tf.tensor(values(4 * 5, 11), [4, 5]));
    const want1 = await on('cpu', g1);
    const got1 = await on('wasm', g1);
    expect(maxAbsDiff(got1, want1)).toBeLessThan(1e-5);
  });
});
