/**
 * Early stopping on the dev split, shared by the training loops (ReFT, LoFIT, the trained
 * baselines): after each epoch's dev evaluation, keeps the best epoch so far (and a snapshot of
 * its parameters) and says when `patience` epochs have passed without a better one. Each loop
 * passes the rule for "better" (`devImprovesBy` with the score its task reports), so their results
 * do not depend on this bookkeeping.
 */
import * as tf from '../tf.js';
import type { EvalResult } from '../eval/evaluate.js';

/** The early-stopping fields of a training run's result. */
export interface DevProgress<R> {
  dev: R[];
  bestEpoch: number;
  stoppedEarly: boolean;
}

export class BestEpoch<R, S> {
  bestEpoch = -1;
  /** The dev result of the best epoch (undefined before the first). */
  best: R | undefined;
  sinceBest = 0;
  bestState: S | undefined;

  constructor(
    private readonly improves: (r: R, best: R | undefined) => boolean,
    private readonly patience: number,
    /** Copies the current parameters; without it only the epoch is tracked. */
    private readonly snapshot?: () => S,
  ) {}

  /** Records the dev result of `epoch`; true when the run should stop (patience spent; 0: never). */
  record(epoch: number, r: R): boolean {
    if (this.improves(r, this.best)) {
      this.best = r;
      this.bestEpoch = epoch;
      if (this.snapshot) this.bestState = this.snapshot();
      this.sinceBest = 0;
      return false;
    }
    return this.patience > 0 && ++this.sinceBest >= this.patience;
  }

  /** Adds the dev result of `epoch` to `out.dev` and records it, keeping `out`'s best epoch and stop flag in step; true when the run should stop. */
  recordIn(out: DevProgress<R>, epoch: number, r: R): boolean {
    out.dev.push(r);
    const stop = this.record(epoch, r);
    out.bestEpoch = this.bestEpoch;
    if (stop) out.stoppedEarly = true;
    return stop;
  }

  /** The best epoch's snapshot when later epochs changed the parameters after it (`devCount`: epochs evaluated). */
  toRestore(devCount: number): S | undefined {
    return this.bestState !== undefined && this.bestEpoch !== devCount - 1 ? this.bestState : undefined;
  }
}

/** A dev epoch of LoFIT and the trained baselines: accuracy, the margin, MC1 (`preferCorrect`) and, for multiple-choice tasks, MC2. */
export interface ScoredDevRecord {
  epoch: number;
  accuracy: number;
  meanLogitDiff: number;
  preferCorrect: number;
  mc2?: number;
}

export function scoredDevRecord(epoch: number, r: EvalResult): ScoredDevRecord {
  const rec: ScoredDevRecord = { epoch, accuracy: r.accuracy, meanLogitDiff: r.meanLogitDiff, preferCorrect: r.preferCorrect };
  if (r.mc2 !== undefined) rec.mc2 = r.mc2;
  return rec;
}

/** The tie-break every dev record carries: the mean logit difference correct − first wrong answer. */
export interface DevMargin {
  meanLogitDiff: number;
}

/**
 * The rule "better dev epoch" of every training loop here: a higher score, or the same score with
 * a higher mean logit difference (correct − first wrong). Small dev sets often keep the same score
 * for several epochs while the margin still moves toward the answer, and the score alone would
 * stop those runs at their first epoch.
 */
export function devImprovesBy<R extends DevMargin>(score: (r: R) => number): (r: R, best: R | undefined) => boolean {
  return (r, best) => {
    if (!best) return true;
    const a = score(r);
    const b = score(best);
    if (a !== b) return a > b;
    return r.meanLogitDiff > best.meanLogitDiff;
  };
}

/** The rule on accuracy (ReFT, and completion tasks in LoFIT and the baselines). */
export const devImproves: (r: { accuracy: number; meanLogitDiff: number }, best: { accuracy: number; meanLogitDiff: number } | undefined) => boolean = devImprovesBy((r) => r.accuracy);

export function snapshotVariables(vars: tf.Variable[]): Float32Array[] {
  return vars.map((v) => (v.dataSync() as Float32Array).slice());
}

export function restoreVariables(vars: tf.Variable[], state: Float32Array[]): void {
  tf.tidy(() => vars.forEach((v, i) => v.assign(tf.tensor(state[i], v.shape))));
}
