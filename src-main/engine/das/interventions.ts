/**
 * The three DAS interventions (Geiger et al., "Finding Alignments Between Interpretable Causal
 * Variables and Distributed Neural Representations"; pyvene's RotatedSpaceIntervention,
 * LowRankRotatedSpaceIntervention and BoundlessRotatedSpaceIntervention). Each maps a base value
 * and a source value at one site, both [..., d], to the intervened base value [..., d].
 *
 * Layout (pyvene's RotateLayer / LowRankRotateLayer): `rotate_layer` W has orthonormal COLUMNS and
 * rotates by right multiplication, so the rotated coordinates of h are `h @ W` and the way back is
 * `@ Wᵀ`.
 *
 * | variant   | W        | edit                                                                   |
 * |-----------|----------|------------------------------------------------------------------------|
 * | rotated   | [d, d]   | rotate both, take rotated dims [0, k) from the source, rotate back      |
 * | lowrank   | [d, k]   | h_b + (h_s W − h_b W) Wᵀ  (= h_b + Rᵀ(R h_s − R h_b) with R = Wᵀ)        |
 * | boundless | [d, d]   | rotate both, mix with a soft mask m: (1 − m)⊙(h_b W) + m⊙(h_s W), back  |
 *
 * Boundless mask, over rotated dims i = 0 … d−1 with learned boundary b ∈ [1e-3, 1] and temperature
 * τ: m_i = σ((i + ½)/τ) · σ((b·d − i − ½)/τ). As τ anneals (pyvene's tutorial: 50 → 0.1 over
 * training) the mask hardens into the block of the first ≈ b·d dims, so b·d is the learned width.
 * pyvene evaluates the same two sigmoids at the integer i, which leaves dim 0 at σ(0) = ½ however
 * low τ goes; we evaluate at the dim's centre i + ½ so every dim becomes fully in or out.
 *
 * Orthonormality is kept by a retraction after every optimiser step (the polar factor, the nearest
 * matrix with orthonormal columns), as for ReFT; see `retractRotation`.
 */
import { SubspaceError } from '../errors.js';
import * as tf from '../tf.js';
import { orthogonalInit, orthonormalityError, orthonormalize } from '../interventions/orthogonal.js';
import type { TensorState } from '../interventions/registry.js';
import { seededRandom } from '../random.js';

export const DAS_VARIANTS = ['rotated', 'lowrank', 'boundless'] as const;
export type DasVariant = (typeof DAS_VARIANTS)[number];

/** The pyvene class each variant mirrors. */
export const PYVENE_CLASS: Record<DasVariant, string> = {
  rotated: 'RotatedSpaceIntervention',
  lowrank: 'LowRankRotatedSpaceIntervention',
  boundless: 'BoundlessRotatedSpaceIntervention',
};

export interface DasInterventionOptions {
  /** d: the width of the site's vectors. */
  width: number;
  /**
   * k: rotated: the interchanged block [0, k); lowrank: the columns of W; boundless: the initial
   * width (the boundary starts at k / d).
   */
  dim: number;
  seed?: number;
  /** Prefix of the tfjs variable names; default a fresh `das<n>_<variant>`. */
  name?: string;
}

/** What boundless DAS has learned: the boundary as a fraction of d and as a number of dims. */
export interface BoundaryReport {
  /** b ∈ [1e-3, 1]. */
  boundary: number;
  /** b · d: the learned width of the interchanged block, in dims. */
  width: number;
  temperature: number;
  /** Rotated dims whose mask value is above ½ at the current temperature. */
  maskedDims: number;
}

export function resolveVariant(v: string): DasVariant {
  const key = String(v).trim().toLowerCase();
  const found = DAS_VARIANTS.find((x) => x === key || PYVENE_CLASS[x].toLowerCase() === key);
  if (!found) throw new SubspaceError('BAD_ARGUMENT', `unknown DAS variant '${v}' (known: ${DAS_VARIANTS.join(', ')})`, 'variant');
  return found;
}

/** Refuses a subspace dimension that is not a whole number from 1 to the site's width. */
export function checkDim(dim: unknown, width: number): void {
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1 || dim > width) {
    throw new SubspaceError('BAD_ARGUMENT', `subspace dimension ${String(dim)} must be a whole number from 1 to the site's width ${width}`, 'dim');
  }
}

/** Trainable scalars without allocating: rotated/boundless d² (+1 boundary), lowrank d·k. */
export function dasParameterCount(variant: DasVariant, width: number, dim: number): number {
  if (variant === 'lowrank') return width * dim;
  return width * width + (variant === 'boundless' ? 1 : 0);
}

