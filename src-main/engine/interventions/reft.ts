/**
 * The ReFT intervention family (Wu et al. 2024, arXiv 2404.03592), on d-wide vectors with rank r.
 *
 * | type     | edit Φ(h) − h              | pyreft class          | parameters (state keys, shapes)                                   |
 * |----------|----------------------------|-----------------------|-------------------------------------------------------------------|
 * | LoReFT   | Rᵀ(act(W h + b) − R h)     | LoreftIntervention    | rotate_layer [d,r], weight [r,d], bias [r]                        |
 * | NoReFT   | Pᵀ(act(W h + b) − P h − c) | NoreftIntervention    | proj_layer.weight [r,d], (proj_layer.bias [r]: addBias),          |
 * |          |                            |                       | learned_source.weight [r,d], learned_source.bias [r]              |
 * | DiReFT   | Rᵀ act(W h + b)            | DireftIntervention    | rotate_layer [d,r], learned_source.weight [r,d], learned_source.bias [r] |
 * | NodiReFT | Pᵀ act(W h + b)            | NodireftIntervention  | proj_layer.weight [r,d], (proj_layer.bias [r]: addBias, unused),  |
 * |          |                            |                       | learned_source.weight [r,d], learned_source.bias [r]              |
 * | ConsReFT | Rᵀ(b − R h)                | ConsreftIntervention  | rotate_layer [d,r], learned_source [r]                            |
 * | LobiReFT | Rᵀ b                       | LobireftIntervention  | rotate_layer [d,r], learned_source [r]                            |
 *
 * Layouts follow pyreft (pyreft/interventions.py) so that files can be exported for it:
 * - `rotate_layer` is pyreft's LowRankRotateLayer weight, [d, r], i.e. Rᵀ with orthonormal COLUMNS
 *   (R h is `h @ rotate_layer`, Rᵀ x is `x @ rotate_layerᵀ`). It is kept orthonormal by a
 *   retraction after each optimiser step (`afterStep`, see orthogonal.ts).
 * - W, b are a torch Linear(d → r): weight [r, d], bias [r] (W h + b is `h @ weightᵀ + bias`).
 * - P of NoReFT/NodiReFT is pyreft's `proj_layer`, a Linear(d → r) whose weight [r, d] is used both
 *   ways (P h = `h @ Pᵀ (+ c)`, Pᵀ x = `x @ P`), unconstrained. With pyreft's `add_bias` the
 *   projection has a bias c, which NoReFT subtracts with P h and NodiReFT never uses.
 * - ConsReFT/LobiReFT's b is pyreft's bare `learned_source` parameter [r].
 * State keys: LoReFT's are exactly the keys of pyreft's overridden `LoreftIntervention.state_dict()`
 * (`weight`, `bias`, `rotate_layer`). The other classes use torch's default `state_dict()`, whose
 * keys are ours for `learned_source*` and `proj_layer*`, plus two scalar buffers `embed_dim` and
 * `interchange_dim` (= d) from pyvene's base class; and their R lives inside torch's orthogonal
 * parametrization as `rotate_layer.parametrizations.weight.original` [d, r] and
 * `rotate_layer.parametrizations.weight.0.base` [d, d]. An exporter writes original = −I(d×r)
 * and base = any orthonormal completion [R | N] of our `rotate_layer` (what torch's
 * `right_inverse` itself stores, and the parametrization then evaluates to exactly R).
 * Here all orthogonal types store R under `rotate_layer`.
 *
 * Paper vs pyreft: the paper's DiReFT drops the orthogonality constraint; pyreft's
 * DireftIntervention keeps R orthonormal and its NodireftIntervention drops it. We follow pyreft:
 * DiReFT has an orthonormal R, NodiReFT an unconstrained P.
 *
 * Differences from pyreft, on purpose:
 * - Dropout multiplies the EDIT only: Φ(h) = h + dropout(edit). pyreft applies dropout to the whole
 *   output h + edit, which in training also zeroes (and rescales) the frozen representation h at
 *   the intervened positions. Inverted dropout (scale 1/(1 − p)), training mode only, seeded mask.
 *   Every type accepts dropout (pyreft's ConsReFT has none).
 * - The activation applies to W h + b only, so ConsReFT and LobiReFT (no W) take none.
 * - Init is seeded by our own PRNG (values differ from torch's, the distributions match):
 *   rotate_layer = torch.nn.init.orthogonal_ (QR of a Gaussian, positive-diagonal signs);
 *   Linear weight and bias ~ U(±1/√d) (torch's Linear default); constant b ~ U[0, 1) (torch.rand).
 */
