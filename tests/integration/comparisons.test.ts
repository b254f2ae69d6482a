import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../src-main/engine/tf.js';
import { loadModelFolder, type LoadedModel } from '../../src-main/engine/io/model-folder.js';
import { encodePair } from '../../src-main/engine/eval/score.js';
import { evaluateLofit, lofitTune } from '../../src-main/engine/methods/lofit.js';
import { accuracyVsK, allHeads, compareHeadSources, meanSd, randomHeads, transferMatrix, tuneAndScore } from '../../src-main/engine/methods/comparisons.js';
import { ablateHeads, agreementWithAblation, headMeans, replaceHeadEdit, spearman, topKAgreement } from '../../src-main/engine/methods/head-ablation.js';
import type { HeadRef } from '../../src-main/engine/methods/heads.js';
import type { TaskExample } from '../../src-main/engine/tasks/schema.js';
import { useTestBackend } from '../helpers/backend.js';
import { toyTask } from '../helpers/toy-task.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'reference');
let gpt2: LoadedModel;

const data = { train: toyTask(24, 1), dev: toyTask(6, 2), test: toyTask(10, 3) };
/** A second toy task: the answer is picked by the last token instead. */
const other = (n: number, seed: number): TaskExample[] =>
  toyTask(n, seed).map((ex) => {
    const last = Number(ex.prompt.split(' ').at(-1)!.slice(1));
    const answer = (last % 8) + 40;
    return { ...ex, completion: ` t${answer}`, wrong: [` t${((answer - 40 + 3) % 8) + 40}`] };
  });
const data2 = { train: other(24, 4), dev: other(6, 5), test: other(10, 6) };
const tune = { epochs: 1, batchSize: 8, seed: 7 };

beforeAll(async () => {
  await useTestBackend();
  gpt2 = await loadModelFolder(join(FIX, 'gpt2-tied'));
});

