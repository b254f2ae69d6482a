import { describe, expect, it } from 'vitest';
import { LengthBatches } from '../../src-main/engine/train/length-batches.js';

/** Lengths of 3 to 20 tokens. */
function corpus(n: number): number[] {
  return Array.from({ length: n }, (_, i) => 3 + ((i * 7) % 18));
}

describe('LengthBatches', () => {
  it('keeps every batch within the token budget, counting padding to its longest row', () => {
    const lengths = corpus(1000);
    const b = new LengthBatches(lengths, 256, 1, 300);
    for (let k = 0; k < 200; k++) {
      const batch = b.next();
      const longest = Math.max(...batch.map((i) => lengths[i]));
      expect(batch.length * longest).toBeLessThanOrEqual(256);
    }
  });

  it('serves each sequence exactly once per pass over the corpus', () => {
    const data = corpus(777);
    const b = new LengthBatches(data, 128, 3, 250);
    const seen: number[] = [];
    while (seen.length < data.length) seen.push(...b.next());
    expect(seen).toHaveLength(data.length);
    expect([...seen].sort((x, y) => x - y)).toEqual(data.map((_, i) => i));
  });

  it('groups rows of similar length, so little of a batch is padding', () => {
    const data = corpus(2000);
    const b = new LengthBatches(data, 320, 5, 1000);
    let real = 0;
    let padded = 0;
    for (let k = 0; k < 100; k++) {
      const batch = b.next();
      real += batch.reduce((a, i) => a + data[i], 0);
      padded += batch.length * Math.max(...batch.map((i) => data[i]));
    }
    expect(real / padded).toBeGreaterThan(0.9);
  });

  it('is seeded: the same seed gives the same batches, another seed others', () => {
    const take = (seed: number) => {
      const b = new LengthBatches(corpus(500), 200, seed, 128);
      return Array.from({ length: 30 }, () => b.next());
    };
    expect(take(9)).toEqual(take(9));
    expect(take(10)).not.toEqual(take(9));
  });

  it('names a sequence longer than the budget, and an empty corpus', () => {
    expect(() => new LengthBatches([2, 5], 4, 1)).toThrow(/5-token sequence does not fit a budget of 4/);
    expect(() => new LengthBatches([], 64, 1)).toThrow(/corpus is empty/);
  });
});
