/**
 * Direct preference optimisation (Rafailov et al. 2023) as LoFIT uses it for TruthfulQA:
 * chosen = the correct completion, rejected = the first wrong completion, the reference policy =
 * the frozen base model without edits. The reference log-probabilities never change during
 * training, so they are computed once per example, before the first step, and reused.
 */
import * as tf from '../tf.js';
import { SubspaceError } from '../errors.js';
import type { Transformer } from '../model/transformer.js';
import type { TaskExample } from '../tasks/schema.js';
import { supervisedBatch, targetLogProbs, type EncodedExample } from '../train/supervised.js';

export type PreferenceExample = Required<EncodedExample>;

/** Checks every encoded example has a rejected completion (its first wrong answer). */
export function requirePreferences(encoded: EncodedExample[], examples: TaskExample[], what = 'training split'): PreferenceExample[] {
  return encoded.map((e, i) => {
    if (!e.rejected || e.rejected.length === 0) {
      throw new SubspaceError('BAD_ARGUMENT', `example ${examples[i]?.id ?? i} of the ${what} has no wrong answer: the DPO loss needs one (its first wrong answer is the rejected completion); use loss 'ce' for this task`, 'loss');
    }
    return e as PreferenceExample;
  });
}

export interface ReferenceLogProbs {
  /** Sum of log-probabilities of each example's chosen completion under the base model. */
  chosen: Float32Array;
  rejected: Float32Array;
  /** Forward passes spent (each covers up to batchSize examples, chosen and rejected together). */
  forwards: number;
}

/** log π_ref(chosen | prompt) and log π_ref(rejected | prompt) for every example, batched, no edits. */
export function referenceLogProbs(model: Transformer, items: PreferenceExample[], pad: number, batchSize = 16): ReferenceLogProbs {
  const n = items.length;
  const chosen = new Float32Array(n);
  const rejected = new Float32Array(n);
  let forwards = 0;
  for (let s = 0; s < n; s += batchSize) {
    const chunk = items.slice(s, s + batchSize);
    const b = preferenceBatch(chunk, pad);
    const r = model.forward({ inputIds: b.ids, attentionMask: b.mask }, { logits: { positions: b.targetPositions } });
    forwards++;
    const lp = tf.tidy(() => targetLogProbs(r.logits!, b.targets));
    const data = lp.dataSync();
    tf.dispose([lp, r.logits!, ...Object.values(r.sites)]);
    chunk.forEach((_, k) => {
      chosen[s + k] = data[k];
      rejected[s + k] = data[chunk.length + k];
    });
  }
  return { chosen, rejected, forwards };
}

/** One right-padded batch: the chosen sequences first, then the rejected ones in the same order. */
export function preferenceBatch(items: PreferenceExample[], pad: number): ReturnType<typeof supervisedBatch> {
  return supervisedBatch([...items.map((e) => ({ prompt: e.prompt, completion: e.completion })), ...items.map((e) => ({ prompt: e.prompt, completion: e.rejected }))], pad);
}

/**
 * Mean over the batch of −log σ(β[(log π(c) − log π_ref(c)) − (log π(r) − log π_ref(r))]).
 * `policy` holds the chosen log-probabilities [B] then the rejected ones [B].
 */
export function dpoLoss(policy: tf.Tensor1D, refChosen: ArrayLike<number>, refRejected: ArrayLike<number>, beta: number): tf.Scalar {
  return tf.tidy(() => {
    const B = refChosen.length;
    const pc = tf.slice(policy, [0], [B]);
    const pr = tf.slice(policy, [B], [B]);
    const margin = tf.sub(tf.sub(pc, tf.tensor1d(Array.from(refChosen))), tf.sub(pr, tf.tensor1d(Array.from(refRejected))));
    // −log σ(x) = softplus(−x); tfjs's logSigmoid keeps its input for the backward pass outside the
    // gradient tape's saved tensors, so it breaks inside a tidy.
    return tf.mean(tf.softplus(tf.neg(tf.mul(margin, beta)))) as tf.Scalar;
  });
}
