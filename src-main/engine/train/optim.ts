import * as tf from '../tf.js';
import { SubspaceError } from '../errors.js';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay (AdamW); 0 gives plain Adam. */
  weightDecay?: number;
  /** Clip the global gradient norm to this value. */
  clipNorm?: number;
}

/** A tensor's values, as saved in a checkpoint. */
export interface SavedTensor {
  shape: number[];
  data: Float32Array;
}

/** The optimiser's moments and step count, for a checkpoint (one entry per variable, in order). */
export interface AdamWState {
  t: number;
  m: SavedTensor[];
  v: SavedTensor[];
}

/** Up to this many parameters in all, AdamW updates them in memory rather than with kernels. */
export const SMALL_PARAMETERS = 1 << 16;

/**
 * AdamW (Loshchilov & Hutter) with global-norm clipping. tfjs ships Adam
 * without decoupled weight decay, and its optimisers take no per-step rate.
 */
export class AdamW {
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private t = 0;
  private readonly o: Required<Omit<AdamWOptions, 'clipNorm'>> & { clipNorm?: number };

  constructor(
    readonly vars: tf.Variable[],
    opts: AdamWOptions = {},
  ) {
    this.o = { beta1: opts.beta1 ?? 0.9, beta2: opts.beta2 ?? 0.999, eps: opts.eps ?? 1e-8, weightDecay: opts.weightDecay ?? 0, clipNorm: opts.clipNorm };
    // In a tidy, so the zero tensors the variables copy from are freed.
    this.m = tf.tidy(() => vars.map((x) => tf.variable(tf.zerosLike(x), false)));
    this.v = tf.tidy(() => vars.map((x) => tf.variable(tf.zerosLike(x), false)));
  }

  /** Applies one update with learning rate `lr`; returns the gradient norm before clipping. */
  step(grads: tf.NamedTensorMap, lr: number): number {
    this.t++;
    const gs = this.vars.map((x) => grads[x.name]);
    return this.vars.reduce((n, x) => n + x.size, 0) <= SMALL_PARAMETERS ? this.stepInPlace(gs, lr) : this.stepWithKernels(gs, lr);
  }

  /**
   * The update on the values in memory: for the few thousand parameters of an intervention,
   * the fifteen or so kernels per variable of stepWithKernels cost more than the arithmetic.
   */
  private stepInPlace(gs: (tf.Tensor | undefined)[], lr: number): number {
    const { beta1, beta2, eps, weightDecay, clipNorm } = this.o;
    const g = gs.map((t) => t?.dataSync() as Float32Array | undefined);
    let sq = 0;
    for (const a of g) if (a) for (let j = 0; j < a.length; j++) sq += a[j] * a[j];
    const norm = Math.sqrt(sq);
    const scale = clipNorm !== undefined && norm > clipNorm ? clipNorm / (norm + 1e-6) : 1;
    const bc1 = 1 - Math.pow(beta1, this.t);
    const bc2 = 1 - Math.pow(beta2, this.t);
    const decay = 1 - lr * weightDecay;
    tf.tidy(() => {
      this.vars.forEach((x, i) => {
        const gi = g[i];
        if (!gi) return;
        const m = Float32Array.from(this.m[i].dataSync() as Float32Array);
        const v = Float32Array.from(this.v[i].dataSync() as Float32Array);
        const w = Float32Array.from(x.dataSync() as Float32Array);
        for (let j = 0; j < w.length; j++) {
          const gj = gi[j] * scale;
          m[j] = beta1 * m[j] + (1 - beta1) * gj;
          v[j] = beta2 * v[j] + (1 - beta2) * gj * gj;
          w[j] = w[j] * decay - (lr * (m[j] / bc1)) / (Math.sqrt(v[j] / bc2) + eps);
        }
        this.m[i].assign(tf.tensor(m, x.shape, 'float32'));
        this.v[i].assign(tf.tensor(v, x.shape, 'float32'));
        x.assign(tf.tensor(w, x.shape, 'float32'));
      });
    });
    return norm;
  }

  private stepWithKernels(gs: (tf.Tensor | undefined)[], lr: number): number {
    const { beta1, beta2, eps, weightDecay, clipNorm } = this.o;
    const norm = tf.tidy(() => tf.sqrt(tf.addN(gs.filter((g): g is tf.Tensor => g !== undefined).map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
    const scale = clipNorm !== undefined && norm > clipNorm ? clipNorm / (norm + 1e-6) : 1;
    const bc1 = 1 - Math.pow(beta1, this.t);
    const bc2 = 1 - Math.pow(beta2, this.t);
    tf.tidy(() => {
      this.vars.forEach((x, i) => {
        const g0 = gs[i];
        if (!g0) return;
        const g = scale === 1 ? g0 : tf.mul(g0, scale);
        const m = tf.add(tf.mul(this.m[i], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.v[i], beta2), tf.mul(tf.square(g), 1 - beta2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), eps));
        const decayed = weightDecay > 0 ? tf.mul(x, 1 - lr * weightDecay) : x;
        x.assign(tf.sub(decayed, tf.mul(update, lr)));
      });
    });
    return norm;
  }

  /** Steps taken so far. */
  get stepCount(): number {
    return this.t;
  }

  /** A copy of the moments and the step count (resuming from it continues the same run). */
  state(): AdamWState {
    const copy = (x: tf.Variable): SavedTensor => ({ shape: x.shape.slice(), data: Float32Array.from(x.dataSync() as Float32Array) });
    return { t: this.t, m: this.m.map(copy), v: this.v.map(copy) };
  }

  /** Restores what `state()` returned; refuses a state for other variables. */
  load(s: AdamWState): void {
    if (!s || !Number.isSafeInteger(s.t) || s.t < 0) throw new SubspaceError('BAD_ARGUMENT', `optimizer state: t must be a non-negative integer (got ${String(s?.t)})`, 'optimizer');
    for (const [name, saved, own] of [
      ['m', s.m, this.m],
      ['v', s.v, this.v],
    ] as const) {
      if (!Array.isArray(saved) || saved.length !== own.length) {
        throw new SubspaceError('SHAPE_MISMATCH', `optimizer state: ${name} has ${Array.isArray(saved) ? saved.length : 0} entries, expected ${own.length}`, 'optimizer');
      }
      saved.forEach((x, i) => {
        const want = own[i].shape;
        if (x.shape.length !== want.length || x.shape.some((n, j) => n !== want[j]) || x.data.length !== own[i].size) {
          throw new SubspaceError('SHAPE_MISMATCH', `optimizer state: ${name}[${i}] has shape [${x.shape.join(', ')}], expected [${want.join(', ')}]`, 'optimizer');
        }
      });
    }
    tf.tidy(() => {
      s.m.forEach((x, i) => this.m[i].assign(tf.tensor(x.data, this.m[i].shape, 'float32')));
      s.v.forEach((x, i) => this.v[i].assign(tf.tensor(x.data, this.v[i].shape, 'float32')));
    });
    this.t = s.t;
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}

/** Linear warm-up to `peak` over `warmup` steps, then linear decay to 0 at `total`. */
export function warmupLinear(step: number, total: number, warmup: number, peak: number): number {
  if (warmup > 0 && step < warmup) return (peak * (step + 1)) / warmup;
  const rest = Math.max(total - warmup, 1);
  return peak * Math.max(0, 1 - (step - warmup) / rest);
}
