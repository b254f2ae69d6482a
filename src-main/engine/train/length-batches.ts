import { seededRandom, shuffleInPlace } from '../random.js';

/**
 * Endless batches of sequence indices, each batch made of sequences of about the
 * same length and holding at most `tokens` padded tokens. A batch pads to its
 * longest row, so mixing 7-token and 21-token lines spends a third of the
 * compute on padding; grouping by length spends almost none, and short lines
 * come many to a batch.
 *
 * Each pass over the corpus is shuffled with the seed, cut into chunks of
 * `chunk` sequences, each chunk sorted by length and cut into batches, and the
 * chunk's batches shuffled, so consecutive batches still come from across the mixture.
 */
export class LengthBatches {
  private readonly rand: () => number;
  private queue: number[][] = [];

  /** `lengths[i]` is the token count of sequence i. */
  constructor(
    private readonly lengths: number[],
    private readonly tokens: number,
    seed: number,
    private readonly chunk = 4096,
  ) {
    if (lengths.length === 0) throw new Error('LengthBatches: the corpus is empty');
    const longest = Math.max(...lengths);
    if (longest > tokens) throw new Error(`LengthBatches: a ${longest}-token sequence does not fit a budget of ${tokens} tokens`);
    this.rand = seededRandom(seed);
  }

  /** The indices of the next batch's sequences. */
  next(): number[] {
    if (this.queue.length === 0) this.refill();
    return this.queue.shift()!;
  }

  /** One pass over the corpus. */
  private refill(): void {
    const order = shuffleInPlace(
      this.lengths.map((_, i) => i),
      this.rand,
    );
    for (let c = 0; c < order.length; c += this.chunk) {
      // Stable sort: equal lengths keep their shuffled order.
      const part = order.slice(c, c + this.chunk).sort((a, b) => this.lengths[a] - this.lengths[b]);
      const batches: number[][] = [];
      let cur: number[] = [];
      for (const i of part) {
        // Sorted ascending, so the newcomer is the batch's longest row.
        if (cur.length > 0 && (cur.length + 1) * this.lengths[i] > this.tokens) {
          batches.push(cur);
          cur = [];
        }
        cur.push(i);
      }
      if (cur.length > 0) batches.push(cur);
      this.queue.push(...shuffleInPlace(batches, this.rand));
    }
  }
}
