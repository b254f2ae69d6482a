import * as tf from '../tf.js';
import { SubspaceError } from '../errors.js';
import type { ModelSpec } from '../model/config.js';
import { SITE_NAMES, isLayerSite, validateSite, type SiteName } from '../model/sites.js';
import type { PositionSpec } from './pairs.js';

/** Sites with a token axis that an interchange can swap: every layer site but attention patterns. */
export type PatchableSite = Exclude<SiteName, 'embeddings' | 'final_norm' | 'logits' | 'attention_pattern'>;

export const PATCHABLE_SITES: readonly PatchableSite[] = SITE_NAMES.filter((s): s is PatchableSite => isLayerSite(s) && s !== 'attention_pattern');

/** An orthonormal basis [width, k] of the subspace to swap, as nested arrays or a tensor. */
export type SubspaceBasis = number[][] | tf.Tensor2D;

/**
 * Where an interchange swaps values: a site at a layer (with a head for head
 * outputs), at some positions, optionally only the projection onto a subspace.
 */
export interface PatchSite {
  site: PatchableSite;
  layer: number;
  /** head_output only: one head's output z (width dHead). Without it, all heads (width nHeads·dHead). */
  head?: number;
  /** Default 'all'. */
  positions?: PositionSpec;
  /**
   * Swap only the projection onto span(B): h' = h + (h_src − h)·B·Bᵀ, with B [width, k]
   * orthonormal columns. Without it the whole value is swapped.
   */
  subspace?: SubspaceBasis;
}

/** The width of one position's value at a site (head_output without a head: all heads concatenated). */
export function siteWidth(spec: ModelSpec, site: PatchableSite, head?: number): number {
  switch (site) {
    case 'head_output':
      return head === undefined ? spec.nHeads * spec.dHead : spec.dHead;
    case 'mlp_hidden':
      return spec.dMlp;
    default:
      return spec.dModel;
  }
}

/** Checks site name, layer and head against the model; the error names what is wrong and what is allowed. */
export function checkPatchSite(spec: ModelSpec, s: PatchSite): void {
  if (!(PATCHABLE_SITES as readonly string[]).includes(s.site)) {
    throw new SubspaceError('BAD_ARGUMENT', `unknown or unpatchable site '${String(s.site)}' (patchable: ${PATCHABLE_SITES.join(', ')})`, 'site');
  }
  if (s.layer === undefined || !Number.isInteger(s.layer)) {
    throw new SubspaceError('BAD_ARGUMENT', `site '${s.site}' needs a whole-number layer (got ${String(s.layer)})`, 'layer');
  }
  validateSite({ site: s.site, layer: s.layer, head: s.head }, spec);
}

export interface ResolvedBasis {
  /** [width, k] */
  basis: tf.Tensor2D;
  /** [k, width], kept so the projection never multiplies by a transposed matrix. */
  basisT: tf.Tensor2D;
  k: number;
}

/**
 * Validates a subspace basis for a site and returns it as tensors the caller
 * disposes: shape [width, k] with 1 ≤ k ≤ width, orthonormal columns.
 */
export function resolveSubspace(spec: ModelSpec, s: PatchSite): ResolvedBasis | undefined {
  if (s.subspace === undefined) return undefined;
  const width = siteWidth(spec, s.site, s.head);
  const where = `the subspace of ${s.site}:${s.layer}${s.head !== undefined ? `.${s.head}` : ''}`;
  let rows: number;
  let k: number;
  let data: Float32Array;
  if (s.subspace instanceof tf.Tensor) {
    if (s.subspace.rank !== 2) throw new SubspaceError('SHAPE_MISMATCH', `${where} must be a basis [${width}, k]; got a tensor of shape [${s.subspace.shape.join(', ')}]`, 'subspace');
    [rows, k] = s.subspace.shape;
    data = Float32Array.from(s.subspace.dataSync());
  } else {
    const m = s.subspace;
    if (!Array.isArray(m) || m.length === 0 || !Array.isArray(m[0])) {
      throw new SubspaceError('SHAPE_MISMATCH', `${where} must be a basis [${width}, k] given as rows of numbers`, 'subspace');
    }
    rows = m.length;
    k = m[0].length;
    if (m.some((r) => !Array.isArray(r) || r.length !== k || r.some((v) => typeof v !== 'number' || !Number.isFinite(v)))) {
      throw new SubspaceError('SHAPE_MISMATCH', `${where}: every row must hold ${k} finite numbers`, 'subspace');
    }
    data = Float32Array.from(m.flat());
  }
  if (k > width) {
    throw new SubspaceError('BAD_ARGUMENT', `${where} has dimension ${k}, larger than the site's width ${width}`, 'subspace');
  }
  if (rows !== width || k < 1) {
    throw new SubspaceError('SHAPE_MISMATCH', `${where} must have shape [${width}, k] with 1 ≤ k ≤ ${width}; got [${rows}, ${k}]`, 'subspace');
  }
  // BᵀB = I: with other bases the edit would not be a swap of one projection.
  let worst = 0;
  for (let i = 0; i < k; i++) {
    for (let j = i; j < k; j++) {
      let dot = 0;
      for (let r = 0; r < rows; r++) dot += data[r * k + i] * data[r * k + j];
      worst = Math.max(worst, Math.abs(dot - (i === j ? 1 : 0)));
    }
  }
  if (worst > 1e-3) {
    throw new SubspaceError('BAD_ARGUMENT', `${where} must have orthonormal columns (|BᵀB − I| reaches ${worst.toFixed(4)}); orthonormalise it first`, 'subspace');
  }
  const basis = tf.tensor2d(data, [rows, k]);
  return { basis, basisT: tf.transpose(basis) as tf.Tensor2D, k };
}

/** The part of delta [..., width] inside span(B): delta·B·Bᵀ. Head outputs [..., H, dh] project their flattened heads. */
export function projectOnto(delta: tf.Tensor, b: ResolvedBasis): tf.Tensor {
  const width = b.basis.shape[0];
  const shape = delta.shape;
  const flat = tf.reshape(delta, [-1, width]) as tf.Tensor2D;
  return tf.reshape(tf.matMul(tf.matMul(flat, b.basis), b.basisT), shape);
}
