import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../src-main/engine/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend, resetBackendForTests, setWasmMatMulRoute, wasmKernelStatus, wasmMatMulCounts } from '../../src-main/engine/backend/index.js';
import { size, values } from '../helpers/values.js';

async function on(backend: string, f: () => tf.Tensor): Promise<{ values: Float32Array; shape: number[] }> {
  await tf.setBackend(backend);
  const t = tf.tidy(f);
  const out = { values: t.dataSync() as Float32Array, shape: t.shape };
  t.dispose();
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('wasm swapped matmul and shared Identity', () => {
  beforeAll(async () => {
    resetBackendForTests();
    await initBackend({ prefer: 'wasm' });
  });
  afterAll(async () => {
    setWasmMatMulRoute('auto');
    resetBackendForTests();
    await tf.setBackend('cpu');
  });

  it('has Identity replaced', () => {
    expect(wasmKernelStatus().identity).toBe(true);
  });

  // [a as stored, b as stored (always [N, K], transposeB), transposeA]
  const cases: Array<[number[], number[], boolean]> = [
    [[5, 7], [3, 7], false],
    [[1, 7], [9, 7], false],
    [[7, 5], [3, 7], true], // a stored [K, M]
    [[3, 5, 7], [4, 7], false], // batched a, folded into 15 rows
    [[2, 3, 5, 7], [4, 7], false],
    [[1, 6, 7], [1, 4, 7], false], // b with a batch of 1
  ];

  it('computes op(A)·Bᵀ as (B·op(A)ᵀ)ᵀ and equals cpu', async () => {
    setWasmMatMulRoute('swapped');
    try {
      for (const [aS, bS, tA] of cases) {
        const av = values(size(aS), 1);
        const bv = values(size(bS), 2);
        const f = () => tf.matMul(tf.tensor(av, aS), tf.tensor(bv, bS), tA, true);
        const want = await on('cpu', f);
        const before = wasmMatMulCounts().swapped;
        const got = await on('wasm', f);
        expect(wasmMatMulCounts().swapped, `${aS} x ${bS}ᵀ took the swapped product`).toBe(before + 1);
        expect(got.shape).toEqual(want.shape);
        expect(maxAbsDiff(got.values, want.values), `${aS} x ${bS}ᵀ tA=${tA}`).toBeLessThan(1e-4);
      }
      // Not applicable (b batched per slice, or a bias per column): other routes, same answers.
      const bias = values(4, 3);
      const fused = () =>
        tf.fused.matMul({ a: tf.tensor(values(35, 4), [5, 7]) as tf.Tensor2D, b: tf.tensor(values(28, 5), [4, 7]) as tf.Tensor2D, transposeB: true, bias: tf.tensor1d(bias) });
      const before = wasmMatMulCounts().swapped;
      const got = await on('wasm', fused);
      expect(wasmMatMulCounts().swapped).toBe(before);
      expect(maxAbsDiff(got.values, (await on('cpu', fused)).values)).toBeLessThan(1e-4);
    } finally {
      setWasmMatMulRoute('auto');
    }
  });

  it('takes the swapped product by itself for a few rows against a large stored-transposed matrix', async () => {
    setWasmMatMulRoute('auto');
    // dlogits · Wᵀ with W stored [d, V] (the backward pass of an unembedding), and dy · Wᵀ.
    for (const [aS, bS] of [
      [[8, 3000], [96, 3000]],
      [[16, 768], [512, 768]],
    ]) {
      const av = values(size(aS), 6);
      const bv = values(size(bS), 7);
      const f = () => tf.matMul(tf.tensor(av, aS), tf.tensor(bv, bS), false, true);
      const want = await on('cpu', f);
      const before = wasmMatMulCounts().swapped;
      const got = await on('wasm', f);
      expect(wasmMatMulCounts().swapped, `${aS} x ${bS}ᵀ`).toBe(before + 1);
      expect(maxAbsDiff(got.values, want.values)).toBeLessThan(1e-3);
    }
  });

  it('leaves no wasm buffers behind on the swapped route', async () => {
    await tf.setBackend('wasm');
    setWasmMatMulRoute('swapped');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const a = tf.tensor(values(3 * 5 * 7, 1), [3, 5, 7]);
    const b = tf.tensor(values(4 * 7, 2), [4, 7]);
    const buffers = backend.numDataIds();
    const out = tf.matMul(a, b, false, true);
    out.dataSync();
    expect(backend.numDataIds() - buffers).toBe(1);
    out.dispose();
    expect(backend.numDataIds()).toBe(buffers);
    tf.dispose([a, b]);
    setWasmMatMulRoute('auto');
  });

  it('survives a tensor used as stored-transposed a, then reshaped into another b', async () => {
    // The swapped product hands a stored [K, M] straight to XNNPACK as its b, whose
    // packing is cached by tensor id; the same buffer under another shape must not hit it.
    await tf.setBackend('wasm');
    setWasmMatMulRoute('swapped');
    try {
      const wv = values(35, 8);
      const bv = values(21, 9);
      const f = () => {
        const w = tf.tensor(wv, [7, 5]);
        const first = tf.matMul(w, tf.tensor(bv, [3, 7]), true, true); // [5, 3]
        const second = tf.matMul(tf.ones([2, 5]), tf.reshape(w, [5, 7])); // w's buffer as a [5, 7] b
        return tf.concat([tf.reshape(first, [-1]), tf.reshape(second, [-1])]);
      };
      const got = await on('wasm', f);
      const want = await on('cpu', f);
      expect(maxAbsDiff(got.values, want.values)).toBeLessThan(1e-4);
    } finally {
      setWasmMatMulRoute('auto');
    }
  });

  it('clones by sharing the data, which lives until the last holder lets go', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const buffers = backend.numDataIds();
    const x = tf.tensor([1, 2, 3, 4], [2, 2]);
    const y = tf.clone(x);
    expect(y.dataId).toBe(x.dataId);
    expect(backend.numDataIds()).toBe(buffers + 1);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4]);
    y.dispose();
    expect(backend.numDataIds()).toBe(buffers);
    // Gradients still flow through the tape's saved inputs (which are clones).
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(v, v)))(tf.tensor([1, -2, 3]));
    expect(Array.from(g.dataSync())).toEqual([2, -4, 6]);
    g.dispose();
  });
});