describe('head sources with the same K and step 2', () => {
  it('draws K distinct random heads per seed, the same for the same seed', () => {
    const spec = { nLayers: 4, nHeads: 8 };
    const a = randomHeads(spec, 5, 1);
    expect(a).toHaveLength(5);
    expect(new Set(a.map(([l, h]) => `${l}.${h}`)).size).toBe(5);
    for (const [l, h] of a) {
      expect(l).toBeGreaterThanOrEqual(0);
      expect(l).toBeLessThan(4);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThan(8);
    }
    expect(randomHeads(spec, 5, 1)).toEqual(a);
    expect([2, 3, 4, 5].some((s) => JSON.stringify(randomHeads(spec, 5, s)) !== JSON.stringify(a))).toBe(true);
    expect(randomHeads(spec, 32, 9)).toEqual(allHeads(spec));
    expect(allHeads({ nLayers: 2, nHeads: 2 })).toEqual([[0, 0], [0, 1], [1, 0], [1, 1]]);
    // Each head is about equally likely over many seeds (K/N = 1/4 each).
    const counts = new Array(32).fill(0);
    for (let s = 0; s < 800; s++) for (const [l, h] of randomHeads(spec, 8, s)) counts[l * 8 + h]++;
    for (const c of counts) expect(Math.abs(c / 800 - 0.25)).toBeLessThan(0.08);
    expect(() => randomHeads(spec, 0, 1)).toThrow(/k = 0 must be a whole number of heads from 1 to 32/);
    expect(() => randomHeads(spec, 33, 1)).toThrow(/k = 33 .* from 1 to 32/);
  });

  it('runs step 2 on each list with the same settings; a row equals tuning those heads directly', () => {
    const lofitHeads: HeadRef[] = [[1, 2], [0, 3]];
    const r = compareHeadSources(gpt2.model, gpt2.tokenizer!, data, { k: 2, named: [{ label: 'given', heads: lofitHeads }], randomSeeds: [1, 2], allHeads: true, tune });
    expect(r.k).toBe(2);
    expect(r.rows.map((x) => x.label)).toEqual(['given', 'random (seed 1)', 'random (seed 2)', 'all heads']);
    expect(r.rows.map((x) => x.parameters)).toEqual([2, 2, 2, 8].map((k) => k * gpt2.spec.dHead));
    expect(r.rows[1].heads).toEqual(randomHeads(gpt2.spec, 2, 1));
    const ms = meanSd([r.rows[1].metric, r.rows[2].metric]);
    expect(r.random.mean).toBeCloseTo(ms.mean, 12);
    expect(r.random.sd).toBeCloseTo(ms.sd, 12);
    // The same step 2, run by hand.
    const t = lofitTune(gpt2.model, gpt2.tokenizer!, { train: data.train, dev: data.dev }, lofitHeads, tune);
    const ev = evaluateLofit(gpt2.model, gpt2.tokenizer!, data.test, t);
    expect(r.rows[0].test).toEqual(ev);
    expect(r.rows[0].metric).toBe(ev.accuracy);
    // The row keeps the offsets it scored, so they can be scored on other examples.
    expect(r.rows[0].offsets).toEqual(t.offsets);
    expect(evaluateLofit(gpt2.model, gpt2.tokenizer!, data.test, { heads: r.rows[0].heads, offsets: r.rows[0].offsets })).toEqual(ev);
    expect(() => compareHeadSources(gpt2.model, gpt2.tokenizer!, data, { k: 3, named: [{ label: 'given', heads: lofitHeads }], randomSeeds: [] })).toThrow(/has 2 heads, the comparison uses K = 3/);
    expect(() => compareHeadSources(gpt2.model, gpt2.tokenizer!, data, { k: 0, named: [], randomSeeds: [1] })).toThrow(/k = 0/);
  });

  it('builds the transfer matrix (row: trained task, column: whose heads) and the accuracy-against-K sweep', () => {
    const hA: HeadRef[] = [[0, 0], [1, 1]];
    const hB: HeadRef[] = [[0, 2], [1, 3]];
    const m = transferMatrix(gpt2.model, gpt2.tokenizer!, [
      { name: 'a', data, multipleChoice: false, heads: hA },
      { name: 'b', data: data2, multipleChoice: false, heads: hB },
    ], tune);
    expect(m.tasks).toEqual(['a', 'b']);
    expect(m.parameters).toBe(2 * gpt2.spec.dHead);
    expect(m.metric[0][1]).toBe(tuneAndScore(gpt2.model, gpt2.tokenizer!, data, hB, 'x', tune).metric);
    expect(m.metric[1][0]).toBe(tuneAndScore(gpt2.model, gpt2.tokenizer!, data2, hA, 'x', tune).metric);
    expect(() => transferMatrix(gpt2.model, gpt2.tokenizer!, [{ name: 'a', data, multipleChoice: false, heads: hA }, { name: 'b', data: data2, multipleChoice: false, heads: [[0, 1]] }])).toThrow(/same K/);
    // Known diagonal entries are taken as given; the other cells are the same runs.
    const known = transferMatrix(gpt2.model, gpt2.tokenizer!, [
      { name: 'a', data, multipleChoice: false, heads: hA },
      { name: 'b', data: data2, multipleChoice: false, heads: hB },
    ], tune, {}, [0.5, 0.25]);
    expect(known.metric).toEqual([[0.5, m.metric[0][1]], [m.metric[1][0], 0.25]]);

    const ranked: HeadRef[] = [[1, 0], [0, 1], [1, 3], [0, 0]];
    const sweep = accuracyVsK(gpt2.model, gpt2.tokenizer!, data, ranked, [1, 3], { tune, randomSeed: 4 });
    expect(sweep.map((s) => [s.k, s.parameters])).toEqual([[1, gpt2.spec.dHead], [3, 3 * gpt2.spec.dHead]]);
    expect(sweep[1].metric).toBe(tuneAndScore(gpt2.model, gpt2.tokenizer!, data, ranked.slice(0, 3), 'x', tune).metric);
    expect(sweep[0].random).toBe(tuneAndScore(gpt2.model, gpt2.tokenizer!, data, randomHeads(gpt2.spec, 1, 4), 'x', tune).metric);
    expect(() => accuracyVsK(gpt2.model, gpt2.tokenizer!, data, ranked, [5])).toThrow(/k = 5 is more than the 4 ranked heads/);
    expect(() => accuracyVsK(gpt2.model, gpt2.tokenizer!, data, ranked, [0])).toThrow(/k = 0/);
  });
});

