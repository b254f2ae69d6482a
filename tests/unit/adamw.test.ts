/**
 * AdamW against the update written out by hand (float64), on both of its paths: in memory for
 * small parameter sets and with kernels for large ones.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../src-main/engine/tf.js';
import { AdamW, SMALL_PARAMETERS } from '../../src-main/engine/train/optim.js';
import { seededRandom } from '../../src-main/engine/random.js';
import { useTestBackend } from '../helpers/backend.js';

beforeAll(async () => {
  await useTestBackend();
});

interface Hand {
  w: number[][];
  m: number[][];
  v: number[][];
}

/** Three steps by hand: global-norm clipping, bias correction, decoupled weight decay. */
function byHand(w0: number[][], grads: number[][][], lrs: number[], o: { b1: number; b2: number; eps: number; wd: number; clip?: number }): { hand: Hand; norms: number[] } {
  const h: Hand = { w: w0.map((a) => [...a]), m: w0.map((a) => a.map(() => 0)), v: w0.map((a) => a.map(() => 0)) };
  const norms: number[] = [];
  grads.forEach((gs, t) => {
    const norm = Math.sqrt(gs.flat().reduce((a, x) => a + x * x, 0));
    norms.push(norm);
    const scale = o.clip !== undefined && norm > o.clip ? o.clip / (norm + 1e-6) : 1;
    const bc1 = 1 - o.b1 ** (t + 1);
    const bc2 = 1 - o.b2 ** (t + 1);
    gs.forEach((g, i) =>
      g.forEach((x, j) => {
        const gj = x * scale;
        h.m[i][j] = o.b1 * h.m[i][j] + (1 - o.b1) * gj;
        h.v[i][j] = o.b2 * h.v[i][j] + (1 - o.b2) * gj * gj;
        h.w[i][j] = h.w[i][j] * (1 - lrs[t] * o.wd) - (lrs[t] * (h.m[i][j] / bc1)) / (Math.sqrt(h.v[i][j] / bc2) + o.eps);
      }),
    );
  });
  return { hand: h, norms };
}

function check(sizes: number[], clip: number | undefined) {
  const rand = seededRandom(sizes.reduce((a, b) => a + b, 0));
  const w0 = sizes.map((n) => Array.from({ length: n }, () => rand() - 0.5));
  const grads = [0, 1, 2].map(() => sizes.map((n) => Array.from({ length: n }, () => (rand() - 0.5) * 0.2)));
  const lrs = [1e-2, 5e-3, 2e-3];
  const o = { b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.01, clip };
  const vars = w0.map((a, i) => tf.variable(tf.tensor1d(a), true, `adamw_test_${sizes.join('_')}_${clip}_${i}`));
  const opt = new AdamW(vars, { weightDecay: o.wd, clipNorm: clip });
  const norms: number[] = [];
  grads.forEach((gs, t) => {
    const named: tf.NamedTensorMap = {};
    vars.forEach((v, i) => (named[v.name] = tf.tensor1d(gs[i])));
    norms.push(opt.step(named, lrs[t]));
    tf.dispose(Object.values(named));
  });
  const want = byHand(w0, grads, lrs, o);
  const state = opt.state();
  const worst = (got: ArrayLike<number>[], exp: number[][]) => Math.max(...exp.map((e, i) => Math.max(...e.map((x, j) => Math.abs(x - got[i][j])))));
  expect(worst(vars.map((v) => v.dataSync()), want.hand.w)).toBeLessThan(1e-6);
  expect(worst(state.m.map((s) => s.data), want.hand.m)).toBeLessThan(1e-7);
  expect(worst(state.v.map((s) => s.data), want.hand.v)).toBeLessThan(1e-8);
  norms.forEach((n, t) => expect(n).toBeCloseTo(want.norms[t], 5));
  // Every step moved every parameter by about lr (Adam's step size) and not more.
  expect(worst(vars.map((v) => v.dataSync()), w0)).toBeGreaterThan(5e-3);
  opt.dispose();
  tf.dispose(vars);
}

describe('AdamW', () => {
  it('updates a small parameter set in memory exactly as by hand (with clipping)', () => check([48, 16], 0.5));
  it('updates a small parameter set in memory exactly as by hand (no clipping)', () => check([64], undefined));
  it('updates a large parameter set with kernels exactly as by hand', () => check([SMALL_PARAMETERS, 7], 1));
});
