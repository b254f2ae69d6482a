import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../src-main/engine/tf.js';
import { activate } from '../../src-main/engine/model/ops.js';
import { maxAbsDiff, useTestBackend } from '../helpers/backend.js';

/** GPT-2's gelu_new as its definition writes it, in double precision: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
const geluNew = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
const geluNewGrad = (x: number) => {
  const k = Math.sqrt(2 / Math.PI);
  const t = Math.tanh(k * (x + 0.044715 * x ** 3));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x);
};

describe('activations', () => {
  beforeAll(async () => {
    await useTestBackend();
  });

  const xs = Array.from({ length: 401 }, (_, i) => -12 + i * 0.06);

  it('gelu_new equals its tanh definition, values and gradient', () => {
    const x = tf.tensor1d(xs);
    const y = activate(x, 'gelu_new');
    const g = tf.grad((t: tf.Tensor) => tf.sum(activate(t, 'gelu_new')))(x);
    expect(maxAbsDiff(y.dataSync(), xs.map(geluNew))).toBeLessThan(2e-6);
    expect(maxAbsDiff(g.dataSync(), xs.map(geluNewGrad))).toBeLessThan(2e-6);
    tf.dispose([x, y, g]);
  });

  it("gelu_new's written-out gradient holds inside a tidy on the tape and for a [B, T, d] batch", () => {
    const shape = [2, 3, 67];
    const vals = Float32Array.from({ length: 2 * 3 * 67 }, (_, i) => xs[(i * 7) % xs.length]);
    const x = tf.variable(tf.tensor(vals, shape), true, 'gelu_grad_probe');
    // As in the model's forward: the activation runs in a tidy inside the function being differentiated.
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.tidy(() => activate(x, 'gelu_new')), 3)) as tf.Scalar, [x]);
    const want = Array.from(vals, (v) => 3 * geluNewGrad(v));
    expect(maxAbsDiff(grads[x.name].dataSync(), want)).toBeLessThan(6e-6);
    expect(value.dataSync()[0]).toBeCloseTo(3 * Array.from(vals, geluNew).reduce((a, b) => a + b, 0), 1);
    tf.dispose([x, value, ...Object.values(grads)]);
  });

  it('gelu (erf) and silu equal their definitions', () => {
    const x = tf.tensor1d(xs);
    const silu = activate(x, 'silu');
    expect(maxAbsDiff(silu.dataSync(), xs.map((v) => v / (1 + Math.exp(-v))))).toBeLessThan(2e-6);
    const gelu = activate(x, 'gelu');
    // Φ(x) through erf; tfjs's erf is a polynomial approximation (|error| < 1.5e-7 · scale).
    const erf = (z: number) => {
      const s = Math.sign(z);
      const a = Math.abs(z);
      const t = 1 / (1 + 0.5 * a);
      const r = t * Math.exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
      return s * (1 - r);
    };
    expect(maxAbsDiff(gelu.dataSync(), xs.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2))))).toBeLessThan(1e-5);
    tf.dispose([x, silu, gelu]);
  });
});
