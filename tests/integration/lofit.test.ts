import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '../../src-main/engine/tf.js';
import { loadModelFolder, type LoadedModel } from '../../src-main/engine/io/model-folder.js';
import { evaluateLofit, lofitBiasDelta, lofitEdits, lofitParameterCount, lofitSelect, lofitTune, LOFIT_SELECT_DEFAULTS, LOFIT_TUNE_DEFAULTS, type LofitTuneConfig } from '../../src-main/engine/methods/lofit.js';
import { dpoLoss } from '../../src-main/engine/methods/dpo.js';
import { headOverlap, rankHeads, resolveK, topK, validateHeads, type HeadRef } from '../../src-main/engine/methods/heads.js';
import { CancelledError } from '../../src-main/engine/methods/progress.js';
import type { ForwardOptions } from '../../src-main/engine/model/transformer.js';
import type { TaskExample } from '../../src-main/engine/tasks/schema.js';
import { seededRandom } from '../../src-main/engine/random.js';
import { useTestBackend } from '../helpers/backend.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'reference');
let gpt2: LoadedModel;
let llama: LoadedModel;

/** A toy task the random fixture models cannot do: answer with a token picked by the one two before the end. */
function toyTask(n: number, seed: number): TaskExample[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const len = 4 + Math.floor(rand() * 3);
    const toks = Array.from({ length: len }, () => 3 + Math.floor(rand() * 20));
    const answer = (toks[len - 2] % 8) + 40;
    return { id: `toy-${seed}-${i}`, prompt: toks.map((t) => `t${t}`).join(' '), completion: ` t${answer}`, wrong: [` t${((answer - 40 + 1) % 8) + 40}`, ` t${((answer - 40 + 2) % 8) + 40}`] };
  });
}

const train = toyTask(32, 1);
const dev = toyTask(8, 2);
const quick = { epochs: 2, batchSize: 8, seed: 7 };

beforeAll(async () => {
  await useTestBackend();
  gpt2 = await loadModelFolder(join(FIX, 'gpt2-tied'));
  llama = await loadModelFolder(join(FIX, 'llama-gqa'));
});

/** The best dev epoch by hand: the highest score, ties broken by a larger logit difference, else the earliest. */
function handBest<R extends { meanLogitDiff: number }>(dev: R[], score: (r: R) => number): number {
  let b = 0;
  dev.forEach((d, i) => {
    if (score(d) > score(dev[b]) || (score(d) === score(dev[b]) && d.meanLogitDiff > dev[b].meanLogitDiff)) b = i;
  });
  return b;
}
/** The first epoch with the highest score: what a score-only rule keeps. */
const firstMax = <R>(dev: R[], score: (r: R) => number) => dev.findIndex((d) => score(d) === Math.max(...dev.map(score)));

