import { describe, expect, it } from 'vitest';
import { devImproves } from '../../src-main/engine/methods/reft.js';

describe('early stopping on the dev split', () => {
  it('prefers higher accuracy, and at equal accuracy a larger logit difference', () => {
    expect(devImproves({ accuracy: 0, meanLogitDiff: -9 }, undefined)).toBe(true);
    expect(devImproves({ accuracy: 0, meanLogitDiff: -8 }, { accuracy: 0, meanLogitDiff: -9 })).toBe(true);
    expect(devImproves({ accuracy: 0, meanLogitDiff: -9 }, { accuracy: 0, meanLogitDiff: -9 })).toBe(false);
    expect(devImproves({ accuracy: 0.5, meanLogitDiff: -20 }, { accuracy: 0.25, meanLogitDiff: 3 })).toBe(true);
    expect(devImproves({ accuracy: 0.25, meanLogitDiff: 30 }, { accuracy: 0.5, meanLogitDiff: -3 })).toBe(false);
  });
});
