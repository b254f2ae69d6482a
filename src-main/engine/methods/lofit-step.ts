/**
 * One LoFIT training step's pieces, shared by the training loop (lofit.ts) and its
 * helper thread (lofit-shard.ts), which must compute the same loss on their rows.
 */
import * as tf from '../tf.js';
import type { SiteEdit, Transformer } from '../model/transformer.js';
import { completionLoss, supervisedBatch, targetLogProbs, type EncodedExample, type PrefixCache } from '../train/supervised.js';
import { dpoLoss, preferenceBatch, type PreferenceExample } from './dpo.js';
import { validateHeads, type HeadRef } from './heads.js';

/** Everything one step's task loss needs besides the rows of the batch. */
export interface StepData {
  model: Transformer;
  encoded: EncodedExample[];
  /** DPO: chosen and rejected completions, and the reference log-probabilities. */
  prefs?: PreferenceExample[];
  ref?: { chosen: ArrayLike<number>; rejected: ArrayLike<number> };
  beta: number;
  pad: number;
  cache?: PrefixCache;
}

/** Rows 0..n-1 of a prefix cache: prompt ⧺ completion; with DPO, rows n..2n-1: prompt ⧺ rejected. */
export function cacheRows(encoded: EncodedExample[], prefs?: PreferenceExample[]): { prompt: number[]; completion: number[] }[] {
  return prefs ? [...encoded, ...prefs.map((e) => ({ prompt: e.prompt, completion: e.rejected }))] : encoded;
}

/** The task loss of the batch made of these example indices (mean per completion token, or mean DPO loss per pair). */
export function stepTaskLoss(d: StepData, idx: number[], edits: SiteEdit[]): tf.Scalar {
  const n = d.encoded.length;
  const b = d.prefs ? preferenceBatch(idx.map((i) => d.prefs![i]), d.pad) : supervisedBatch(idx.map((i) => d.encoded[i]), d.pad);
  const rows = d.prefs ? [...idx, ...idx.map((i) => n + i)] : idx;
  const T = b.ids[0].length;
  const start = d.cache ? { layer: d.cache.layer, residual: d.cache.batch(rows, T) } : undefined;
  const r = d.model.forward({ inputIds: b.ids, attentionMask: b.mask }, { edits, start, logits: { positions: b.targetPositions } });
  return d.ref
    ? dpoLoss(targetLogProbs(r.logits!, b.targets), idx.map((i) => d.ref!.chosen[i]), idx.map((i) => d.ref!.rejected[i]), d.beta)
    : completionLoss(r.logits!, b.targets);
}

/** How much these rows weigh in the batch's mean loss: completion tokens, or pairs for DPO. */
export function rowsWeight(d: Pick<StepData, 'encoded' | 'prefs'>, idx: number[]): number {
  return d.prefs ? idx.length : idx.reduce((a, i) => a + d.encoded[i].completion.length, 0);
}

/** Step 1's edits: every head output scaled by (1 + A_l) [H, dh], broadcast over batch and positions. */
export function scaleEdits(scales: tf.Tensor[]): SiteEdit[] {
  return scales.map((A, l) => ({ site: 'head_output', layer: l, apply: (z: tf.Tensor) => tf.mul(z, tf.add(A, 1)) }));
}

/**
 * Step 2's offsets in the form training uses: a constant v_h on head h before the output
 * projection equals v_h·W_o[rows of h] added after it (the fold of `lofitBiasDelta`), so each
 * tuned layer gets one [1, d_model] add on `attention_output`. Same values and gradients as the
 * `head_output` edits of `lofitEdits`, without slicing the heads apart and joining them again,
 * and without a backward pass through W_o.
 */
export class FoldedOffsets {
  /** Per tuned layer: the indices of its heads in the head list and their stacked W_o rows [n·dh, d_model]. */
  private readonly layers: { layer: number; index: number[]; rows: tf.Tensor2D }[] = [];

  constructor(model: Transformer, heads: HeadRef[]) {
    validateHeads(heads, model.spec);
    const dh = model.spec.dHead;
    const byLayer = new Map<number, number[]>();
    heads.forEach(([l], i) => byLayer.set(l, [...(byLayer.get(l) ?? []), i]));
    for (const [layer, index] of [...byLayer].sort((a, b) => a[0] - b[0])) {
      const wo = model.weights.layers[layer].wo;
      const rows = tf.tidy(() => tf.concat(index.map((i) => tf.slice(wo, [heads[i][1] * dh, 0], [dh, -1])), 0) as tf.Tensor2D);
      this.layers.push({ layer, index, rows });
    }
  }

  /** The edits for the current offsets (one tensor of width dh per head, in head-list order). */
  edits(offsets: tf.Tensor[]): SiteEdit[] {
    return this.layers.map(({ layer, index, rows }) => ({
      site: 'attention_output',
      layer,
      apply: (out: tf.Tensor) => {
        const v = index.length === 1 ? offsets[index[0]] : tf.concat(index.map((i) => offsets[i]));
        return tf.add(out, tf.matMul(tf.reshape(v, [1, -1]), rows));
      },
    }));
  }

  dispose(): void {
    for (const { rows } of this.layers) rows.dispose();
    this.layers.length = 0;
  }
}

/** Splits a batch's indices into `parts` contiguous runs of near-equal size (none empty). */
export function splitRows(idx: number[], parts: number): number[][] {
  const k = Math.max(1, Math.min(parts, idx.length));
  const out: number[][] = [];
  for (let p = 0; p < k; p++) out.push(idx.slice(Math.floor((p * idx.length) / k), Math.floor(((p + 1) * idx.length) / k)));
  return out;
}
