import * as tf from '../tf.js';
import { SubspaceError } from '../errors.js';
import { gatherPositions, norm, selectionMatrix } from '../model/ops.js';
import type { Transformer } from '../model/transformer.js';

/**
 * logit-diff: mean of logit(correct) − logit(wrong).
 * normalised: (LD_patched − LD_corrupt) / (LD_clean − LD_corrupt) over batch means; 0 = the corrupt run, 1 = the clean run.
 * prob: mean probability of the target answer (needs the full vocabulary at the answer position, for the normaliser).
 * accuracy: share of pairs whose target answer scores highest among the example's answers.
 */
export const PATCH_METRICS = ['logit-diff', 'normalised', 'prob', 'accuracy'] as const;
export type PatchMetric = (typeof PATCH_METRICS)[number];

export function checkMetric(metric: string): PatchMetric {
  if (!(PATCH_METRICS as readonly string[]).includes(metric)) {
    throw new SubspaceError('BAD_ARGUMENT', `unknown metric '${metric}' (known: ${PATCH_METRICS.join(', ')})`, 'metric');
  }
  return metric as PatchMetric;
}

/** Per pair, the token ids a metric reads. */
export interface AnswerIds {
  correct: number[];
  wrong: number[];
  target: number[];
  candidates: number[][];
}

/** What one patched (or unpatched) row gives; the metrics are means over rows. */
export interface RowScore {
  logitDiff: number;
  /** log p(target); NaN when the full vocabulary was not unembedded. */
  logpTarget: number;
  /** Target scores highest among the candidates. */
  hit: boolean;
}

/** The means over the clean and corrupt runs that the normalised metric divides by. */
export interface Reference {
  cleanLogitDiff: number;
  corruptLogitDiff: number;
}

export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** A metric over the rows of one patch. NaN where it is undefined (normalised with equal clean and corrupt). */
export function aggregate(metric: PatchMetric, rows: readonly RowScore[], ref: Reference): number {
  switch (metric) {
    case 'logit-diff':
      return mean(rows.map((r) => r.logitDiff));
    case 'normalised': {
      const den = ref.cleanLogitDiff - ref.corruptLogitDiff;
      return Math.abs(den) < 1e-9 ? NaN : (mean(rows.map((r) => r.logitDiff)) - ref.corruptLogitDiff) / den;
    }
    case 'prob':
      return mean(rows.map((r) => Math.exp(r.logpTarget)));
    case 'accuracy':
      return mean(rows.map((r) => (r.hit ? 1 : 0)));
  }
}

/**
 * Reads the answers at one position per row without the full unembedding: the
 * final norm at that position, then dot products with only the unembedding rows
 * of the answer tokens. The full vocabulary is unembedded (at that position only)
 * when the metric needs p(target).
 */
export class AnswerReadout {
  /** [d, U]: the unembedding columns of every answer id. */
  private readonly cols: tf.Tensor2D;
  /** Per pair: [correct, wrong, target, ...candidates] as indices into `cols`, padded to K by repeating. */
  private readonly index: number[][];
  readonly K: number;

  constructor(
    private readonly model: Transformer,
    readonly answers: AnswerIds,
  ) {
    const n = answers.correct.length;
    const lists = Array.from({ length: n }, (_, b) => [answers.correct[b], answers.wrong[b], answers.target[b], ...answers.candidates[b]]);
    const unique = [...new Set(lists.flat())];
    const V = model.spec.vocabSize;
    for (const id of unique) {
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new SubspaceError('BAD_ARGUMENT', `answer token id ${id} is out of range for vocabulary size ${V}`, 'answers');
    }
    const pos = new Map(unique.map((id, i) => [id, i]));
    this.K = Math.max(...lists.map((l) => l.length));
    this.index = lists.map((l) => Array.from({ length: this.K }, (_, k) => pos.get(l[Math.min(k, l.length - 1)])!));
    this.cols = tf.tidy(() => tf.gather(model.weights.unembed, tf.tensor1d(unique, 'int32'), 1) as tf.Tensor2D);
  }

  dispose(): void {
    this.cols.dispose();
  }

  /**
   * residual [R, T, d] after the last layer; per row its answer position and its
   * pair. Returns the answer logits [R, K] and, with `full`, logsumexp over the vocabulary [R].
   */
  logits(residual: tf.Tensor, answerPos: readonly number[], rowPair: readonly number[], full: boolean): { picked: tf.Tensor2D; lse?: tf.Tensor1D } {
    return tf.tidy(() => {
      const [R, T] = residual.shape;
      const h = tf.reshape(gatherPositions(residual, selectionMatrix(answerPos.map((p) => [p]), T)), [R, -1]);
      const hn = norm(h, this.model.weights.lnf, this.model.spec.norm, this.model.spec.normEps) as tf.Tensor2D;
      // Every answer column for every row is one small product; each row then takes its own K
      // (a gather of R·K numbers, where gathering [R, K, d] unembedding rows is slow on wasm).
      const all = tf.matMul(hn, this.cols); // [R, U]
      const U = this.cols.shape[1];
      const idx = tf.tensor1d(rowPair.flatMap((b, r) => this.index[b].map((u) => r * U + u)), 'int32');
      const picked = tf.reshape(tf.gather(tf.reshape(all, [R * U]), idx), [R, this.K]) as tf.Tensor2D;
      if (!full) return { picked };
      const lse = tf.logSumExp(tf.matMul(hn, this.model.weights.unembed), 1) as tf.Tensor1D;
      return { picked, lse };
    });
  }

  /** Row scores from answer logits [R, K] (and lse [R]) read back from the device. */
  scores(picked: ArrayLike<number>, lse: ArrayLike<number> | undefined, R: number): RowScore[] {
    const K = this.K;
    return Array.from({ length: R }, (_, r) => {
      const l = (k: number) => picked[r * K + k];
      let best = -Infinity;
      for (let k = 3; k < K; k++) best = Math.max(best, l(k));
      return { logitDiff: l(0) - l(1), logpTarget: lse ? l(2) - lse[r] : NaN, hit: l(2) >= best };
    });
  }

  /** The same scores from full-vocabulary logits [R, V] at the answer positions (the plain path). */
  scoresFromFullLogits(logits: ArrayLike<number>, rowPair: readonly number[]): RowScore[] {
    const V = this.model.spec.vocabSize;
    const a = this.answers;
    return rowPair.map((b, r) => {
      const at = (id: number) => logits[r * V + id];
      let max = -Infinity;
      for (let v = 0; v < V; v++) max = Math.max(max, logits[r * V + v]);
      let sum = 0;
      for (let v = 0; v < V; v++) sum += Math.exp(logits[r * V + v] - max);
      const lse = max + Math.log(sum);
      const best = Math.max(...a.candidates[b].map(at));
      return { logitDiff: at(a.correct[b]) - at(a.wrong[b]), logpTarget: at(a.target[b]) - lse, hit: at(a.target[b]) >= best };
    });
  }
}