function gaussian(seed: number): () => number {
  const u = seededRandom(seed);
  return () => {
    let a = u();
    while (a <= 0) a = u();
    return Math.sqrt(-2 * Math.log(a)) * Math.cos(2 * Math.PI * u());
  };
}

/**
 * Replaces W [rows, cols] (rows ≥ cols) by its polar factor, the nearest matrix with orthonormal
 * columns. Near the manifold (every step of a sane learning rate) this is a few Newton–Schulz
 * iterations X ← X(3I − XᵀX)/2, which converge quadratically to the same polar factor that
 * `orthonormalize` computes by an eigendecomposition (the fallback far from the manifold). Small
 * matrices iterate in float64 in JavaScript; large ones (a full d × d rotation) as tensor products,
 * in float32, where the eigendecomposition would take a large fraction of a second per step: the
 * float32 result is orthonormal to ~1e-6, and since every step projects afresh the error does not
 * accumulate.
 */
export function retractRotation(v: tf.Variable): void {
  const [rows, cols] = v.shape as [number, number];
  if (rows * cols * cols <= 1 << 20) {
    const q = polarFactor(v.dataSync(), rows, cols);
    tf.tidy(() => v.assign(tf.tensor2d(Float32Array.from(q), [rows, cols])));
    return;
  }
  const eye = tf.eye(cols);
  try {
    for (let it = 0; it < 12; it++) {
      const err = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.matMul(v, v, true, false), eye))).dataSync()[0]);
      if (!(err < 0.5)) break;
      if (err < 2e-6) return;
      tf.tidy(() => {
        const g = tf.matMul(v, v, true, false);
        v.assign(tf.sub(tf.mul(v, 1.5), tf.mul(tf.matMul(v, g), 0.5)));
      });
    }
  } finally {
    eye.dispose();
  }
  const q = polarFactor(v.dataSync(), rows, cols);
  tf.tidy(() => v.assign(tf.tensor2d(Float32Array.from(q), [rows, cols])));
}

/** The polar factor of a row-major [rows, cols] matrix in float64 (Newton–Schulz near the manifold). */
export function polarFactor(data: ArrayLike<number>, rows: number, cols: number): Float64Array {
  let x = Float64Array.from(data);
  for (let it = 0; it < 12; it++) {
    const g = gramOf(x, rows, cols);
    let err = 0;
    for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) err = Math.max(err, Math.abs(g[i * cols + j] - (i === j ? 1 : 0)));
    if (!(err < 0.5)) break;
    if (err < 1e-12) return x;
    // M = (3I − G) / 2, then X ← X M.
    for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) g[i * cols + j] = ((i === j ? 3 : 0) - g[i * cols + j]) / 2;
    const next = new Float64Array(rows * cols);
    for (let a = 0; a < rows; a++) {
      const o = a * cols;
      for (let k = 0; k < cols; k++) {
        const xa = x[o + k];
        if (xa === 0) continue;
        const gk = k * cols;
        for (let j = 0; j < cols; j++) next[o + j] += xa * g[gk + j];
      }
    }
    x = next;
  }
  return orthonormalize(data, rows, cols);
}

function gramOf(x: Float64Array, rows: number, cols: number): Float64Array {
  const g = new Float64Array(cols * cols);
  for (let a = 0; a < rows; a++) {
    const o = a * cols;
    for (let i = 0; i < cols; i++) {
      const xi = x[o + i];
      if (xi === 0) continue;
      const gi = i * cols;
      for (let j = i; j < cols; j++) g[gi + j] += xi * x[o + j];
    }
  }
  for (let i = 0; i < cols; i++) for (let j = 0; j < i; j++) g[i * cols + j] = g[j * cols + i];
  return g;
}

let instanceCounter = 0;

/** One DAS intervention at one site; `apply(base, source)` is differentiable in its variables. */
export class DasIntervention {
  readonly variant: DasVariant;
  readonly width: number;
  readonly dim: number;
  readonly seed: number;
  readonly name: string;
  /** `rotate_layer`: [d, d] (rotated, boundless) or [d, k] (lowrank), orthonormal columns. */
  readonly rotation: tf.Variable;
  /** Boundless only: `intervention_boundaries` [1], the boundary b as a fraction of d. */
  readonly boundary?: tf.Variable;
  /** Boundless only: the mask temperature τ; the trainer anneals it (not a trained parameter). */
  temperature = 50;
  private disposed = false;