describe('mean ablation of each head', () => {
  const examples = toyTask(6, 11);

  it('replaces the head with its dataset mean: means and effects equal a hand computation', () => {
    const m = gpt2;
    const tok = m.tokenizer!;
    const { nLayers: L, nHeads: H, dHead: dh } = m.spec;
    // Hand means: every real position of prompt ⧺ completion and prompt ⧺ first wrong, one sequence at a time.
    const seqs = examples.flatMap((ex) => [ex.completion, ex.wrong[0]].map((a) => encodePair(tok, ex.prompt, a)));
    const sums = Array.from({ length: L }, () => new Float64Array(H * dh));
    let count = 0;
    for (const p of seqs) {
      const ids = [...p.prompt, ...p.continuation];
      const r = m.model.forward({ inputIds: [ids] }, { read: Array.from({ length: L }, (_, l) => ({ site: 'head_output' as const, layer: l })), logits: 'none' });
      for (let l = 0; l < L; l++) {
        const z = r.sites[`head_output:${l}`].dataSync();
        for (let t = 0; t < ids.length; t++) for (let j = 0; j < H * dh; j++) sums[l][j] += z[t * H * dh + j];
      }
      count += ids.length;
      tf.dispose(Object.values(r.sites));
    }
    const hand = sums.map((s) => Float32Array.from(s, (x) => x / count));
    const means = headMeans(m.model, tok, examples, 5);
    for (let l = 0; l < L; l++) for (let j = 0; j < H * dh; j++) expect(Math.abs(means[l][j] - hand[l][j])).toBeLessThan(1e-5);

    const before = tf.memory().numTensors;
    const r = ablateHeads(m.model, tok, examples, { batchSize: 5 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.effect).toHaveLength(L);
    expect(r.effect[0]).toHaveLength(H);
    // Log-prob difference by hand, full forward per sequence with the head replaced.
    const logitDiff = (edit?: ReturnType<typeof replaceHeadEdit>) => {
      let total = 0;
      for (const ex of examples) {
        const lp = [ex.completion, ex.wrong[0]].map((a) => {
          const p = encodePair(tok, ex.prompt, a);
          const ids = [...p.prompt, ...p.continuation];
          const out = m.model.forward({ inputIds: [ids] }, { logits: 'all', edits: edit ? [edit] : [] });
          const lg = out.logits!.dataSync();
          const V = m.spec.vocabSize;
          let s = 0;
          p.continuation.forEach((tokId, k) => {
            const row = Array.from(lg.slice((p.prompt.length - 1 + k) * V, (p.prompt.length + k) * V) as Float32Array);
            const mx = Math.max(...row);
            const lse = mx + Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
            s += row[tokId] - lse;
          });
          tf.dispose([out.logits!]);
          return s;
        });
        total += lp[0] - lp[1];
      }
      return total / examples.length;
    };
    const base = logitDiff();
    expect(r.base.logitDiff).toBeCloseTo(base, 4);
    for (const [l, h] of [[0, 1], [1, 3]] as const) {
      const ablated = logitDiff(replaceHeadEdit(l, h, hand[l].subarray(h * dh, (h + 1) * dh)));
      expect(r.effect[l][h]).toBeCloseTo(base - ablated, 3);
      expect(r.ablated[l][h].logitDiff).toBeCloseTo(ablated, 3);
    }
    // Ranked by |effect|, largest first.
    const abs = r.ranked.map(([l, h]) => Math.abs(r.effect[l][h]));
    for (let i = 1; i < abs.length; i++) expect(abs[i - 1]).toBeGreaterThanOrEqual(abs[i]);
    // Zero ablation replaces with zeros.
    const z = ablateHeads(m.model, tok, examples.slice(0, 2), { mode: 'zero' });
    expect(z.means.every((a) => a.every((x) => x === 0))).toBe(true);
    expect(() => ablateHeads(m.model, tok, examples, { mode: 'resample' as never })).toThrow(/unknown ablation 'resample' \(known: mean, zero\)/);
    expect(() => ablateHeads(m.model, tok, [])).toThrow(/no examples/);
  });
});

describe('agreement measures on hand-made rankings', () => {
  it('top-K overlap, Jaccard, chance level and hypergeometric p-value', () => {
    const a: HeadRef[] = [[0, 0], [0, 1], [1, 0], [1, 1]];
    const b: HeadRef[] = [[0, 1], [1, 1], [0, 0], [1, 0]];
    const t2 = topKAgreement(a, b, 2, 4); // {00, 01} vs {01, 11}
    expect(t2.shared).toEqual([[0, 1]]);
    expect(t2.overlap).toBe(1);
    expect(t2.fraction).toBe(0.5);
    expect(t2.jaccard).toBeCloseTo(1 / 3, 12);
    expect(t2.expected).toBe(1); // K²/N = 4/4
    // P(X ≥ 1) for 2 of 4 drawn, 2 marked: 1 − C(2,2)/C(4,2) = 5/6.
    expect(t2.pValue).toBeCloseTo(5 / 6, 12);
    const same = topKAgreement(a, a, 2, 4);
    expect(same.overlap).toBe(2);
    expect(same.jaccard).toBe(1);
    expect(same.pValue).toBeCloseTo(1 / 6, 12);
    // 3 of 32 heads all shared: C(3,3)·C(29,0)/C(32,3) = 1/4960.
    const big = topKAgreement([[0, 0], [0, 1], [0, 2]], [[0, 2], [0, 0], [0, 1]], 3, 32);
    expect(big.pValue).toBeCloseTo(1 / 4960, 12);
    expect(() => topKAgreement(a, b, 0, 4)).toThrow(/k = 0/);
    expect(() => topKAgreement(a, b, 5, 4)).toThrow(/k = 5/);
    expect(() => topKAgreement(a.slice(0, 1), b, 2, 4)).toThrow(/at least k = 2/);
  });

  it('Spearman correlation with tied ranks', () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    // x ranks [1.5, 1.5, 3, 4], y ranks [1, 2, 3, 4]: Pearson of the ranks = 4.5 / √(4.5·5).
    expect(spearman([5, 5, 7, 9], [1, 2, 3, 4])).toBeCloseTo(4.5 / Math.sqrt(4.5 * 5), 12);
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(() => spearman([1, 2], [1])).toThrow(/differ in length/);
  });

  it('compares a score matrix and its top K with the ablation ranking', () => {
    const ablation = { effect: [[0.5, -2], [0.1, 1]], ranked: [[0, 1], [1, 1], [0, 0], [1, 0]] as HeadRef[] };
    const g = agreementWithAblation([[3, 4], [1, 2]], [[0, 1], [0, 0], [1, 1], [1, 0]], ablation as never, 2);
    expect(g.k).toBe(2);
    expect(g.topK.overlap).toBe(1); // {01, 00} vs {01, 11}
    // |effect| [0.5, 2, 0.1, 1] ranks [2, 4, 1, 3]; scores [3, 4, 1, 2] ranks [3, 4, 1, 2]: ρ = 1 − 6·Σd²/(n(n²−1)) = 1 − 6·2/60.
    expect(g.spearman).toBeCloseTo(0.8, 12);
  });
});
