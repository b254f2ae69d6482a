import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../src-main/engine/tf.js';
import { orthonormalize, orthonormalityError } from '../../src-main/engine/interventions/orthogonal.js';
import { DasIntervention, dasParameterCount, polarFactor, retractRotation, resolveVariant } from '../../src-main/engine/das/interventions.js';
import { annealedTemperature } from '../../src-main/engine/das/train.js';
import { seededRandom } from '../../src-main/engine/random.js';
import { maxAbsDiff, useTestBackend } from '../helpers/backend.js';

beforeAll(async () => {
  await useTestBackend();
});

const randoms = (n: number, seed: number) => {
  const u = seededRandom(seed);
  return Float64Array.from({ length: n }, () => 2 * u() - 1);
};

/** Row-major [n, m] × [m, p] in float64. */
function mm(a: ArrayLike<number>, b: ArrayLike<number>, n: number, m: number, p: number): Float64Array {
  const out = new Float64Array(n * p);
  for (let i = 0; i < n; i++) for (let k = 0; k < m; k++) for (let j = 0; j < p; j++) out[i * p + j] += a[i * m + k] * b[k * p + j];
  return out;
}

function transpose(a: ArrayLike<number>, n: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[j * n + i] = a[i * m + j];
  return out;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * The three edits written out by hand from their definitions, in float64:
 * rotated/boundless: ((1 − m) ⊙ (b W) + m ⊙ (s W)) Wᵀ; lowrank: b + Rᵀ(R s − R b) with R = Wᵀ.
 */
function handEdit(variant: string, W: ArrayLike<number>, d: number, k: number, base: Float64Array, source: Float64Array, rows: number, boundary = 0, temperature = 1): Float64Array {
  if (variant === 'lowrank') {
    const R = transpose(W, d, k); // [k, d]
    const out = Float64Array.from(base);
    for (let r = 0; r < rows; r++) {
      const rs = mm(R, source.subarray(r * d, (r + 1) * d), k, d, 1);
      const rb = mm(R, base.subarray(r * d, (r + 1) * d), k, d, 1);
      const diff = rs.map((x, i) => x - rb[i]);
      const back = mm(W, diff, d, k, 1); // Rᵀ diff
      for (let i = 0; i < d; i++) out[r * d + i] += back[i];
    }
    return out;
  }
  const mask = Array.from({ length: d }, (_, i) =>
    variant === 'rotated' ? (i < k ? 1 : 0) : sigmoid((i + 0.5) / temperature) * sigmoid((Math.min(1, Math.max(1e-3, boundary)) * d - i - 0.5) / temperature),
  );
  const rb = mm(base, W, rows, d, d);
  const rs = mm(source, W, rows, d, d);
  const mixed = rb.map((x, idx) => (1 - mask[idx % d]) * x + mask[idx % d] * rs[idx]);
  return mm(mixed, transpose(W, d, d), rows, d, d);
}

function applyTf(iv: DasIntervention, base: Float64Array, source: Float64Array, shape: number[]): Float32Array {
  return tf.tidy(() => iv.apply(tf.tensor(Float32Array.from(base), shape), tf.tensor(Float32Array.from(source), shape)).dataSync() as Float32Array).slice();
}

describe('DAS interventions: forward passes against hand computation', () => {
  const d = 6;
  const rows = 4;
  const base = randoms(rows * d, 1);
  const source = randoms(rows * d, 2);

  it('rotated: rotates, takes the first k rotated dims from the source, rotates back', () => {
    const iv = new DasIntervention('rotated', { width: d, dim: 2, seed: 3 });
    const W = iv.rotation.dataSync();
    expect(orthonormalityError(W, d, d)).toBeLessThan(1e-6);
    const got = applyTf(iv, base, source, [rows, d]);
    expect(maxAbsDiff(got, handEdit('rotated', W, d, 2, base, source, rows))).toBeLessThan(1e-5);
    // Not a no-op and not a full swap.
    expect(maxAbsDiff(got, base)).toBeGreaterThan(1e-2);
    expect(maxAbsDiff(got, source)).toBeGreaterThan(1e-2);
    // Leading axes are kept: [2, 2, d] gives the same rows.
    expect(maxAbsDiff(applyTf(iv, base, source, [2, 2, d]), got)).toBeLessThan(1e-6);
    iv.dispose();
  });

  it('rotated with k = d is a full interchange: the output is the source activation', () => {
    const iv = new DasIntervention('rotated', { width: d, dim: d, seed: 4 });
    expect(maxAbsDiff(applyTf(iv, base, source, [rows, d]), source)).toBeLessThan(1e-5);
    iv.dispose();
  });

  it('lowrank: h_b + Rᵀ(R h_s − R h_b) with a d × k orthonormal basis', () => {
    for (const k of [1, 3]) {
      const iv = new DasIntervention('lowrank', { width: d, dim: k, seed: 5 + k });
      expect(iv.rotation.shape).toEqual([d, k]);
      const W = iv.rotation.dataSync();
      expect(orthonormalityError(W, d, k)).toBeLessThan(1e-6);
      expect(maxAbsDiff(applyTf(iv, base, source, [rows, d]), handEdit('lowrank', W, d, k, base, source, rows))).toBeLessThan(1e-5);
      // The edit lies in the span of R: projecting the output onto R gives the source's coordinates there.
      const out = applyTf(iv, base, source, [rows, d]);
      const R = transpose(W, d, k);
      for (let r = 0; r < rows; r++) {
        const a = mm(R, out.subarray(r * d, (r + 1) * d), k, d, 1);
        const b = mm(R, source.subarray(r * d, (r + 1) * d), k, d, 1);
        expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
      }
      iv.dispose();
    }
  });

  it('boundless: a soft sigmoid mask over rotated dims with boundary b and temperature τ', () => {
    const iv = new DasIntervention('boundless', { width: d, dim: 3, seed: 9 });
    expect(iv.boundary!.dataSync()[0]).toBeCloseTo(0.5, 6); // the boundary starts at dim / d
    const W = iv.rotation.dataSync();
    for (const t of [50, 1, 0.1]) {
      iv.temperature = t;
      const mask = iv.mask();
      mask.forEach((m, i) => expect(m).toBeCloseTo(sigmoid((i + 0.5) / t) * sigmoid((0.5 * d - i - 0.5) / t), 5));
      expect(maxAbsDiff(applyTf(iv, base, source, [rows, d]), handEdit('boundless', W, d, 3, base, source, rows, 0.5, t))).toBeLessThan(1e-5);
    }
    // At a low temperature the mask is the hard block of the first b·d dims: the rotated intervention.
    iv.temperature = 0.01;
    const rotated = new DasIntervention('rotated', { width: d, dim: 3, seed: 9 });
    expect(maxAbsDiff(applyTf(iv, base, source, [rows, d]), applyTf(rotated, base, source, [rows, d]))).toBeLessThan(1e-5);
    const report = iv.boundaryReport()!;
    expect(report).toMatchObject({ boundary: 0.5, width: 3, temperature: 0.01, maskedDims: 3 });
    iv.dispose();
    rotated.dispose();
  });

  it('counts parameters: d² (rotated), d·k (lowrank), d² + 1 (boundless)', () => {
    for (const v of ['rotated', 'lowrank', 'boundless'] as const) {
      const iv = new DasIntervention(v, { width: 8, dim: 3 });
      expect(iv.parameterCount()).toBe(dasParameterCount(v, 8, 3));
      iv.dispose();
    }
    expect(dasParameterCount('rotated', 8, 3)).toBe(64);
    expect(dasParameterCount('lowrank', 8, 3)).toBe(24);
    expect(dasParameterCount('boundless', 8, 3)).toBe(65);
  });
});

describe('DAS interventions: gradients against finite differences', () => {
  const d = 5;
  const rows = 3;
  const base = randoms(rows * d, 11);
  const source = randoms(rows * d, 12);
  const weights = randoms(rows * d, 13); // loss = Σ weights ⊙ edit(base, source)

  const handLoss = (variant: string, W: ArrayLike<number>, k: number, boundary = 0, temperature = 1) =>
    handEdit(variant, W, d, k, base, source, rows, boundary, temperature).reduce((a, x, i) => a + x * weights[i], 0);

  function tfGrads(iv: DasIntervention) {
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(iv.apply(tf.tensor2d(Float32Array.from(base), [rows, d]), tf.tensor2d(Float32Array.from(source), [rows, d])), tf.tensor2d(Float32Array.from(weights), [rows, d]))) as tf.Scalar, iv.variables);
    const out = Object.fromEntries(Object.entries(grads).map(([k, g]) => [k.split('/').pop()!, Float64Array.from(g.dataSync())]));
    tf.dispose([value, ...Object.values(grads)]);
    return out;
  }

  function centralDifferences(f: (x: Float64Array) => number, x0: ArrayLike<number>, eps = 1e-5): Float64Array {
    const x = Float64Array.from(x0);
    return Float64Array.from({ length: x.length }, (_, i) => {
      const keep = x[i];
      x[i] = keep + eps;
      const up = f(x);
      x[i] = keep - eps;
      const down = f(x);
      x[i] = keep;
      return (up - down) / (2 * eps);
    });
  }

  it('lowrank and rotated: ∂loss/∂W equals central differences of the hand-computed loss', () => {
    for (const [variant, k] of [
      ['lowrank', 2],
      ['rotated', 2],
      ['rotated', 4],
    ] as const) {
      const iv = new DasIntervention(variant, { width: d, dim: k, seed: 21 });
      const W = Float64Array.from(iv.rotation.dataSync());
      const cols = variant === 'lowrank' ? k : d;
      const fd = centralDifferences((w) => handLoss(variant, w, k), W);
      const g = tfGrads(iv).rotate_layer;
      expect(g.length).toBe(d * cols);
      const scale = Math.max(...fd.map(Math.abs));
      expect(scale).toBeGreaterThan(1e-2);
      expect(maxAbsDiff(g, fd) / scale, variant).toBeLessThan(1e-4);
      iv.dispose();
    }
  });

  it('boundless: ∂loss/∂W and ∂loss/∂b equal central differences, so the boundary is learnable', () => {
    const iv = new DasIntervention('boundless', { width: d, dim: 2, seed: 22 });
    const b0 = iv.boundary!.dataSync()[0];
    iv.temperature = 0.7;
    const W = Float64Array.from(iv.rotation.dataSync());
    const g = tfGrads(iv);
    const fdW = centralDifferences((w) => handLoss('boundless', w, 2, b0, 0.7), W);
    expect(maxAbsDiff(g.rotate_layer, fdW) / Math.max(...fdW.map(Math.abs))).toBeLessThan(1e-4);
    const fdB = centralDifferences((b) => handLoss('boundless', W, 2, b[0], 0.7), [b0]);
    expect(Math.abs(fdB[0])).toBeGreaterThan(1e-3);
    expect(Math.abs(g.intervention_boundaries[0] - fdB[0]) / Math.abs(fdB[0])).toBeLessThan(1e-3);
    iv.dispose();
  });
});