  constructor(variant: DasVariant | string, opts: DasInterventionOptions) {
    this.variant = resolveVariant(variant);
    const d = opts.width;
    if (!Number.isInteger(d) || d < 1) throw new SubspaceError('BAD_ARGUMENT', `width must be a positive whole number, got ${String(d)}`, 'width');
    checkDim(opts.dim, d);
    this.width = d;
    this.dim = opts.dim;
    this.seed = Math.trunc(opts.seed ?? 0);
    this.name = opts.name ?? `das${instanceCounter++}_${this.variant}`;
    const cols = this.variant === 'lowrank' ? this.dim : d;
    const init = Float32Array.from(orthogonalInit(d, cols, gaussian(this.seed)));
    const registered = tf.engine().registeredVariables;
    for (const key of ['rotate_layer', 'intervention_boundaries']) {
      if (registered[`${this.name}/${key}`]) {
        throw new SubspaceError('BAD_ARGUMENT', `a variable named '${this.name}/${key}' already exists: give this intervention another name, or dispose the old one`, 'name');
      }
    }
    this.rotation = tf.tidy(() => tf.variable(tf.tensor2d(init, [d, cols]), true, `${this.name}/rotate_layer`));
    if (this.variant === 'boundless') {
      this.boundary = tf.tidy(() => tf.variable(tf.tensor1d([this.dim / d]), true, `${this.name}/intervention_boundaries`));
    }
  }

  get variables(): tf.Variable[] {
    return this.boundary ? [this.rotation, this.boundary] : [this.rotation];
  }

  parameterCount(): number {
    return this.variables.reduce((n, v) => n + v.size, 0);
  }

  /**
   * The intervened base values. `base` and `source` have one shape [..., d]: row i of the source
   * is interchanged into row i of the base.
   */
  apply(base: tf.Tensor, source: tf.Tensor): tf.Tensor {
    this.assertLive();
    const d = this.width;
    if (base.rank < 1 || base.shape[base.rank - 1] !== d) {
      throw new SubspaceError('SHAPE_MISMATCH', `DAS (${this.variant}) edits vectors of width ${d}, but the base value has shape [${base.shape.join(', ')}]`, 'base');
    }
    if (source.rank < 1 || source.shape[source.rank - 1] !== d) {
      throw new SubspaceError('SHAPE_MISMATCH', `DAS (${this.variant}) edits vectors of width ${d}, but the source value has shape [${source.shape.join(', ')}]`, 'source');
    }
    if (base.shape[0] !== source.shape[0]) {
      throw new SubspaceError('SHAPE_MISMATCH', `base and source batches differ in size: ${base.shape[0]} base rows but ${source.shape[0]} source rows`, 'source');
    }
    if (base.rank !== source.rank || base.shape.some((n, i) => n !== source.shape[i])) {
      throw new SubspaceError('SHAPE_MISMATCH', `base [${base.shape.join(', ')}] and source [${source.shape.join(', ')}] must have one shape`, 'source');
    }
    const rows = base.size / d;
    return tf.tidy(() => {
      const b = tf.reshape(base, [rows, d]) as tf.Tensor2D;
      const s = tf.reshape(source, [rows, d]) as tf.Tensor2D;
      const W = this.rotation as tf.Tensor2D;
      let out: tf.Tensor;
      if (this.variant === 'lowrank') {
        // Linear in the difference: one product instead of rotating both.
        out = tf.add(b, tf.matMul(tf.matMul(tf.sub(s, b), W), W, false, true));
      } else {
        const rb = tf.matMul(b, W);
        const rs = tf.matMul(s, W);
        const mask = this.variant === 'rotated' ? this.blockMask() : this.softMask();
        const mixed = tf.add(rb, tf.mul(mask, tf.sub(rs, rb)));
        out = tf.matMul(mixed, W, false, true);
      }
      return tf.reshape(out, base.shape);
    });
  }

  /** [d]: 1 on the interchanged block [0, k), 0 elsewhere. */
  private blockMask(): tf.Tensor1D {
    const m = new Float32Array(this.width);
    m.fill(1, 0, this.dim);
    return tf.tensor1d(m);
  }

  /** [d]: σ((i + ½)/τ) · σ((b·d − i − ½)/τ), differentiable in b. */
  private softMask(): tf.Tensor1D {
    const d = this.width;
    const centres = tf.add(tf.range(0, d, 1, 'float32'), 0.5);
    const t = this.temperature;
    const b = tf.mul(tf.clipByValue(this.boundary!, 1e-3, 1), d);
    return tf.mul(tf.sigmoid(tf.div(centres, t)), tf.sigmoid(tf.div(tf.sub(b, centres), t))) as tf.Tensor1D;
  }

