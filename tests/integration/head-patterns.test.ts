import * as tf from '../../src-main/engine/tf.js';
import { describe, expect, it } from 'vitest';
import { headPatterns, taskTokens } from '../../src-main/engine/analysis/head-patterns.js';
import { Transformer } from '../../src-main/engine/model/transformer.js';
import { openModel } from '../../src-main/engine/open-model.js';
import { rankHeads } from '../../src-main/engine/methods/heads.js';
import { loadTask } from '../../src-main/engine/tasks/registry.js';
import { NONSENSE } from '../../src-main/engine/tasks/vocabulary.js';
import { useReferenceModels } from '../helpers/patching-fixtures.js';

const models = useReferenceModels();
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('head patterns', () => {
  it.each(['gpt2-tied', 'llama-gqa'])('on %s with zero queries and keys (uniform causal attention) equal the hand-computed 1/(t+1) means', (name) => {
    const m = models[name];
    const w = m.model.weights;
    const zero = <T extends tf.Tensor>(t: T | undefined) => (t ? (tf.zerosLike(t) as T) : undefined);
    const layers = w.layers.map((l) => ({ ...l, wq: zero(l.wq)!, wk: zero(l.wk)!, bq: zero(l.bq), bk: zero(l.bk) }));
    const uniform = new Transformer(m.spec, { ...w, layers });
    const L = 5;
    const o = m.tokenizer!.bosTokenId === undefined && m.spec.bosTokenId === undefined ? 0 : 1;
    try {
      const p = headPatterns(uniform, m.tokenizer, { length: L, sequences: 3 });
      // Row t attends to t + 1 positions with equal weight.
      const prev = mean(Array.from({ length: 2 * L - 1 }, (_, j) => 1 / (o + 1 + j + 1)));
      const second = mean(Array.from({ length: L }, (_, i) => 1 / (o + L + i + 1)));
      for (let l = 0; l < m.spec.nLayers; l++) {
        for (let h = 0; h < m.spec.nHeads; h++) {
          expect(p.previousToken[l][h]).toBeCloseTo(prev, 5);
          expect(p.duplicateToken[l][h]).toBeCloseTo(second, 5);
          expect(p.induction[l][h]).toBeCloseTo(second, 5);
        }
      }
    } finally {
      tf.dispose(layers.flatMap((l) => [l.wq, l.wk, l.bq, l.bk].filter((t) => t !== undefined)) as tf.Tensor[]);
    }
  });

  it('is seeded, and names a length the model cannot hold or a bad count', () => {
    const m = models['gpt2-tied'];
    const a = headPatterns(m.model, m.tokenizer, { sequences: 4, length: 6, seed: 3 });
    expect(headPatterns(m.model, m.tokenizer, { sequences: 4, length: 6, seed: 3 })).toEqual(a);
    expect(headPatterns(m.model, m.tokenizer, { sequences: 4, length: 6, seed: 4 }).induction).not.toEqual(a.induction);
    expect(() => headPatterns(m.model, m.tokenizer, { length: m.spec.maxPositions })).toThrow(/length .* more than the model's \d+ positions/);
    expect(() => headPatterns(m.model, m.tokenizer, { sequences: 0 })).toThrow(/sequences must be a whole number ≥ 1/);
    expect(() => headPatterns(m.model, m.tokenizer, { length: 1 })).toThrow(/length must be a whole number ≥ 2/);
  });

  it('draws from a task\'s tokens when asked, and names an id that is not an ordinary token', async () => {
    const m = await openModel('demo-gpt2');
    const task = await loadTask('induction');
    const pool = taskTokens(m.tokenizer!, task.splits.train);
    // The induction task is made of nonsense words only, all of them used.
    expect(new Set(pool.map((id) => m.tokenizer!.tokenStrings([id])[0].trim()))).toEqual(new Set(NONSENSE));
    const p = headPatterns(m.model, m.tokenizer, { sequences: 2, tokens: pool });
    expect(p.poolSize).toBe(NONSENSE.length);
    expect(() => headPatterns(m.model, m.tokenizer, { tokens: [m.tokenizer!.bosTokenId!, ...pool] })).toThrow(/tokens: 1 is not an ordinary token id/);
    expect(() => headPatterns(m.model, m.tokenizer, { tokens: pool.slice(0, 3) })).toThrow(/length 8 needs 8 distinct tokens; there are 3/);
  });

  it.each(['demo-gpt2', 'demo-llama'])('find the heads of %s that attend to the token to copy, on the induction task\'s tokens', async (name) => {
    const m = await openModel(name);
    const tokens = taskTokens(m.tokenizer!, (await loadTask('induction')).splits.train);
    const p = headPatterns(m.model, m.tokenizer, { tokens });
    const [l, h] = rankHeads(p.induction)[0];
    // Uniform causal attention would put 1/(t+1) on the target (BOS first, so t = L+1+i for the second copy's token i).
    const uniform = mean(Array.from({ length: p.length }, (_, i) => 1 / (p.length + i + 2)));
    expect(p.induction[l][h], `induction L${l}H${h}`).toBeGreaterThan(4 * uniform);
  });

  it("find demo-llama's induction circuit, which copies only the tokens it was taught to copy", async () => {
    const m = await openModel('demo-llama');
    const tokens = taskTokens(m.tokenizer!, (await loadTask('induction')).splits.train);
    const p = headPatterns(m.model, m.tokenizer, { tokens });
    const [il, ih] = rankHeads(p.induction)[0];
    expect(il, 'the induction head reads an earlier layer').toBeGreaterThan(0);
    const prev = Math.max(...p.previousToken.slice(0, il).flat());
    expect(prev, 'a previous-token head in an earlier layer').toBeGreaterThan(0.5);
    expect(p.induction[il][ih]).toBeGreaterThan(0.8);
    // On tokens drawn from the whole vocabulary the same head hardly attends to the token to copy.
    const wide = headPatterns(m.model, m.tokenizer);
    expect(wide.induction[il][ih]).toBeLessThan(0.5);
  });
});