import { SubspaceError } from '../errors.js';
import * as tf from '../tf.js';
import { orthogonalInit, orthonormalityError, orthonormalize, retractToStiefel } from './orthogonal.js';
import type { ApplyOptions, Intervention, InterventionConfig, TensorState } from './registry.js';
import { seededRandom } from '../random.js';

export const REFT_TYPES = ['LoReFT', 'NoReFT', 'DiReFT', 'NodiReFT', 'ConsReFT', 'LobiReFT'] as const;
export type ReftType = (typeof REFT_TYPES)[number];

export const ACTIVATIONS = ['identity', 'linear', 'relu', 'tanh', 'gelu'] as const;

interface ReftSpec {
  /** The pyreft class this type mirrors. */
  pyreft: string;
  /** rotate: orthonormal R stored [d, r]; proj: unconstrained P stored [r, d]. */
  projection: 'rotate' | 'proj';
  /** linear: act(W h + b); constant: b. */
  source: 'linear' | 'constant';
  /** Subtract the projection of h (R h / P h). */
  subtract: boolean;
}

const SPECS: Record<ReftType, ReftSpec> = {
  LoReFT: { pyreft: 'LoreftIntervention', projection: 'rotate', source: 'linear', subtract: true },
  NoReFT: { pyreft: 'NoreftIntervention', projection: 'proj', source: 'linear', subtract: true },
  DiReFT: { pyreft: 'DireftIntervention', projection: 'rotate', source: 'linear', subtract: false },
  NodiReFT: { pyreft: 'NodireftIntervention', projection: 'proj', source: 'linear', subtract: false },
  ConsReFT: { pyreft: 'ConsreftIntervention', projection: 'rotate', source: 'constant', subtract: true },
  LobiReFT: { pyreft: 'LobireftIntervention', projection: 'rotate', source: 'constant', subtract: false },
};

/** The pyreft class a type mirrors. */
export function pyreftClassName(type: ReftType): string {
  return SPECS[type].pyreft;
}

/** pyvene buffers that a pyreft default state_dict carries; accepted and ignored by `load`. */
const IGNORED_STATE_KEYS = new Set(['embed_dim', 'interchange_dim']);

interface KeyNames {
  projection: string;
  projectionBias?: string;
  weight?: string;
  bias: string;
}

function keyNames(type: ReftType, addBias: boolean): KeyNames {
  const s = SPECS[type];
  if (type === 'LoReFT') return { projection: 'rotate_layer', weight: 'weight', bias: 'bias' };
  const projection = s.projection === 'rotate' ? 'rotate_layer' : 'proj_layer.weight';
  const projectionBias = s.projection === 'proj' && addBias ? 'proj_layer.bias' : undefined;
  if (s.source === 'constant') return { projection, bias: 'learned_source' };
  return { projection, projectionBias, weight: 'learned_source.weight', bias: 'learned_source.bias' };
}

function checkDims(width: unknown, rank: unknown): void {
  if (typeof width !== 'number' || !Number.isInteger(width) || width < 1) {
    throw new SubspaceError('BAD_ARGUMENT', `width must be a positive integer, got ${String(width)}`, 'width');
  }
  if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 1 || rank > width) {
    throw new SubspaceError('BAD_ARGUMENT', `rank must be an integer from 1 to the width ${width}, got ${String(rank)}`, 'rank');
  }
}

/** Parameter count without allocating (LoReFT: 2·d·r + r). */
export function reftParameterCount(type: ReftType | string, width: number, rank: number, addBias = false): number {
  checkDims(width, rank);
  const s = SPECS[type as ReftType];
  if (!s) throw new SubspaceError('BAD_ARGUMENT', `unknown intervention type '${type}' (known: ${REFT_TYPES.join(', ')})`, 'type');
  const projection = width * rank + (s.projection === 'proj' && addBias ? rank : 0);
  const source = s.source === 'linear' ? rank * width + rank : rank;
  return projection + source;
}

