import * as tf from '../tf.js';
import type { Transformer } from '../model/transformer.js';

export interface LmBatch {
  /** Right-padded token ids [B, T]. */
  ids: number[][];
  mask: number[][];
  /** Per position, the weight of predicting the next token (0 at padding and at the last real token). */
  weights: number[][];
}

/**
 * Builds a next-token batch; `answerWeight` up-weights predicting each sequence's final token.
 * `from[i]`, where given, is the first position of row i whose prediction is trained (the
 * positions before it get weight 0).
 */
export function lmBatch(seqs: number[][], pad: number, answerWeight = 1, from?: (number | undefined)[]): LmBatch {
  const T = Math.max(...seqs.map((s) => s.length));
  const ids = seqs.map((s) => [...s, ...new Array(T - s.length).fill(pad)]);
  const mask = seqs.map((s) => [...s.map(() => 1), ...new Array(T - s.length).fill(0)]);
  const weights = seqs.map((s, i) =>
    Array.from({ length: T }, (_, t) => (t < (from?.[i] ?? 0) ? 0 : t < s.length - 2 ? 1 : t === s.length - 2 ? answerWeight : 0)),
  );
  return { ids, mask, weights };
}

/** Weighted mean next-token cross-entropy of a batch (a scalar, inside the caller's tape). */
export function lmLoss(model: Transformer, b: LmBatch): tf.Scalar {
  return tf.tidy(() => {
    const r = model.forward({ inputIds: b.ids, attentionMask: b.mask }, { logits: 'all' });
    const V = model.spec.vocabSize;
    const T = b.ids[0].length;
    const targets = tf.tensor2d(b.ids.map((row) => [...row.slice(1), 0]), [b.ids.length, T], 'int32');
    const logp = tf.logSoftmax(r.logits!);
    const picked = tf.sum(tf.mul(logp, tf.oneHot(targets, V)), -1);
    const w = tf.tensor2d(b.weights, [b.ids.length, T]);
    return tf.div(tf.neg(tf.sum(tf.mul(picked, w))), tf.maximum(tf.sum(w), 1)) as tf.Scalar;
  });
}
