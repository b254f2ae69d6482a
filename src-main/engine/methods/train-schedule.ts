/**
 * The optimisation settings every training loop here shares (ReFT, LoFIT, the trained baselines):
 * AdamW with warm-up and linear decay, global gradient-norm clipping, a seeded batch order, and
 * early stopping on the dev split by the method's own score.
 */
export interface TrainSchedule {
  epochs: number;
  lr: number;
  batchSize: number;
  /** The share of all steps spent warming up the learning rate. */
  warmupRatio: number;
  /** AdamW decoupled weight decay. */
  weightDecay: number;
  clipNorm: number;
  seed: number;
  /** Stop after this many epochs without a better dev score (each method's score, ties broken by logit difference; 0: never). */
  patience: number;
}