  /** The current mask over rotated dims (rotated: the 0/1 block; lowrank: all ones over its k columns). */
  mask(): Float32Array {
    this.assertLive();
    if (this.variant === 'lowrank') return new Float32Array(this.dim).fill(1);
    return tf.tidy(() => (this.variant === 'rotated' ? this.blockMask() : this.softMask()).dataSync() as Float32Array).slice();
  }

  /** Boundless only: the learned boundary and width. */
  boundaryReport(): BoundaryReport | undefined {
    if (!this.boundary) return undefined;
    const b = Math.min(1, Math.max(1e-3, this.boundary.dataSync()[0]));
    return { boundary: b, width: b * this.width, temperature: this.temperature, maskedDims: Array.from(this.mask()).filter((x) => x > 0.5).length };
  }

  /** Re-orthonormalises W and keeps the boundary inside [1e-3, 1]; call after every optimiser step. */
  afterStep(): void {
    this.assertLive();
    retractRotation(this.rotation);
    if (this.boundary) {
      const b = this.boundary.dataSync()[0];
      const c = Math.min(1, Math.max(1e-3, b));
      if (c !== b) tf.tidy(() => this.boundary!.assign(tf.tensor1d([c])));
    }
  }

  /** max |WᵀW − I|. */
  orthonormalityError(): number {
    const [rows, cols] = this.rotation.shape as [number, number];
    return orthonormalityError(this.rotation.dataSync(), rows, cols);
  }

  /** Parameter values under pyvene's state-dict names. */
  state(): TensorState {
    this.assertLive();
    const copy = (v: tf.Variable) => ({ shape: v.shape.slice(), data: Float32Array.from(v.dataSync()) });
    const out: TensorState = { rotate_layer: copy(this.rotation) };
    if (this.boundary) {
      out.intervention_boundaries = copy(this.boundary);
      out.temperature = { shape: [1], data: Float32Array.of(this.temperature) };
    }
    return out;
  }

  load(state: TensorState): void {
    this.assertLive();
    const expected = this.boundary ? ['rotate_layer', 'intervention_boundaries', 'temperature'] : ['rotate_layer'];
    const unknown = Object.keys(state ?? {}).filter((k) => !expected.includes(k));
    if (unknown.length) throw new SubspaceError('BAD_ARGUMENT', `state has keys ${unknown.join(', ')} that DAS (${this.variant}) does not have (expected: ${expected.join(', ')})`, unknown[0]);
    const take = (key: string, shape: number[]): Float32Array => {
      const e = state[key];
      if (!e) throw new SubspaceError('BAD_ARGUMENT', `state lacks '${key}' (DAS ${this.variant} needs: ${expected.join(', ')})`, key);
      if (e.shape.length !== shape.length || e.shape.some((n, i) => n !== shape[i]) || e.data.length !== shape.reduce((a, n) => a * n, 1)) {
        throw new SubspaceError('SHAPE_MISMATCH', `state '${key}' has shape [${e.shape.join(', ')}], expected [${shape.join(', ')}]`, key);
      }
      if (e.data.some((x) => !Number.isFinite(x))) throw new SubspaceError('BAD_ARGUMENT', `state '${key}' has non-finite values`, key);
      return Float32Array.from(e.data);
    };
    const [rows, cols] = this.rotation.shape as [number, number];
    let w = take('rotate_layer', [rows, cols]);
    const err = orthonormalityError(w, rows, cols);
    if (err > 1e-2) throw new SubspaceError('BAD_ARGUMENT', `state 'rotate_layer' must have orthonormal columns, but max |WᵀW − I| = ${err.toExponential(2)}`, 'rotate_layer');
    if (err > 1e-6) w = Float32Array.from(polarFactor(w, rows, cols));
    const b = this.boundary ? take('intervention_boundaries', [1]) : undefined;
    const t = this.boundary ? take('temperature', [1])[0] : undefined;
    if (t !== undefined && !(t > 0)) throw new SubspaceError('BAD_ARGUMENT', `state 'temperature' must be positive, got ${t}`, 'temperature');
    tf.tidy(() => {
      this.rotation.assign(tf.tensor2d(w, [rows, cols]));
      if (b) this.boundary!.assign(tf.tensor1d(b));
    });
    if (t !== undefined) this.temperature = t;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.variables) v.dispose();
  }

  private assertLive(): void {
    if (this.disposed) throw new SubspaceError('BAD_ARGUMENT', `DAS intervention '${this.name}' was disposed`, this.name);
  }
}