const maxDiff = (x: tf.Tensor, y: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(x, y))).dataSync()[0]);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('head lists', () => {
  const spec = { nLayers: 4, nHeads: 8 };

  it('resolves K as a count or a percentage of all heads', () => {
    expect(resolveK(5, spec)).toBe(5);
    expect(resolveK(32, spec)).toBe(32);
    expect(resolveK({ percent: 10 }, spec)).toBe(3); // 3.2 → 3
    expect(resolveK({ percent: 3 }, spec)).toBe(1); // 0.96 → 1
    expect(resolveK({ percent: 0.1 }, spec)).toBe(1); // at least one head
    expect(resolveK({ percent: 3 }, { nLayers: 32, nHeads: 32 })).toBe(31);
    expect(resolveK({ percent: 100 }, spec)).toBe(32);
    expect(() => resolveK(0, spec)).toThrow(/k = 0 must be a whole number of heads from 1 to 32/);
    expect(() => resolveK(33, spec)).toThrow(/k = 33 must be a whole number of heads from 1 to 32 \(the model has 4 layers × 8 heads\)/);
    expect(() => resolveK(2.5, spec)).toThrow(/k = 2.5/);
    expect(() => resolveK({ percent: 0 }, spec)).toThrow(/k = 0% must be a percentage in \(0, 100\]/);
    expect(() => resolveK({ percent: 150 }, spec)).toThrow(/150%/);
  });

  it('ranks by score with stable ties and NaN last, and keeps the top K', () => {
    const scores = [
      [0.1, 0.9, NaN],
      [0.5, 0.9, 0.2],
    ];
    expect(rankHeads(scores)).toEqual([[0, 1], [1, 1], [1, 0], [1, 2], [0, 0], [0, 2]]);
    expect(topK(scores, 2)).toEqual([[0, 1], [1, 1]]);
    expect(topK(scores, { percent: 50 })).toEqual([[0, 1], [1, 1], [1, 0]]);
    expect(() => topK(scores, 7)).toThrow(/from 1 to 6/);
  });

  it('validates head lists against a model and compares selections', () => {
    expect(() => validateHeads([[0, 1], [3, 7]], spec)).not.toThrow();
    expect(() => validateHeads([], spec)).toThrow(/no heads given/);
    expect(() => validateHeads([[4, 0]], spec)).toThrow(/layer 4 of \[4, 0\] is out of range: the model has layers 0..3/);
    expect(() => validateHeads([[0, 8]], spec)).toThrow(/head 8 of \[0, 8\] is out of range: the model has heads 0..7/);
    expect(() => validateHeads([[1, 1], [1, 1]], spec)).toThrow(/listed twice/);
    expect(() => validateHeads([[1] as unknown as HeadRef], spec)).toThrow(/must be \[layer, head\]/);
    const o = headOverlap([[0, 1], [1, 2], [2, 3]], [[1, 2], [3, 3]]);
    expect(o.shared).toEqual([[1, 2]]);
    expect(o.onlyA).toEqual([[0, 1], [2, 3]]);
    expect(o.onlyB).toEqual([[3, 3]]);
    expect(o.jaccard).toBeCloseTo(1 / 4);
    expect(headOverlap([], []).jaccard).toBe(1);
  });
});