// ---- seeded randomness ------------------------------------------------------------------------

/** A 32-bit mix of integers (splitmix-style finaliser), used to derive independent streams. */
function mix(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h = Math.imul(h ^ (Math.trunc(x) >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    h = (h + 0x6a09e667) >>> 0;
  }
  return h >>> 0;
}

function gaussianStream(seed: number): () => number {
  const u = seededRandom(seed);
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    let u1 = u();
    while (u1 <= 0) u1 = u();
    const radius = Math.sqrt(-2 * Math.log(u1));
    const angle = 2 * Math.PI * u();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}

const STREAM = { rotate: 1, source: 2, proj: 3, dropout: 4 } as const;

let instanceCounter = 0;

// ---- the intervention -------------------------------------------------------------------------

export class ReftIntervention implements Intervention {
  readonly type: ReftType;
  readonly width: number;
  readonly rank: number;
  readonly variables: tf.Variable[];
  readonly activation: string;
  readonly dropout: number;
  readonly seed: number;
  readonly addBias: boolean;
  /** Prefix of the variable names. */
  readonly name: string;
  /** Re-orthonormalises R; present on the types with an orthonormal R. */
  readonly afterStep?: () => void;

  private readonly spec: ReftSpec;
  private readonly keys: KeyNames;
  private readonly byKey = new Map<string, tf.Variable>();
  private readonly projectionVar: tf.Variable;
  private readonly projectionBiasVar?: tf.Variable;
  private readonly weightVar?: tf.Variable;
  private readonly biasVar: tf.Variable;
  private calls = 0;
  private disposed = false;

  constructor(type: ReftType, cfg: InterventionConfig) {
    if (!SPECS[type]) throw new SubspaceError('BAD_ARGUMENT', `unknown intervention type '${type}' (known: ${REFT_TYPES.join(', ')})`, 'type');
    if (!cfg || typeof cfg !== 'object') throw new SubspaceError('BAD_ARGUMENT', 'an intervention needs a config { width, rank }', 'cfg');
    checkDims(cfg.width, cfg.rank);
    this.type = type;
    this.spec = SPECS[type];
    this.width = cfg.width;
    this.rank = cfg.rank;

    const activation = (cfg.activation ?? 'identity').trim().toLowerCase();
    if (!(ACTIVATIONS as readonly string[]).includes(activation)) {
      throw new SubspaceError('BAD_ARGUMENT', `unknown activation '${cfg.activation}' (known: ${ACTIVATIONS.join(', ')})`, 'activation');
    }
    this.activation = activation === 'linear' ? 'identity' : activation;
    if (this.spec.source === 'constant' && this.activation !== 'identity') {
      throw new SubspaceError('BAD_ARGUMENT', `${type} has no W h + b for an activation to act on; leave activation unset`, 'activation');
    }

    const dropout = cfg.dropout ?? 0;
    if (typeof dropout !== 'number' || !Number.isFinite(dropout) || dropout < 0 || dropout >= 1) {
      throw new SubspaceError('BAD_ARGUMENT', `dropout must be a number in [0, 1), got ${String(cfg.dropout)}`, 'dropout');
    }
    this.dropout = dropout;

    const seed = cfg.seed ?? 0;
    if (typeof seed !== 'number' || !Number.isFinite(seed)) {
      throw new SubspaceError('BAD_ARGUMENT', `seed must be a finite number, got ${String(cfg.seed)}`, 'seed');
    }
    this.seed = Math.trunc(seed);

    this.addBias = cfg.addBias ?? false;
    if (this.addBias && this.spec.projection !== 'proj') {
      throw new SubspaceError('BAD_ARGUMENT', `addBias applies to NoReFT and NodiReFT only (the projection P); ${type} has an orthonormal R`, 'addBias');
    }

    this.name = cfg.name ?? `reft${instanceCounter++}_${type}`;
    this.keys = keyNames(type, this.addBias);

    const d = this.width;
    const r = this.rank;
    const bound = 1 / Math.sqrt(d);
    const uniformValues = (n: number, u: () => number, lo: number, hi: number) => {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * u();
      return out;
    };

    const initial: [string, number[], Float32Array][] = [];
    if (this.spec.projection === 'rotate') {
      initial.push([this.keys.projection, [d, r], Float32Array.from(orthogonalInit(d, r, gaussianStream(mix(this.seed, STREAM.rotate))))]);
    } else {
      const u = seededRandom(mix(this.seed, STREAM.proj));
      initial.push([this.keys.projection, [r, d], uniformValues(r * d, u, -bound, bound)]);
      if (this.keys.projectionBias) initial.push([this.keys.projectionBias, [r], uniformValues(r, u, -bound, bound)]);
    }
    const us = seededRandom(mix(this.seed, STREAM.source));
    if (this.keys.weight) {
      initial.push([this.keys.weight, [r, d], uniformValues(r * d, us, -bound, bound)]);
      initial.push([this.keys.bias, [r], uniformValues(r, us, -bound, bound)]);
    } else {
      initial.push([this.keys.bias, [r], uniformValues(r, us, 0, 1)]);
    }

    const registered = tf.engine().registeredVariables;
    for (const [key] of initial) {
      const full = `${this.name}/${key}`;
      if (registered[full]) {
        throw new SubspaceError('BAD_ARGUMENT', `a variable named '${full}' already exists: give this intervention another name, or dispose the old one`, 'name');
      }
    }
    this.variables = initial.map(([key, shape, values]) => {
      const v = tf.tidy(() => tf.variable(tf.tensor(values, shape, 'float32'), true, `${this.name}/${key}`));
      this.byKey.set(key, v);
      return v;
    });
    this.projectionVar = this.byKey.get(this.keys.projection)!;
    this.projectionBiasVar = this.keys.projectionBias ? this.byKey.get(this.keys.projectionBias) : undefined;
    this.weightVar = this.keys.weight ? this.byKey.get(this.keys.weight) : undefined;
    this.biasVar = this.byKey.get(this.keys.bias)!;

    if (this.spec.projection === 'rotate') {
      this.afterStep = () => {
        this.assertLive();
        retractToStiefel(this.projectionVar);
      };
    }
  }

  /** The pyreft class this intervention mirrors. */
  get pyreftClass(): string {
    return this.spec.pyreft;
  }

  /** The state keys, in the order of `variables`. */
  get stateKeys(): string[] {
    return [...this.byKey.keys()];
  }

  apply(h: tf.Tensor, opts: ApplyOptions = {}): tf.Tensor {
    this.assertLive();
    const d = this.width;
    const r = this.rank;
    if (h.rank < 1 || h.shape[h.rank - 1] !== d) {
      throw new SubspaceError(
        'SHAPE_MISMATCH',
        `${this.type} '${this.name}' edits vectors of width ${d}, got a value of shape [${h.shape.join(', ')}]`,
        'h',
      );
    }
    const drop = (opts.training ?? false) && this.dropout > 0;
    let mask: Float32Array | undefined;
    const rows = h.size / d;
    if (drop) {
      // The call's seed is combined with the intervention's own, so interventions given one step seed
      // still draw independent masks.
      const seed = opts.seed !== undefined ? mix(this.seed, STREAM.dropout, 0x5eed, Math.trunc(opts.seed)) : mix(this.seed, STREAM.dropout, this.calls++);
      const u = seededRandom(seed);
      const keep = 1 - this.dropout;
      const scale = 1 / keep;
      mask = new Float32Array(rows * d);
      for (let i = 0; i < mask.length; i++) mask[i] = u() < keep ? scale : 0;
    }
    return tf.tidy(() => {
      const x = tf.reshape(h, [rows, d]) as tf.Tensor2D;
      const s = this.spec;
      // The r-dimensional target: act(W h + b) or b, minus R h / P h (+ c) when subtracting.
      let low: tf.Tensor;
      if (s.source === 'linear') {
        low = this.activate(tf.add(tf.matMul(x, this.weightVar as tf.Tensor2D, false, true), this.biasVar));
      } else {
        low = tf.reshape(this.biasVar, [1, r]);
      }
      if (s.subtract) {
        let projected =
          s.projection === 'rotate'
            ? tf.matMul(x, this.projectionVar as tf.Tensor2D)
            : tf.matMul(x, this.projectionVar as tf.Tensor2D, false, true);
        if (this.projectionBiasVar) projected = tf.add(projected, this.projectionBiasVar);
        low = tf.sub(low, projected);
      }
      // Back to d: Rᵀ low = low @ rotate_layerᵀ, Pᵀ low = low @ proj_layer.weight.
      let edit =
        s.projection === 'rotate'
          ? tf.matMul(low as tf.Tensor2D, this.projectionVar as tf.Tensor2D, false, true)
          : tf.matMul(low as tf.Tensor2D, this.projectionVar as tf.Tensor2D);
      if (mask) edit = tf.mul(edit, tf.tensor2d(mask, [rows, d]));
      return tf.reshape(tf.add(x, edit), h.shape);
    });
  }

  private activate(x: tf.Tensor): tf.Tensor {
    switch (this.activation) {
      case 'relu':
        return tf.relu(x);
      case 'tanh':
        return tf.tanh(x);
      case 'gelu':
        return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
      default:
        return x;
    }
  }

  parameterCount(): number {
    return this.variables.reduce((n, v) => n + v.size, 0);
  }

  state(): TensorState {
    this.assertLive();
    const out: TensorState = {};
    for (const [key, v] of this.byKey) out[key] = { shape: v.shape.slice(), data: Float32Array.from(v.dataSync()) };
    return out;
  }

  load(state: TensorState): void {
    this.assertLive();
    if (!state || typeof state !== 'object') throw new SubspaceError('BAD_ARGUMENT', 'state must be an object of { shape, data } entries', 'state');
    const expected = this.stateKeys;
    const unknown = Object.keys(state).filter((k) => !this.byKey.has(k) && !IGNORED_STATE_KEYS.has(k));
    if (unknown.length > 0) {
      throw new SubspaceError(
        'BAD_ARGUMENT',
        `state has keys ${unknown.map((k) => `'${k}'`).join(', ')} that ${this.type} does not have (expected: ${expected.join(', ')})`,
        unknown[0],
      );
    }
    const values = new Map<string, Float32Array>();
    for (const [key, v] of this.byKey) {
      const entry = state[key];
      if (!entry) throw new SubspaceError('BAD_ARGUMENT', `state lacks '${key}' (${this.type} needs: ${expected.join(', ')})`, key);
      const shape = Array.isArray(entry.shape) ? entry.shape : [];
      if (shape.length !== v.rank || shape.some((n, i) => n !== v.shape[i])) {
        throw new SubspaceError('SHAPE_MISMATCH', `state '${key}' has shape [${shape.join(', ')}], expected [${v.shape.join(', ')}]`, key);
      }
      if (!entry.data || entry.data.length !== v.size) {
        throw new SubspaceError('SHAPE_MISMATCH', `state '${key}' has ${entry.data?.length ?? 0} values, expected ${v.size}`, key);
      }
      let data = Float32Array.from(entry.data);
      if (data.some((x) => !Number.isFinite(x))) throw new SubspaceError('BAD_ARGUMENT', `state '${key}' has non-finite values`, key);
      if (this.spec.projection === 'rotate' && key === this.keys.projection) {
        const err = orthonormalityError(data, this.width, this.rank);
        if (err > 1e-2) {
          throw new SubspaceError('BAD_ARGUMENT', `state '${key}' must have orthonormal columns for ${this.type}, but max |RᵀR − I| = ${err.toExponential(2)}`, key);
        }
        // Tolerate rounding (e.g. a half-precision file) by retracting; keep exact values otherwise.
        if (err > 1e-6) data = Float32Array.from(orthonormalize(data, this.width, this.rank));
      }
      values.set(key, data);
    }
    tf.tidy(() => {
      for (const [key, v] of this.byKey) v.assign(tf.tensor(values.get(key)!, v.shape, 'float32'));
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.variables) v.dispose();
  }

  private assertLive(): void {
    if (this.disposed) throw new SubspaceError('BAD_ARGUMENT', `${this.type} '${this.name}' was disposed`, this.name);
  }
}
