import * as tf from '../tf.js';
import type { ModelSpec, RopeSpec } from './config.js';
import type { NormWeights } from './weights.js';

/** x [..., in] @ w [in, out] (+ b), done as one 2-D product. */
export function linear(x: tf.Tensor, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor {
  const shape = x.shape;
  const inner = shape[shape.length - 1];
  const flat = tf.reshape(x, [-1, inner]) as tf.Tensor2D;
  let y: tf.Tensor = tf.matMul(flat, w);
  if (b) y = tf.add(y, b);
  return tf.reshape(y, [...shape.slice(0, -1), w.shape[1]]);
}

export function norm(x: tf.Tensor, w: NormWeights, kind: ModelSpec['norm'], eps: number): tf.Tensor {
  const axis = x.rank - 1;
  if (kind === 'rmsnorm') {
    const ms = tf.mean(tf.square(x), axis, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), w.weight);
  }
  const { mean, variance } = tf.moments(x, axis, true);
  const y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  return w.bias ? tf.add(tf.mul(y, w.weight), w.bias) : tf.mul(y, w.weight);
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

const GELU_A = 0.044715;
const GELU_K = 2 * SQRT_2_OVER_PI;

/**
 * GPT-2's gelu_new, x·σ(k(x + a·x³)) with k = 2√(2/π): 0.5·(1 + tanh u) = σ(2u), and wasm's Tanh is a
 * scalar loop about 8× slower than its Sigmoid. x·x·x rather than pow(x, 3) for the same reason. The
 * gradient is written out, σ + x·σ(1 − σ)·k(1 + 3a·x²): nine kernels where the tape's chain rule
 * through the seven forward ops took about sixteen.
 */
const geluNew = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  const s = tf.sigmoid(tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), GELU_A)), GELU_K));
  save([x, s]);
  return {
    value: tf.mul(x, s),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, sig] = saved;
      const slope = tf.add(tf.mul(tf.mul(xs, xs), 3 * GELU_A * GELU_K), GELU_K);
      const t = tf.mul(tf.mul(xs, tf.sub(1, sig)), tf.mul(sig, slope));
      return tf.mul(dy, tf.add(sig, t));
    },
  };
}) as (x: tf.Tensor) => tf.Tensor;

export function activate(x: tf.Tensor, kind: ModelSpec['activation']): tf.Tensor {
  switch (kind) {
    case 'gelu_new':
      return geluNew(x);
    case 'gelu':
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
    case 'relu':
      return tf.relu(x);
    case 'silu':
      return tf.mul(x, tf.sigmoid(x));
  }
}

/** Inverse frequencies of RoPE, with the config's scaling folded in. */
export function ropeInvFreq(rope: RopeSpec): Float64Array {
  const half = rope.dims / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(rope.theta, (2 * i) / rope.dims);
  const s = rope.scaling;
  if (s?.type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] /= s.factor;
  } else if (s?.type === 'llama3') {
    const lowWave = s.originalMaxPositions / s.lowFreqFactor;
    const highWave = s.originalMaxPositions / s.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const wave = (2 * Math.PI) / inv[i];
      if (wave > lowWave) inv[i] /= s.factor;
      else if (wave >= highWave) {
        const smooth = (s.originalMaxPositions / wave - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        inv[i] = (1 - smooth) * (inv[i] / s.factor) + smooth * inv[i];
      }
    }
  }
  return inv;
}

/** cos and sin tables [B, 1, T, dims] for the given position ids, HF's (freqs, freqs) layout. */
export function ropeTables(invFreq: Float64Array, positions: number[][]): { cos: tf.Tensor4D; sin: tf.Tensor4D } {
  const B = positions.length;
  const T = positions[0]?.length ?? 0;
  const half = invFreq.length;
  const dims = half * 2;
  const cos = new Float32Array(B * T * dims);
  const sin = new Float32Array(B * T * dims);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const p = positions[b][t];
      const base = (b * T + t) * dims;
      for (let i = 0; i < half; i++) {
        // float32 product, as the reference computes it
        const angle = Math.fround(p * Math.fround(invFreq[i]));
        const c = Math.cos(angle);
        const s = Math.sin(angle);
        cos[base + i] = c;
        cos[base + half + i] = c;
        sin[base + i] = s;
        sin[base + half + i] = s;
      }
    }
  }
  return { cos: tf.tensor4d(cos, [B, 1, T, dims]), sin: tf.tensor4d(sin, [B, 1, T, dims]) };
}

/** Applies RoPE to x [B, H, T, dh] on its first `dims` channels. */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  const dims = cos.shape[3];
  const dh = x.shape[3];
  const rot = dims === dh ? x : tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, dims]);
  const half = dims / 2;
  const x1 = tf.slice(rot, [0, 0, 0, 0], [-1, -1, -1, half]);
  const x2 = tf.slice(rot, [0, 0, 0, half], [-1, -1, -1, half]);
  const rotated = tf.concat([tf.neg(x2), x1], 3);
  const out = tf.add(tf.mul(rot, cos), tf.mul(rotated, sin)) as tf.Tensor4D;
  if (dims === dh) return out;
  return tf.concat([out, tf.slice(x, [0, 0, 0, dims], [-1, -1, -1, dh - dims])], 3) as tf.Tensor4D;
}

/**
 * One-hot selection matrix [B, P, T]: row p of sequence b picks position
 * positions[b][p]; -1 picks nothing (lets ragged lists share one P).
 */
export function selectionMatrix(positions: number[][], T: number): tf.Tensor3D {
  const B = positions.length;
  const P = positions[0]?.length ?? 0;
  const m = new Float32Array(B * P * T);
  for (let b = 0; b < B; b++) {
    if (positions[b].length !== P) throw new Error('selectionMatrix: every sequence needs the same number of positions (pad with -1)');
    for (let p = 0; p < P; p++) {
      const t = positions[b][p];
      if (t >= 0) m[(b * P + p) * T + t] = 1;
    }
  }
  return tf.tensor3d(m, [B, P, T]);
}

/** x [B, T, ...rest] → rows at the selected positions [B, P, ...rest], differentiable on every backend. */
export function gatherPositions(x: tf.Tensor, sel: tf.Tensor3D): tf.Tensor {
  const [B, T, ...rest] = x.shape;
  const flat = tf.reshape(x, [B, T, -1]) as tf.Tensor3D;
  return tf.reshape(tf.matMul(sel, flat), [B, sel.shape[1], ...rest]);
}

/** Adds delta [B, P, ...rest] back into x [B, T, ...rest] at the selected positions. */
export function scatterAddPositions(x: tf.Tensor, sel: tf.Tensor3D, delta: tf.Tensor): tf.Tensor {
  const [B, T, ...rest] = x.shape;
  const d = tf.reshape(delta, [B, sel.shape[1], -1]) as tf.Tensor3D;
  return tf.add(x, tf.reshape(tf.matMul(sel, d, true, false), [B, T, ...rest]));
}