describe('LoFIT', () => {
  it('documents its defaults against the 7B reference', () => {
    expect(LOFIT_SELECT_DEFAULTS).toMatchObject({ lr: 1e-2, l1: 1e-3, epochs: 5, batchSize: 8, weightDecay: 0, initStd: 1e-3, k: { percent: 10 }, beta: 0.5 });
    expect(LOFIT_TUNE_DEFAULTS).toMatchObject({ lr: 1e-1, epochs: 5, batchSize: 8, weightDecay: 0, cachePrefix: true, loss: 'ce' });
  });

  it('step 1 scores every head by the norm of its scale and keeps the top K, without leaking tensors', () => {
    const before = tf.memory().numTensors;
    const { nLayers: L, nHeads: H, dHead: dh } = gpt2.spec;
    const r = lofitSelect(gpt2.model, gpt2.tokenizer!, { train, dev }, { ...quick, k: 3 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.scores).toHaveLength(L);
    for (const row of r.scores) expect(row).toHaveLength(H);
    expect(r.ranked).toHaveLength(L * H);
    for (let i = 1; i < r.ranked.length; i++) {
      const [a, b] = [r.ranked[i - 1], r.ranked[i]];
      expect(r.scores[a[0]][a[1]]).toBeGreaterThanOrEqual(r.scores[b[0]][b[1]]);
    }
    expect(r.selected).toEqual(r.ranked.slice(0, 3));
    expect(r.k).toBe(3);
    // Scores are the L2 norms of the trained scales.
    const [l0, h0] = r.ranked[0];
    const row = r.scales[l0].subarray(h0 * dh, (h0 + 1) * dh);
    expect(r.scores[l0][h0]).toBeCloseTo(Math.hypot(...row), 5);
    expect(r.parameters).toBe(L * H * dh);
    expect(r.loss).toHaveLength(2 * Math.ceil(train.length / 8));
    expect(r.dev.map((d) => d.epoch)).toEqual([0, 1]);
    const pct = lofitSelect(gpt2.model, gpt2.tokenizer!, { train, dev: [] }, { ...quick, epochs: 1, k: { percent: 25 } });
    expect(pct.selected).toHaveLength(2); // 25% of 8 heads
  });

  it('a larger λ pushes the scales toward 0', () => {
    const cfg = { ...quick, epochs: 3, lr: 2e-2 };
    const free = lofitSelect(gpt2.model, gpt2.tokenizer!, { train, dev: [] }, { ...cfg, l1: 0 });
    const mid = lofitSelect(gpt2.model, gpt2.tokenizer!, { train, dev: [] }, { ...cfg, l1: 0.02 });
    const strong = lofitSelect(gpt2.model, gpt2.tokenizer!, { train, dev: [] }, { ...cfg, l1: 1 });
    expect(mid.meanAbsScale).toBeLessThan(free.meanAbsScale);
    expect(strong.meanAbsScale).toBeLessThan(mid.meanAbsScale);
    expect(strong.meanAbsScale).toBeLessThan(free.meanAbsScale * 0.5);
  });

  it('is seeded: the same seed gives the same scores', () => {
    const a = lofitSelect(gpt2.model, gpt2.tokenizer!, { train, dev: [] }, { ...quick, epochs: 1 });
    const b = lofitSelect(gpt2.model, gpt2.tokenizer!, { train, dev: [] }, { ...quick, epochs: 1 });
    expect(b.scores).toEqual(a.scores);
    const c = lofitSelect(gpt2.model, gpt2.tokenizer!, { train, dev: [] }, { ...quick, epochs: 1, seed: 8 });
    expect(c.scores).not.toEqual(a.scores);
  });

  it('step 2 lowers the loss with K·dh parameters; the offsets apply through lofitEdits', () => {
    const before = tf.memory().numTensors;
    const heads: HeadRef[] = [[0, 1], [1, 2], [1, 3]];
    const r = lofitTune(gpt2.model, gpt2.tokenizer!, { train, dev }, heads, { ...quick, epochs: 6, lr: 5e-2 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.parameters).toBe(3 * gpt2.spec.dHead);
    expect(lofitParameterCount(32, 128)).toBe(4096); // Llama-2-7B, K = 32
    expect(r.offsets).toHaveLength(3);
    expect(r.offsets[0]).toHaveLength(gpt2.spec.dHead);
    expect(r.cachedPrefixLayer).toBeUndefined(); // a head at layer 0
    const first = mean(r.loss.slice(0, 4).map((l) => l.value));
    const last = mean(r.loss.slice(-4).map((l) => l.value));
    expect(last).toBeLessThan(first * 0.9);
    expect(r.dev).toHaveLength(6);
    // The best epoch's offsets are kept; evaluating them reproduces that epoch's dev numbers.
    const ev = evaluateLofit(gpt2.model, gpt2.tokenizer!, dev, r);
    expect(ev.accuracy).toBeCloseTo(r.dev[r.bestEpoch].accuracy, 6);
    expect(ev.meanLogitDiff).toBeCloseTo(r.dev[r.bestEpoch].meanLogitDiff, 4);
    // Zero offsets are the base model.
    const zero = lofitEdits(heads.map(() => new Float32Array(gpt2.spec.dHead)), heads, gpt2.spec);
    const ids = [[5, 9, 12, 3]];
    const a = gpt2.model.forward({ inputIds: ids }, { logits: 'last', edits: zero });
    const b = gpt2.model.forward({ inputIds: ids }, { logits: 'last' });
    expect(maxDiff(a.logits!, b.logits!)).toBe(0);
    // The trained offsets fold exactly into the output-projection bias.
    const delta = lofitBiasDelta(gpt2.model, r.offsets, r.heads);
    expect([...delta.keys()]).toEqual([0, 1]);
    const folded = [...delta].map(([layer, d]) => ({ site: 'attention_output' as const, layer, apply: (x: tf.Tensor) => tf.add(x, tf.tensor1d(d)) }));
    const c = gpt2.model.forward({ inputIds: ids }, { logits: 'all', edits: lofitEdits(r.offsets, r.heads) });
    const e = gpt2.model.forward({ inputIds: ids }, { logits: 'all', edits: folded });
    expect(maxDiff(c.logits!, e.logits!)).toBeLessThan(1e-5);
    expect(maxDiff(c.logits!, b.logits!)).toBeGreaterThan(1e-3);
    tf.dispose([a.logits!, b.logits!, c.logits!, e.logits!]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps the dev epoch with the best accuracy, ties broken by the logit difference, and returns its offsets', () => {
    const r = lofitTune(llama.model, llama.tokenizer!, { train, dev }, [[0, 1], [1, 2], [1, 3]], { ...quick, epochs: 6, lr: 2e-2 });
    const best = handBest(r.dev, (d) => d.accuracy);
    // This run has tied accuracies with a growing margin after the first best one, so accuracy alone would keep an earlier epoch.
    expect(firstMax(r.dev, (d) => d.accuracy)).toBeLessThan(best);
    expect(r.bestEpoch).toBe(best);
    const ev = evaluateLofit(llama.model, llama.tokenizer!, dev, r);
    expect(ev.accuracy).toBe(r.dev[best].accuracy);
    expect(ev.meanLogitDiff).toBeCloseTo(r.dev[best].meanLogitDiff, 4);
  });

  it('keeps the dev epoch with the best MC1 on multiple-choice tasks, and scores its offsets the same way', () => {
    const r = lofitTune(llama.model, llama.tokenizer!, { train, dev }, [[0, 1], [1, 2], [1, 3]], { ...quick, epochs: 6, lr: 0.1, multipleChoice: true });
    const best = handBest(r.dev, (d) => d.preferCorrect);
    // Greedy accuracy peaks at another epoch in this run, so the test tells the two scores apart.
    expect(handBest(r.dev, (d) => d.accuracy)).not.toBe(best);
    expect(firstMax(r.dev, (d) => d.accuracy)).not.toBe(best);
    expect(r.bestEpoch).toBe(best);
    // The multiple-choice scoring path with the returned offsets reproduces that epoch's dev numbers.
    const ev = evaluateLofit(llama.model, llama.tokenizer!, dev, r, true);
    expect(ev.preferCorrect).toBe(r.dev[best].preferCorrect);
    expect(ev.meanLogitDiff).toBeCloseTo(r.dev[best].meanLogitDiff, 4);
    expect(ev.mc2).toBeCloseTo(r.dev[best].mc2!, 5);
  });

  it('the cached frozen prefix gives the same run as recomputing it (CE and DPO)', () => {
    const heads: HeadRef[] = [[2, 0], [1, 3]];
    for (const loss of ['ce', 'dpo'] as const) {
      const cfg: Partial<LofitTuneConfig> = { ...quick, lr: 3e-2, loss };
      const cached = lofitTune(llama.model, llama.tokenizer!, { train, dev }, heads, { ...cfg, cachePrefix: true });
      const plain = lofitTune(llama.model, llama.tokenizer!, { train, dev }, heads, { ...cfg, cachePrefix: false });
      expect(cached.cachedPrefixLayer).toBe(1);
      expect(plain.cachedPrefixLayer).toBeUndefined();
      expect(cached.loss.length).toBe(plain.loss.length);
      cached.loss.forEach((l, i) => expect(Math.abs(l.value - plain.loss[i].value)).toBeLessThan(1e-4));
      cached.offsets.forEach((o, i) => o.forEach((x, j) => expect(Math.abs(x - plain.offsets[i][j])).toBeLessThan(1e-4)));
      expect(cached.dev).toEqual(plain.dev);
    }
  });

  it('DPO computes the reference log-probabilities once and lowers its loss', () => {
    const spy = vi.spyOn(llama.model, 'forward');
    const r = lofitTune(llama.model, llama.tokenizer!, { train, dev }, [[1, 0], [2, 1]], { ...quick, epochs: 4, lr: 5e-2, loss: 'dpo', referenceBatchSize: 8, cachePrefix: false });
    const plainForwards = spy.mock.calls.filter(([, o]) => !(o as ForwardOptions | undefined)?.edits?.length && (o as ForwardOptions | undefined)?.stopBefore === undefined);
    spy.mockRestore();
    expect(r.reference).toEqual({ examples: train.length, forwards: Math.ceil(train.length / 8) });
    expect(plainForwards).toHaveLength(r.reference!.forwards); // not once per epoch
    // With offsets ~ 0 the policy is the reference: the first loss is −log σ(0) = log 2.
    expect(r.loss[0].value).toBeCloseTo(Math.LN2, 2);
    const first = mean(r.loss.slice(0, 4).map((l) => l.value));
    const last = mean(r.loss.slice(-4).map((l) => l.value));
    expect(last).toBeLessThan(first);
    expect(r.dev[0].preferCorrect).toBeGreaterThanOrEqual(0);
    // Step 1 takes the DPO loss too.
    const s = lofitSelect(llama.model, llama.tokenizer!, { train, dev: [] }, { ...quick, epochs: 1, loss: 'dpo', k: 2 });
    expect(s.selected).toHaveLength(2);
    expect(s.reference?.examples).toBe(train.length);
  });

  it('the DPO loss matches its formula', () => {
    const policy = tf.tensor1d([-1, -2, -3, -1.5]); // chosen [-1, -2], rejected [-3, -1.5]
    const loss = dpoLoss(policy, [-1.2, -2], [-2.5, -1], 0.5);
    const m = [(-1 + 1.2 - (-3 + 2.5)) * 0.5, (-2 + 2 - (-1.5 + 1)) * 0.5];
    const expected = mean(m.map((x) => -Math.log(1 / (1 + Math.exp(-x)))));
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 5);
    tf.dispose([policy, loss]);
  });

  it('refuses bad input by name', () => {
    const t = { train, dev: [] };
    const tok = gpt2.tokenizer!;
    expect(() => lofitSelect(gpt2.model, tok, t, { k: 0 })).toThrow(/k = 0 must be a whole number of heads from 1 to 8/);
    expect(() => lofitSelect(gpt2.model, tok, t, { k: 9 })).toThrow(/k = 9 .* 2 layers × 4 heads/);
    expect(() => lofitSelect(gpt2.model, tok, t, { l1: -1e-3 })).toThrow(/L1 weight λ must be ≥ 0 \(got -0.001\)/);
    expect(() => lofitSelect(gpt2.model, tok, t, { lr: -1 })).toThrow(/learning rate must be positive \(got -1\)/);
    expect(() => lofitTune(gpt2.model, tok, t, [[0, 0]], { lr: 0 })).toThrow(/learning rate must be positive/);
    expect(() => lofitTune(gpt2.model, tok, t, [[0, 0]], { beta: -1, loss: 'dpo' })).toThrow(/β must be positive/);
    expect(() => lofitTune(gpt2.model, tok, t, [[0, 0]], { loss: 'kto' as never })).toThrow(/unknown loss 'kto'/);
    // A head list from a model of another shape (llama-gqa has 3 layers).
    expect(() => lofitTune(gpt2.model, tok, t, [[2, 0]])).toThrow(/layer 2 of \[2, 0\] is out of range: the model has layers 0..1/);
    expect(() => lofitTune(gpt2.model, tok, t, [[0, 4]])).toThrow(/head 4 of \[0, 4\] is out of range/);
    expect(() => lofitTune(gpt2.model, tok, t, [])).toThrow(/no heads given/);
    expect(() => lofitTune(gpt2.model, tok, { train: [], dev: [] }, [[0, 0]])).toThrow(/no examples/);
    const noWrong = train.map((e) => ({ ...e, wrong: [] }));
    expect(() => lofitTune(gpt2.model, tok, { train: noWrong, dev: [] }, [[0, 0]], { loss: 'dpo' })).toThrow(/has no wrong answer: the DPO loss needs one/);
    expect(() => lofitEdits([new Float32Array(8)], [[0, 0], [0, 1]])).toThrow(/1 offsets for 2 heads/);
    expect(() => lofitEdits([new Float32Array(16)], [[0, 0]], gpt2.spec)).toThrow(/width 16 but the model's heads have width 8/);
  });

  it('stops when asked, with a CancelledError and no leaked tensors', () => {
    const before = tf.memory().numTensors;
    let ticks = 0;
    expect(() => lofitTune(gpt2.model, gpt2.tokenizer!, { train, dev }, [[1, 1]], { ...quick }, { shouldStop: () => ++ticks >= 2 })).toThrow(CancelledError);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops with a clear error when the loss becomes NaN', () => {
    const before = tf.memory().numTensors;
    const forward = gpt2.model.forward.bind(gpt2.model);
    const spy = vi.spyOn(gpt2.model, 'forward').mockImplementation((input, opts) => {
      const r = forward(input, opts);
      return r.logits ? { ...r, logits: tf.mul(r.logits, NaN) } : r;
    });
    try {
      expect(() => lofitSelect(gpt2.model, gpt2.tokenizer!, { train, dev: [] }, { ...quick })).toThrow(/training diverged: the loss became NaN at step 0 .*lower the learning rate/);
    } finally {
      spy.mockRestore();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
