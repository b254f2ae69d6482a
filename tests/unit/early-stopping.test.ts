import { describe, expect, it } from 'vitest';
import { BestEpoch, devImproves, devImprovesBy } from '../../src-main/engine/methods/best-epoch.js';
import { lofitDevScore, type LofitDevRecord } from '../../src-main/engine/methods/lofit.js';

/** Dev records of a run whose score stays flat while the margin keeps rising (a small dev set). */
const flat: LofitDevRecord[] = [
  { epoch: 0, accuracy: 0, meanLogitDiff: -6.6, preferCorrect: 0 },
  { epoch: 1, accuracy: 0, meanLogitDiff: -3.5, preferCorrect: 0.25 },
  { epoch: 2, accuracy: 0, meanLogitDiff: -2.8, preferCorrect: 0.5 },
  { epoch: 3, accuracy: 0, meanLogitDiff: -2.3, preferCorrect: 0.25 },
];

function bestOf(records: LofitDevRecord[], rule: (r: LofitDevRecord, best: LofitDevRecord | undefined) => boolean): number {
  const t = new BestEpoch<LofitDevRecord, number>(rule, 0);
  records.forEach((r) => t.record(r.epoch, r));
  return t.bestEpoch;
}

describe('early stopping on the dev split', () => {
  it('prefers higher accuracy, and at equal accuracy a larger logit difference', () => {
    expect(devImproves({ accuracy: 0, meanLogitDiff: -9 }, undefined)).toBe(true);
    expect(devImproves({ accuracy: 0, meanLogitDiff: -8 }, { accuracy: 0, meanLogitDiff: -9 })).toBe(true);
    expect(devImproves({ accuracy: 0, meanLogitDiff: -9 }, { accuracy: 0, meanLogitDiff: -9 })).toBe(false);
    expect(devImproves({ accuracy: 0.5, meanLogitDiff: -20 }, { accuracy: 0.25, meanLogitDiff: 3 })).toBe(true);
    expect(devImproves({ accuracy: 0.25, meanLogitDiff: 30 }, { accuracy: 0.5, meanLogitDiff: -3 })).toBe(false);
  });

  it('LoFIT and the baselines keep a later epoch when the score ties but the margin grows', () => {
    // Accuracy is 0 in every epoch: a strictly-higher-score rule keeps epoch 0.
    expect(bestOf(flat, devImprovesBy(lofitDevScore({ loss: 'ce', multipleChoice: false })))).toBe(3);
  });

  it('multiple-choice and DPO runs are scored by MC1 (the correct answer outscores every wrong one), not greedy accuracy', () => {
    expect(lofitDevScore({ loss: 'ce', multipleChoice: true })(flat[2])).toBe(0.5);
    expect(lofitDevScore({ loss: 'dpo', multipleChoice: false })(flat[2])).toBe(0.5);
    expect(lofitDevScore({ loss: 'ce', multipleChoice: false })(flat[2])).toBe(0);
    // MC1 peaks at epoch 2; later epochs have a larger margin but a lower MC1.
    expect(bestOf(flat, devImprovesBy(lofitDevScore({ loss: 'ce', multipleChoice: true })))).toBe(2);
  });

  it('keeps the best epoch and its snapshot, and stops once patience epochs bring nothing better', () => {
    let weights = 0;
    const t = new BestEpoch(devImproves, 2, () => weights);
    const runs = [
      { accuracy: 0.5, meanLogitDiff: 1 },
      { accuracy: 0.75, meanLogitDiff: 2 },
      { accuracy: 0.75, meanLogitDiff: 1.5 },
      { accuracy: 0.5, meanLogitDiff: 3 },
    ];
    const stops = runs.map((r, epoch) => {
      weights = 10 + epoch;
      return t.record(epoch, r);
    });
    // The same accuracy with a smaller margin is no improvement; the second epoch without one stops the run.
    expect(stops).toEqual([false, false, false, true]);
    expect(t.bestEpoch).toBe(1);
    expect(t.best).toEqual(runs[1]);
    expect(t.toRestore(4)).toBe(11);
    expect(t.toRestore(2)).toBeUndefined();
  });

  it('passes the caller\'s rule through (ties broken by logit difference) and never stops with patience 0', () => {
    const t = new BestEpoch(devImproves, 0);
    const runs = [{ accuracy: 0.5, meanLogitDiff: 1 }, { accuracy: 0.5, meanLogitDiff: 2 }, { accuracy: 0.25, meanLogitDiff: 9 }, { accuracy: 0.25, meanLogitDiff: 9 }];
    expect(runs.map((r, epoch) => t.record(epoch, r))).toEqual([false, false, false, false]);
    expect(t.bestEpoch).toBe(1);
    // Without patience the count is never kept.
    expect(t.sinceBest).toBe(0);
    // No snapshot function: nothing to restore.
    expect(t.toRestore(4)).toBeUndefined();
  });
});
