import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SubspaceError } from '../../src-main/engine/errors.js';
import { orthonormalityError, orthonormalize, orthogonalInit } from '../../src-main/engine/interventions/orthogonal.js';
import {
  INTERVENTION_TYPES,
  createIntervention,
  interventionParameterCount,
  resolveInterventionType,
} from '../../src-main/engine/interventions/registry.js';
import type { Intervention, InterventionConfig, TensorState } from '../../src-main/engine/interventions/registry.js';
import { pyreftClassName } from '../../src-main/engine/interventions/reft.js';
import type { ReftType } from '../../src-main/engine/interventions/reft.js';
import * as tf from '../../src-main/engine/tf.js';
import { AdamW } from '../../src-main/engine/train/optim.js';
import { maxAbsDiff, useTestBackend } from '../helpers/backend.js';

beforeAll(async () => {
  await useTestBackend();
});

const live: Intervention[] = [];
function make(type: string, cfg: InterventionConfig): Intervention {
  const iv = createIntervention(type, cfg);
  live.push(iv);
  return iv;
}
afterEach(() => {
  while (live.length) live.pop()!.dispose();
});

/** Seeded values for test inputs (independent of the implementation's PRNG). */
function rand(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

const ORTHOGONAL: ReftType[] = ['LoReFT', 'DiReFT', 'ConsReFT', 'LobiReFT'];

/** The state keys and shapes each type must expose, mirroring pyreft's state_dict names. */
function expectedKeys(type: ReftType, d: number, r: number, addBias = false): Record<string, number[]> {
  switch (type) {
    case 'LoReFT':
      return { rotate_layer: [d, r], weight: [r, d], bias: [r] };
    case 'DiReFT':
      return { rotate_layer: [d, r], 'learned_source.weight': [r, d], 'learned_source.bias': [r] };
    case 'NoReFT':
    case 'NodiReFT':
      return {
        'proj_layer.weight': [r, d],
        ...(addBias ? { 'proj_layer.bias': [r] } : {}),
        'learned_source.weight': [r, d],
        'learned_source.bias': [r],
      };
    case 'ConsReFT':
    case 'LobiReFT':
      return { rotate_layer: [d, r], learned_source: [r] };
  }
}

function act(name: string, x: number): number {
  switch (name) {
    case 'relu':
      return Math.max(0, x);
    case 'tanh':
      return Math.tanh(x);
    case 'gelu':
      return 0.5 * x * (1 + erf(x / Math.SQRT2));
    default:
      return x;
  }
}

/** erf by its Maclaurin series (accurate to ~1e-12 for |x| ≤ 6, which these tests stay within). */
function erf(x: number): number {
  const t = Math.abs(x);
  if (t > 6) return Math.sign(x);
  let sum = 0;
  let term = t;
  for (let n = 0; n < 200; n++) {
    sum += term / (2 * n + 1);
    term *= (-t * t) / (n + 1);
    if (Math.abs(term) < 1e-17) break;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
}

/** Φ(h) computed with loops over plain arrays, from the intervention's state. */
function reference(type: ReftType, st: TensorState, x: ArrayLike<number>, rows: number, d: number, r: number, activation = 'identity'): Float64Array {
  const out = new Float64Array(rows * d);
  const rotate = ['LoReFT', 'DiReFT', 'ConsReFT', 'LobiReFT'].includes(type);
  const linear = ['LoReFT', 'NoReFT', 'DiReFT', 'NodiReFT'].includes(type);
  const subtract = ['LoReFT', 'NoReFT', 'ConsReFT'].includes(type);
  const Rt = rotate ? st.rotate_layer.data : undefined; // [d, r]
  const P = rotate ? undefined : st['proj_layer.weight'].data; // [r, d]
  const c = st['proj_layer.bias']?.data;
  const W = linear ? (type === 'LoReFT' ? st.weight.data : st['learned_source.weight'].data) : undefined;
  const b = type === 'LoReFT' ? st.bias.data : linear ? st['learned_source.bias'].data : st.learned_source.data;
  for (let n = 0; n < rows; n++) {
    const h = Array.from({ length: d }, (_, j) => x[n * d + j]);
    const low = new Array<number>(r).fill(0);
    for (let k = 0; k < r; k++) {
      if (W) {
        let z = b[k];
        for (let j = 0; j < d; j++) z += W[k * d + j] * h[j];
        low[k] = act(activation, z);
      } else {
        low[k] = b[k];
      }
      if (subtract) {
        let ph = c ? c[k] : 0;
        for (let j = 0; j < d; j++) ph += (Rt ? Rt[j * r + k] : P![k * d + j]) * h[j];
        low[k] -= ph;
      }
    }
    for (let j = 0; j < d; j++) {
      let e = 0;
      for (let k = 0; k < r; k++) e += low[k] * (Rt ? Rt[j * r + k] : P![k * d + j]);
      out[n * d + j] = h[j] + e;
    }
  }
  return out;
}

describe('registry', () => {
  it('lists the six ReFT types and resolves names loosely', () => {
    expect([...INTERVENTION_TYPES]).toEqual(['LoReFT', 'NoReFT', 'DiReFT', 'NodiReFT', 'ConsReFT', 'LobiReFT']);
    expect(resolveInterventionType('loreft')).toBe('LoReFT');
    expect(resolveInterventionType('NodireftIntervention')).toBe('NodiReFT');
    expect(pyreftClassName('ConsReFT')).toBe('ConsreftIntervention');
  });

  it('exposes pyreft state keys and shapes for every type', () => {
    const d = 6;
    const r = 2;
    for (const type of INTERVENTION_TYPES as ReftType[]) {
      const iv = make(type, { width: d, rank: r, seed: 1 });
      const st = iv.state();
      const shapes = Object.fromEntries(Object.entries(st).map(([k, v]) => [k, v.shape]));
      expect(shapes, type).toEqual(expectedKeys(type, d, r));
      expect(iv.type).toBe(type);
      expect(iv.width).toBe(d);
      expect(iv.rank).toBe(r);
      expect(iv.variables.map((v) => v.name.split('/').pop())).toEqual(Object.keys(st));
      expect(typeof iv.afterStep === 'function', type).toBe(ORTHOGONAL.includes(type));
    }
    const nb = make('NoReFT', { width: d, rank: r, addBias: true });
    expect(Object.keys(nb.state())).toEqual(Object.keys(expectedKeys('NoReFT', d, r, true)));
  });
});

describe('apply equals the explicit arithmetic', () => {
  const d = 8;
  const r = 3;
  const x = rand(2 * 3 * d, 11);
  for (const type of INTERVENTION_TYPES as ReftType[]) {
    const acts = ['ConsReFT', 'LobiReFT'].includes(type) ? ['identity'] : ['identity', 'relu', 'tanh', 'gelu'];
    for (const activation of acts) {
      it(`${type} (${activation})`, () => {
        const iv = make(type, { width: d, rank: r, seed: 3, activation });
        const h = tf.tensor3d(x, [2, 3, d]);
        const y = iv.apply(h);
        expect(y.shape).toEqual([2, 3, d]);
        const want = reference(type, iv.state(), x, 6, d, r, activation);
        expect(maxAbsDiff(y.dataSync(), want)).toBeLessThan(1e-5);
        // The edit is not trivially zero.
        expect(maxAbsDiff(y.dataSync(), x)).toBeGreaterThan(1e-3);
        tf.dispose([h, y]);
      });
    }
  }

  it('NoReFT and NodiReFT with a projection bias (pyreft add_bias)', () => {
    for (const type of ['NoReFT', 'NodiReFT'] as ReftType[]) {
      const iv = make(type, { width: d, rank: r, seed: 5, addBias: true });
      const h = tf.tensor3d(x, [2, 3, d]);
      const y = iv.apply(h);
      expect(maxAbsDiff(y.dataSync(), reference(type, iv.state(), x, 6, d, r))).toBeLessThan(1e-5);
      tf.dispose([h, y]);
    }
  });

  it('takes any leading shape and leaks no tensors', () => {
    const iv = make('LoReFT', { width: d, rank: r });
    const before = tf.memory().numTensors;
    const h1 = tf.tensor1d(x.slice(0, d));
    const y1 = iv.apply(h1);
    expect(y1.shape).toEqual([d]);
    const h4 = tf.tensor4d(x, [1, 2, 3, d]);
    const y4 = iv.apply(h4);
    expect(y4.shape).toEqual([1, 2, 3, d]);
    tf.dispose([h1, y1, h4, y4]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('LoReFT with W = R, b = 0 is the identity (the edit vanishes)', () => {
    const iv = make('LoReFT', { width: d, rank: r, seed: 9 });
    const st = iv.state();
    const R = st.rotate_layer.data;
    const W = new Float32Array(r * d);
    for (let k = 0; k < r; k++) for (let j = 0; j < d; j++) W[k * d + j] = R[j * r + k];
    iv.load({ ...st, weight: { shape: [r, d], data: W }, bias: { shape: [r], data: new Float32Array(r) } });
    const h = tf.tensor3d(x, [2, 3, d]);
    const y = iv.apply(h);
    expect(maxAbsDiff(y.dataSync(), x)).toBeLessThan(1e-5);
    tf.dispose([h, y]);
  });
});

describe('gradients equal central finite differences', () => {
  const d = 5;
  const r = 2;
  const x = rand(2 * 3 * d, 21);
  const coef = rand(2 * 3 * d, 22);
  const cases: [ReftType, string][] = [
    ...(INTERVENTION_TYPES as ReftType[]).map((t) => [t, 'identity'] as [ReftType, string]),
    ['LoReFT', 'tanh'],
    ['LoReFT', 'gelu'],
    ['DiReFT', 'tanh'],
    ['NoReFT', 'gelu'],
  ];
  for (const [type, activation] of cases) {
    it(`${type} (${activation})`, () => {
      const iv = make(type, { width: d, rank: r, seed: 7, activation, addBias: type === 'NoReFT' });
      const h = tf.tensor3d(x, [2, 3, d]);
      const c = tf.tensor3d(coef, [2, 3, d]);
      const loss = () => tf.sum(tf.mul(iv.apply(h), c)) as tf.Scalar;
      const { value, grads } = tf.variableGrads(loss, iv.variables);
      value.dispose();
      const eps = 1e-2;
      for (const v of iv.variables) {
        const g = grads[v.name];
        expect(g, v.name).toBeDefined();
        const gv = g.dataSync();
        const base = Float32Array.from(v.dataSync());
        for (let i = 0; i < base.length; i++) {
          const at = (delta: number) => {
            const p = base.slice();
            p[i] += delta;
            tf.tidy(() => v.assign(tf.tensor(p, v.shape)));
            return tf.tidy(() => loss().dataSync()[0]);
          };
          const fd = (at(eps) - at(-eps)) / (2 * eps);
          tf.tidy(() => v.assign(tf.tensor(base, v.shape)));
          const tol = 2e-2 * Math.max(Math.abs(fd), Math.abs(gv[i])) + 1e-3;
          expect(Math.abs(gv[i] - fd), `${v.name}[${i}] grad ${gv[i]} vs fd ${fd}`).toBeLessThan(tol);
        }
      }
      tf.dispose([h, c, ...Object.values(grads)]);
    });
  }

  it('NodiReFT: the unused projection bias gets no gradient, as in pyreft', () => {
    const iv = make('NodiReFT', { width: d, rank: r, addBias: true });
    const h = tf.tensor3d(x, [2, 3, d]);
    const { value, grads } = tf.variableGrads(() => tf.sum(iv.apply(h)) as tf.Scalar, iv.variables);
    expect(Object.keys(grads).some((k) => k.endsWith('proj_layer.bias'))).toBe(false);
    expect(Object.keys(grads)).toHaveLength(3);
    tf.dispose([h, value, ...Object.values(grads)]);
  });
});

describe('parameter counts', () => {
  it('match the formulas', () => {
    const d = 10;
    const r = 3;
    const want: Record<ReftType, number> = {
      LoReFT: 2 * d * r + r,
      NoReFT: 2 * d * r + r,
      DiReFT: 2 * d * r + r,
      NodiReFT: 2 * d * r + r,
      ConsReFT: d * r + r,
      LobiReFT: d * r + r,
    };
    for (const type of INTERVENTION_TYPES as ReftType[]) {
      expect(make(type, { width: d, rank: r }).parameterCount(), type).toBe(want[type]);
      expect(interventionParameterCount(type, { width: d, rank: r }), type).toBe(want[type]);
    }
    expect(make('NoReFT', { width: d, rank: r, addBias: true }).parameterCount()).toBe(2 * d * r + 2 * r);
    expect(interventionParameterCount('NoReFT', { width: d, rank: r, addBias: true })).toBe(2 * d * r + 2 * r);
  });

  it('LoReFT at d = 4096, r = 4 has 32,772 parameters', () => {
    expect(interventionParameterCount('LoReFT', { width: 4096, rank: 4 })).toBe(32_772);
    const iv = make('LoReFT', { width: 4096, rank: 4 });
    expect(iv.parameterCount()).toBe(32_772);
    const R = iv.state().rotate_layer;
    expect(orthonormalityError(R.data, 4096, 4)).toBeLessThan(1e-6);
  });
});

describe('orthonormality of R', () => {
  it('holds at init for every orthogonal type', () => {
    for (const type of ORTHOGONAL) {
      const iv = make(type, { width: 12, rank: 5, seed: 2 });
      expect(orthonormalityError(iv.state().rotate_layer.data, 12, 5), type).toBeLessThan(1e-6);
    }
    // rank = width: a full orthogonal matrix.
    const full = make('LoReFT', { width: 4, rank: 4 });
    expect(orthonormalityError(full.state().rotate_layer.data, 4, 4)).toBeLessThan(1e-6);
  });

  it('survives 200 random Adam updates with afterStep (and drifts without it)', () => {
    const d = 16;
    const r = 4;
    const run = (retract: boolean) => {
      const iv = make('LoReFT', { width: d, rank: r, seed: 4, name: `adam_${retract}` });
      const opt = new AdamW(iv.variables);
      let worst = 0;
      for (let step = 0; step < 200; step++) {
        const grads: tf.NamedTensorMap = {};
        iv.variables.forEach((v, i) => (grads[v.name] = tf.randomNormal(v.shape, 0, 1, 'float32', step * 7 + i)));
        opt.step(grads, 1e-2);
        tf.dispose(Object.values(grads));
        if (retract) iv.afterStep!();
        worst = Math.max(worst, orthonormalityError(iv.state().rotate_layer.data, d, r));
      }
      opt.dispose();
      return worst;
    };
    expect(run(true)).toBeLessThan(1e-5);
    expect(run(false)).toBeGreaterThan(1e-2);
  });

  it('stays orthonormal while a real loss decreases', () => {
    const d = 8;
    const r = 2;
    const iv = make('LoReFT', { width: d, rank: r, seed: 8 });
    const h = tf.tensor2d(rand(6 * d, 31), [6, d]);
    const target = tf.tensor2d(rand(6 * d, 32), [6, d]);
    const opt = new AdamW(iv.variables);
    const loss = () => tf.mean(tf.square(tf.sub(iv.apply(h), target))) as tf.Scalar;
    const first = tf.tidy(() => loss().dataSync()[0]);
    let worst = 0;
    for (let step = 0; step < 100; step++) {
      const { value, grads } = tf.variableGrads(loss, iv.variables);
      opt.step(grads, 2e-2);
      tf.dispose([value, ...Object.values(grads)]);
      iv.afterStep!();
      worst = Math.max(worst, orthonormalityError(iv.state().rotate_layer.data, d, r));
    }
    const last = tf.tidy(() => loss().dataSync()[0]);
    expect(last).toBeLessThan(first * 0.8);
    expect(worst).toBeLessThan(1e-5);
    opt.dispose();
    tf.dispose([h, target]);
  });

  it('orthonormalize gives the polar factor: orthonormal, unchanged if already so, nearest', () => {
    const rows = 9;
    const cols = 3;
    const a = Array.from(rand(rows * cols, 41));
    const q = orthonormalize(a, rows, cols);
    expect(orthonormalityError(q, rows, cols)).toBeLessThan(1e-12);
    expect(maxAbsDiff(orthonormalize(q, rows, cols), q)).toBeLessThan(1e-12);
    // Nearer to a than the Gram–Schmidt (QR) factor.
    let g = 1;
    const qr = orthogonalInit(rows, cols, () => {
      // orthogonalInit orthonormalises the values it draws: feed it a's entries.
      return a[(g++ - 1) % a.length];
    });
    const dist = (m: ArrayLike<number>) => Math.hypot(...a.map((v, i) => v - m[i]));
    expect(orthonormalityError(qr, rows, cols)).toBeLessThan(1e-12);
    expect(dist(q)).toBeLessThanOrEqual(dist(qr) + 1e-12);
  });

  it('orthonormalize copes with rank-deficient and zero matrices', () => {
    const rows = 5;
    const cols = 3;
    const dup = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      dup[i * cols] = i + 1;
      dup[i * cols + 1] = 2 * (i + 1); // parallel to column 0
      dup[i * cols + 2] = i % 2;
    }
    expect(orthonormalityError(orthonormalize(dup, rows, cols), rows, cols)).toBeLessThan(1e-12);
    expect(orthonormalityError(orthonormalize(new Float64Array(rows * cols), rows, cols), rows, cols)).toBeLessThan(1e-12);
  });
});

describe('state and load', () => {
  it('round-trips for every type', () => {
    const d = 6;
    const r = 2;
    const x = rand(2 * 3 * d, 51);
    for (const type of INTERVENTION_TYPES as ReftType[]) {
      const a = make(type, { width: d, rank: r, seed: 1 });
      const b = make(type, { width: d, rank: r, seed: 2 });
      const h = tf.tensor3d(x, [2, 3, d]);
      const ya = a.apply(h);
      const yb0 = b.apply(h);
      expect(maxAbsDiff(ya.dataSync(), yb0.dataSync()), type).toBeGreaterThan(1e-4);
      b.load(a.state());
      const yb = b.apply(h);
      expect(maxAbsDiff(ya.dataSync(), yb.dataSync()), type).toBe(0);
      const sa = a.state();
      const sb = b.state();
      for (const k of Object.keys(sa)) expect(Array.from(sb[k].data), `${type} ${k}`).toEqual(Array.from(sa[k].data));
      tf.dispose([h, ya, yb0, yb]);
    }
  });

  it('state() is a copy', () => {
    const iv = make('LoReFT', { width: 4, rank: 2 });
    const st = iv.state();
    st.bias.data[0] = 123;
    expect(iv.state().bias.data[0]).not.toBe(123);
  });

  it("ignores pyvene's embed_dim / interchange_dim buffers", () => {
    const a = make('DiReFT', { width: 4, rank: 2, seed: 1 });
    const b = make('DiReFT', { width: 4, rank: 2, seed: 2 });
    b.load({ ...a.state(), embed_dim: { shape: [], data: Float32Array.of(4) }, interchange_dim: { shape: [], data: Float32Array.of(4) } });
    expect(Array.from(b.state().rotate_layer.data)).toEqual(Array.from(a.state().rotate_layer.data));
  });

  it('rejects missing, unknown, misshapen and non-orthonormal entries without changing anything', () => {
    const iv = make('LoReFT', { width: 4, rank: 2, seed: 1 });
    const st = iv.state();
    const before = JSON.stringify(Object.values(st).map((e) => Array.from(e.data)));
    const { bias: _bias, ...noBias } = st;
    expect(() => iv.load(noBias)).toThrow(/lacks 'bias'/);
    expect(() => iv.load({ ...st, extra: { shape: [1], data: Float32Array.of(1) } })).toThrow(/'extra'/);
    expect(() => iv.load({ ...st, weight: { shape: [4, 2], data: new Float32Array(8) } })).toThrow(SubspaceError);
    expect(() => iv.load({ ...st, bias: { shape: [2], data: new Float32Array(3) } })).toThrow(/3 values/);
    expect(() => iv.load({ ...st, rotate_layer: { shape: [4, 2], data: new Float32Array(8).fill(1) } })).toThrow(/orthonormal/);
    expect(() => iv.load({ ...st, bias: { shape: [2], data: Float32Array.of(NaN, 0) } })).toThrow(/non-finite/);
    expect(JSON.stringify(Object.values(iv.state()).map((e) => Array.from(e.data)))).toBe(before);
  });

  it('retracts a slightly non-orthonormal R on load (e.g. half-precision files)', () => {
    const iv = make('ConsReFT', { width: 6, rank: 2, seed: 1 });
    const st = iv.state();
    const rounded = st.rotate_layer.data.map((v) => Math.round(v * 256) / 256);
    expect(orthonormalityError(rounded, 6, 2)).toBeGreaterThan(1e-6);
    iv.load({ ...st, rotate_layer: { shape: [6, 2], data: rounded } });
    const R = iv.state().rotate_layer.data;
    expect(orthonormalityError(R, 6, 2)).toBeLessThan(1e-6);
    expect(maxAbsDiff(R, rounded)).toBeLessThan(1e-2);
  });
});

describe('dropout', () => {
  const d = 16;
  const r = 4;
  const x = rand(4 * 8 * d, 61);

  it('is off in eval mode: dropout 0.5 equals no dropout, deterministically', () => {
    const a = make('LoReFT', { width: d, rank: r, seed: 3, dropout: 0.5 });
    const b = make('LoReFT', { width: d, rank: r, seed: 3 });
    const h = tf.tensor3d(x, [4, 8, d]);
    const ya1 = a.apply(h);
    const ya2 = a.apply(h, { training: false });
    const yb = b.apply(h, { training: true });
    expect(maxAbsDiff(ya1.dataSync(), yb.dataSync())).toBe(0);
    expect(maxAbsDiff(ya2.dataSync(), yb.dataSync())).toBe(0);
    tf.dispose([h, ya1, ya2, yb]);
  });

  it('in training, drops entries of the edit only, rescaled by 1/(1 − p), with a seeded mask', () => {
    for (const type of ['LoReFT', 'LobiReFT'] as ReftType[]) {
      const iv = make(type, { width: d, rank: r, seed: 3, dropout: 0.5 });
      const h = tf.tensor3d(x, [4, 8, d]);
      const evalOut = iv.apply(h).dataSync();
      const t1 = iv.apply(h, { training: true, seed: 1 });
      const t1again = iv.apply(h, { training: true, seed: 1 });
      const t2 = iv.apply(h, { training: true, seed: 2 });
      const y = t1.dataSync();
      let dropped = 0;
      for (let i = 0; i < y.length; i++) {
        const edit = evalOut[i] - x[i];
        const got = y[i] - x[i];
        if (got === 0 && Math.abs(edit) > 1e-6) dropped++;
        // Either the edit is gone (h untouched) or doubled: h itself is never dropped.
        const ok = Math.abs(y[i] - x[i]) < 1e-6 || Math.abs(got - 2 * edit) < 1e-5;
        expect(ok, `${type} entry ${i}`).toBe(true);
      }
      expect(dropped / y.length).toBeGreaterThan(0.35);
      expect(dropped / y.length).toBeLessThan(0.65);
      expect(maxAbsDiff(t1again.dataSync(), y)).toBe(0);
      expect(maxAbsDiff(t2.dataSync(), y)).toBeGreaterThan(1e-3);
      tf.dispose([h, t1, t1again, t2]);
    }
  });

  it('draws different masks for interventions with different seeds under one call seed', () => {
    const a = make('LoReFT', { width: d, rank: r, seed: 3, dropout: 0.5 });
    const b = make('LoReFT', { width: d, rank: r, seed: 3, dropout: 0.5 });
    const c = make('LoReFT', { width: d, rank: r, seed: 4, dropout: 0.5 });
    c.load(a.state());
    const h = tf.tensor3d(x, [4, 8, d]);
    const ya = a.apply(h, { training: true, seed: 5 });
    const yb = b.apply(h, { training: true, seed: 5 });
    const yc = c.apply(h, { training: true, seed: 5 });
    expect(maxAbsDiff(ya.dataSync(), yb.dataSync())).toBe(0);
    expect(maxAbsDiff(ya.dataSync(), yc.dataSync())).toBeGreaterThan(1e-3);
    // Without a call seed, successive calls draw fresh masks.
    const n1 = a.apply(h, { training: true });
    const n2 = a.apply(h, { training: true });
    expect(maxAbsDiff(n1.dataSync(), n2.dataSync())).toBeGreaterThan(1e-3);
    tf.dispose([h, ya, yb, yc, n1, n2]);
  });
});

describe('errors', () => {
  const expectError = (f: () => unknown, code: string, ...fragments: string[]) => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(SubspaceError);
      expect((e as SubspaceError).code).toBe(code);
      for (const frag of fragments) expect((e as Error).message).toContain(frag);
      return;
    }
    throw new Error('expected an error');
  };

  it('validates width and rank', () => {
    expectError(() => make('LoReFT', { width: 8, rank: 0 }), 'BAD_ARGUMENT', 'rank');
    expectError(() => make('LoReFT', { width: 8, rank: 9 }), 'BAD_ARGUMENT', 'rank', '8');
    expectError(() => make('LoReFT', { width: 8, rank: 1.5 }), 'BAD_ARGUMENT', 'rank');
    expectError(() => make('LoReFT', { width: 0, rank: 1 }), 'BAD_ARGUMENT', 'width');
    expectError(() => interventionParameterCount('LoReFT', { width: 4, rank: 5 }), 'BAD_ARGUMENT', 'rank');
  });

  it('names the known types for an unknown one', () => {
    expectError(() => make('SuperReFT', { width: 8, rank: 2 }), 'BAD_ARGUMENT', "'SuperReFT'", 'LoReFT', 'LobiReFT');
  });

  it('validates activation, dropout, seed and addBias', () => {
    expectError(() => make('LoReFT', { width: 8, rank: 2, activation: 'swish' }), 'BAD_ARGUMENT', "'swish'", 'relu', 'gelu');
    expectError(() => make('ConsReFT', { width: 8, rank: 2, activation: 'relu' }), 'BAD_ARGUMENT', 'activation');
    for (const p of [-0.1, 1, 1.5, Number.NaN]) expectError(() => make('LoReFT', { width: 8, rank: 2, dropout: p }), 'BAD_ARGUMENT', 'dropout');
    expectError(() => make('LoReFT', { width: 8, rank: 2, seed: Number.POSITIVE_INFINITY }), 'BAD_ARGUMENT', 'seed');
    expectError(() => make('LoReFT', { width: 8, rank: 2, addBias: true }), 'BAD_ARGUMENT', 'addBias');
    expect(make('LoReFT', { width: 8, rank: 2, activation: 'linear' }).parameterCount()).toBe(2 * 8 * 2 + 2);
  });

  it('rejects inputs of the wrong width and duplicate variable names', () => {
    const iv = make('LoReFT', { width: 8, rank: 2, name: 'dup' });
    const h = tf.zeros([2, 7]);
    expectError(() => iv.apply(h), 'SHAPE_MISMATCH', 'width 8', '[2, 7]');
    h.dispose();
    expectError(() => make('LoReFT', { width: 8, rank: 2, name: 'dup' }), 'BAD_ARGUMENT', "'dup/rotate_layer'");
  });

  it('frees its variables on dispose, after which a name can be reused', () => {
    const before = tf.memory().numTensors;
    const iv = createIntervention('DiReFT', { width: 8, rank: 2, name: 'reuse' });
    iv.dispose();
    iv.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const h = tf.zeros([1, 8]);
    expectError(() => iv.apply(h), 'BAD_ARGUMENT', 'disposed');
    h.dispose();
    make('DiReFT', { width: 8, rank: 2, name: 'reuse' });
  });
});