describe('DAS interventions: orthonormality, state, bad input', () => {
  it('the retraction restores orthonormal columns to 1e-5 and gives the polar factor', () => {
    const u = seededRandom(31);
    for (const [rows, cols] of [
      [12, 3],
      [128, 128],
    ]) {
      const iv = new DasIntervention(cols === rows ? 'rotated' : 'lowrank', { width: rows, dim: cols === rows ? 4 : cols, seed: 1 });
      const noisy = Float32Array.from(iv.rotation.dataSync(), (x) => x + 0.01 * (2 * u() - 1));
      tf.tidy(() => iv.rotation.assign(tf.tensor2d(noisy, [rows, cols])));
      expect(iv.orthonormalityError()).toBeGreaterThan(1e-3);
      iv.afterStep();
      expect(iv.orthonormalityError()).toBeLessThan(1e-5);
      // The same matrix as the eigendecomposition's polar factor.
      expect(maxAbsDiff(iv.rotation.dataSync(), orthonormalize(noisy, rows, cols))).toBeLessThan(1e-5);
      iv.dispose();
    }
    // Far from the manifold the float64 path falls back to the eigendecomposition.
    const far = randoms(6 * 2, 32);
    expect(maxAbsDiff(polarFactor(far, 6, 2), orthonormalize(far, 6, 2))).toBeLessThan(1e-9);
    const v = tf.variable(tf.tensor2d(Float32Array.from(far), [6, 2]));
    retractRotation(v);
    expect(orthonormalityError(v.dataSync(), 6, 2)).toBeLessThan(1e-6);
    v.dispose();
  });

  it('keeps the boundary inside [1e-3, 1] after a step', () => {
    const iv = new DasIntervention('boundless', { width: 4, dim: 2 });
    tf.tidy(() => iv.boundary!.assign(tf.tensor1d([1.7])));
    iv.afterStep();
    expect(iv.boundary!.dataSync()[0]).toBe(1);
    tf.tidy(() => iv.boundary!.assign(tf.tensor1d([-0.2])));
    iv.afterStep();
    expect(iv.boundary!.dataSync()[0]).toBeCloseTo(1e-3, 8);
    iv.dispose();
  });

  it('anneals the mask temperature linearly from 50 to 0.1, exactly at both ends', () => {
    const cfg = { temperatureStart: 50, temperatureEnd: 0.1 };
    const ts = Array.from({ length: 11 }, (_, s) => annealedTemperature(cfg, s, 11));
    expect(ts[0]).toBe(50);
    expect(ts[10]).toBe(0.1);
    expect(ts[5]).toBeCloseTo(25.05, 10);
    for (let i = 1; i < ts.length; i++) expect(ts[i]).toBeLessThan(ts[i - 1]);
  });

  it('round-trips its state and refuses states that do not fit', () => {
    const a = new DasIntervention('boundless', { width: 6, dim: 2, seed: 40 });
    a.temperature = 0.3;
    const b = new DasIntervention('boundless', { width: 6, dim: 4, seed: 41 });
    b.load(a.state());
    expect(maxAbsDiff(b.rotation.dataSync(), a.rotation.dataSync())).toBe(0);
    expect(b.boundary!.dataSync()[0]).toBeCloseTo(a.boundary!.dataSync()[0], 7);
    expect(b.temperature).toBeCloseTo(0.3, 6);
    const skew = a.state();
    skew.rotate_layer.data[0] += 0.5;
    expect(() => b.load(skew)).toThrow(/orthonormal columns/);
    expect(() => b.load({ rotate_layer: a.state().rotate_layer })).toThrow(/lacks 'intervention_boundaries'/);
    const low = new DasIntervention('lowrank', { width: 6, dim: 2 });
    expect(() => low.load(a.state())).toThrow(/does not have/);
    for (const x of [a, b, low]) x.dispose();
  });

  it('refuses a subspace dimension outside 1..width, unknown variants, and base and source batches of different sizes', () => {
    for (const dim of [0, 7, 2.5, -1]) expect(() => new DasIntervention('lowrank', { width: 6, dim })).toThrow(new RegExp(`subspace dimension ${dim} must be a whole number from 1 to the site's width 6`));
    expect(() => resolveVariant('spinning')).toThrow(/unknown DAS variant 'spinning' \(known: rotated, lowrank, boundless\)/);
    expect(resolveVariant('LowRankRotatedSpaceIntervention')).toBe('lowrank');
    const iv = new DasIntervention('rotated', { width: 6, dim: 2 });
    expect(() => tf.tidy(() => iv.apply(tf.zeros([3, 6]), tf.zeros([2, 6])))).toThrow(/base and source batches differ in size: 3 base rows but 2 source rows/);
    expect(() => tf.tidy(() => iv.apply(tf.zeros([3, 5]), tf.zeros([3, 5])))).toThrow(/width 6/);
    iv.dispose();
    expect(() => iv.apply(tf.zeros([1, 6]), tf.zeros([1, 6]))).toThrow(/disposed/);
  });
});
