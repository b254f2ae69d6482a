import { describe, expect, it } from 'vitest';
import { devImproves } from '../../src-main/engine/methods/reft.js';
import { BestEpoch, higherScore } from '../../src-main/engine/methods/best-epoch.js';

describe('early stopping on the dev split', () => {
  it('prefers higher accuracy, and at equal accuracy a larger logit difference', () => {
    expect(devImproves({ accuracy: 0, meanLogitDiff: -9 }, undefined)).toBe(true);
    expect(devImproves({ accuracy: 0, meanLogitDiff: -8 }, { accuracy: 0, meanLogitDiff: -9 })).toBe(true);
    expect(devImproves({ accuracy: 0, meanLogitDiff: -9 }, { accuracy: 0, meanLogitDiff: -9 })).toBe(false);
    expect(devImproves({ accuracy: 0.5, meanLogitDiff: -20 }, { accuracy: 0.25, meanLogitDiff: 3 })).toBe(true);
    expect(devImproves({ accuracy: 0.25, meanLogitDiff: 30 }, { accuracy: 0.5, meanLogitDiff: -3 })).toBe(false);
  });

  it('keeps the best epoch and its snapshot, and stops once patience epochs bring nothing better', () => {
    let weights = 0;
    const t = new BestEpoch<number, number>(higherScore, 2, () => weights);
    const stops = [0.5, 0.75, 0.75, 0.5].map((acc, epoch) => {
      weights = 10 + epoch;
      return t.record(epoch, acc);
    });
    // An equal score is no improvement for the accuracy-only rule; the second epoch without one stops the run.
    expect(stops).toEqual([false, false, false, true]);
    expect(t.bestEpoch).toBe(1);
    expect(t.best).toBe(0.75);
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
