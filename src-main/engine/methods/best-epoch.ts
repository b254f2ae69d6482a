/**
 * Early stopping on the dev split, shared by the training loops (ReFT, LoFIT, the trained
 * baselines): after each epoch's dev evaluation, keeps the best epoch so far (and a snapshot of
 * its parameters) and says when `patience` epochs have passed without a better one. Each loop
 * passes its own rule for "better", so their results do not depend on this bookkeeping.
 */
import * as tf from '../tf.js';

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

  /** The best epoch's snapshot when later epochs changed the parameters after it (`devCount`: epochs evaluated). */
  toRestore(devCount: number): S | undefined {
    return this.bestState !== undefined && this.bestEpoch !== devCount - 1 ? this.bestState : undefined;
  }
}

/** The rule of LoFIT and the trained baselines: a strictly higher score. */
export function higherScore(x: number, best: number | undefined): boolean {
  return x > (best ?? -Infinity);
}

export function snapshotVariables(vars: tf.Variable[]): Float32Array[] {
  return vars.map((v) => (v.dataSync() as Float32Array).slice());
}

export function restoreVariables(vars: tf.Variable[], state: Float32Array[]): void {
  tf.tidy(() => vars.forEach((v, i) => v.assign(tf.tensor(state[i], v.shape))));
}
