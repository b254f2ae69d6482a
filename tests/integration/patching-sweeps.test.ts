import { describe, expect, it } from 'vitest';
import { flatValues } from '../../src-main/engine/patching/index.js';
import { compareWithNaive } from '../helpers/patching.js';
import { useReferenceModels, wordPairExamples } from '../helpers/patching-fixtures.js';

const models = useReferenceModels();

describe.each(['gpt2-tied', 'llama-gqa'])('batched exact sweeps equal one forward per patch on %s', (name) => {
  it.each(['denoise', 'noise'] as const)('heads, resid, attn and mlp, %s', (direction) => {
    const m = models[name];
    const ex = wordPairExamples(4, 1);
    const L = m.spec.nLayers;
    const h = compareWithNaive(m, ex, { kind: 'heads', direction });
    expect(h.exact.values).toHaveLength(L);
    expect(h.exact.values[0]).toHaveLength(m.spec.nHeads);
    expect(h.exact.stats.forwards).toBeLessThan(h.naive.stats.forwards);
    const r = compareWithNaive(m, ex, { kind: 'resid', direction, positions: ['A', 'B', 'last'], memoryMiB: 0.05 });
    expect(r.exact.stats.forwards).toBeGreaterThan(3); // several chunks, each from its own start layer
    // At the last layer only the answer position matters, and there the patch gives the other run.
    expect(r.exact.values[L - 1][0]).toBeCloseTo(r.exact.unpatched, 5);
    expect(r.exact.values[L - 1][2]).toBeCloseTo(direction === 'denoise' ? r.exact.clean : r.exact.corrupt, 4);
    compareWithNaive(m, ex, { kind: 'attn', direction, positions: ['A', 'last'] });
    compareWithNaive(m, ex, { kind: 'mlp', direction, positions: ['B', 'last'] });
  });

  it('heads per position, with sources of other lengths (positions by role)', () => {
    const m = models[name];
    const ex = wordPairExamples(4, 2, true);
    const per = compareWithNaive(m, ex, { kind: 'heads', perPosition: true, positions: ['A', 'B', 'last'], heads: [0, 3], direction: 'noise', memoryMiB: 0.1 });
    expect(per.exact.values).toHaveLength(m.spec.nLayers);
    expect(per.exact.values[0]).toHaveLength(2);
    expect(per.exact.values[0][1]).toHaveLength(3);
    compareWithNaive(m, ex, { kind: 'resid', positions: ['B', 'A'] });
  });

  it('the residual stream before each block, by token index; every metric read from the answer rows equals the full-logit one', () => {
    const m = models[name];
    const ex = wordPairExamples(3, 3);
    const idx = compareWithNaive(m, ex, { kind: 'resid', residSite: 'block_input', positions: 'index' });
    expect(idx.exact.site).toBe('block_input');
    expect(idx.exact.positions).toEqual(['0', '1', '2', '3', '4', '5', '6']);
    const norm = compareWithNaive(m, ex, { kind: 'attn', metric: 'normalised', positions: ['A', 'last'] });
    expect(norm.exact.clean).toBeCloseTo(1, 6);
    expect(norm.exact.corrupt).toBeCloseTo(0, 6);
    compareWithNaive(m, ex, { kind: 'mlp', metric: 'prob', direction: 'noise', positions: ['B', 'last'] });
    compareWithNaive(m, ex, { kind: 'heads', metric: 'prob', direction: 'noise', variable: 'v' });
    const acc = compareWithNaive(m, wordPairExamples(12, 4), { kind: 'resid', metric: 'accuracy', positions: ['last'] });
    for (const v of flatValues(acc.exact.values)) expect(Math.abs(v * 12 - Math.round(v * 12))).toBeLessThan(1e-9);
  });
});
