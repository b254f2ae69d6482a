import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '../../src-main/engine/tf.js';
import { loadModelFolder, type LoadedModel } from '../../src-main/engine/io/model-folder.js';
import {
  collectHeadActivations,
  evaluateIti,
  fitLogistic,
  headMatrix,
  ITI_DEFAULTS,
  itiEdits,
  itiPromptEdits,
  logisticAccuracy,
  logisticPredict,
  massMeanDirection,
  splitExamples,
  trainIti,
} from '../../src-main/engine/methods/iti.js';
import { encodePair } from '../../src-main/engine/eval/score.js';
import { generate } from '../../src-main/engine/model/generate.js';
import { seededRandom } from '../../src-main/engine/random.js';
import type { SiteEdit } from '../../src-main/engine/model/transformer.js';
import type { TaskExample } from '../../src-main/engine/tasks/schema.js';
import { useTestBackend } from '../helpers/backend.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'reference');
let gpt2: LoadedModel;

beforeAll(async () => {
  await useTestBackend();
  gpt2 = await loadModelFolder(join(FIX, 'gpt2-tied'));
});
afterEach(() => vi.restoreAllMocks());

function gauss(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** n rows of N(0, I_d) with labels from the sign of w·x + b + noise. */
function synthetic(n: number, d: number, w: number[], b: number, noise: number, seed: number) {
  const rand = seededRandom(seed);
  const X = new Float32Array(n * d);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let s = b + noise * gauss(rand);
    for (let j = 0; j < d; j++) {
      X[i * d + j] = gauss(rand);
      s += w[j] * X[i * d + j];
    }
    y[i] = s > 0 ? 1 : 0;
  }
  return { X, y };
}

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
};

describe('logistic-regression probe', () => {
  const d = 6;
  const w = [2, -1, 0, 0.5, 0, 1];

  it('recovers a known separating direction and generalises', () => {
    const tr = synthetic(300, d, w, 0.3, 0.3, 1);
    const te = synthetic(300, d, w, 0.3, 0.3, 2);
    const m = fitLogistic(tr.X, tr.y, 300, d);
    expect(m.converged).toBe(true);
    expect(m.iterations).toBeLessThan(30);
    expect(cosine(m.w, w)).toBeGreaterThan(0.97);
    expect(logisticAccuracy(m, te.X, te.y, 300)).toBeGreaterThan(0.9);
    // Predictions are probabilities.
    const p = logisticPredict(m, te.X, 300);
    expect(Math.min(...p)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...p)).toBeLessThanOrEqual(1);
  });

  it('stops at the minimum of Σ log-loss + (λ/2)‖w‖²: the gradient vanishes', () => {
    const { X, y } = synthetic(120, d, w, -0.5, 1, 3);
    for (const l2 of [0.1, 1, 10]) {
      const m = fitLogistic(X, y, 120, d, { l2 });
      const p = logisticPredict(m, X, 120);
      const g = new Float64Array(d + 1);
      for (let i = 0; i < 120; i++) {
        for (let j = 0; j < d; j++) g[j] += (p[i] - y[i]) * X[i * d + j];
        g[d] += p[i] - y[i];
      }
      for (let j = 0; j < d; j++) g[j] += l2 * m.w[j];
      expect(Math.max(...g.map(Math.abs))).toBeLessThan(1e-6);
    }
  });

  it('a larger L2 weight gives a smaller w; separable data stays finite; the fit is deterministic', () => {
    const { X, y } = synthetic(100, d, w, 0, 0, 4); // noiseless: separable
    const norms = [0.01, 1, 100].map((l2) => Math.hypot(...fitLogistic(X, y, 100, d, { l2 }).w));
    expect(norms[0]).toBeGreaterThan(norms[1]);
    expect(norms[1]).toBeGreaterThan(norms[2]);
    expect(norms.every(Number.isFinite)).toBe(true);
    const a = fitLogistic(X, y, 100, d);
    const b = fitLogistic(X, y, 100, d);
    expect(Array.from(b.w)).toEqual(Array.from(a.w));
    expect(logisticAccuracy(a, X, y, 100)).toBeGreaterThan(0.95);
    expect(logisticAccuracy(fitLogistic(X, y, 100, d, { l2: 1e-3 }), X, y, 100)).toBe(1);
  });

  it('refuses bad arguments', () => {
    const { X, y } = synthetic(10, d, w, 0, 0, 5);
    expect(() => fitLogistic(X, y, 10, d, { l2: 0 })).toThrow(/L2 weight must be positive/);
    expect(() => fitLogistic(X, y, 10, d + 1)).toThrow(/X has 60 values, expected n·d = 10·7/);
    expect(() => fitLogistic(X, y.subarray(1), 10, d)).toThrow(/y has 9 labels for 10 rows/);
  });
});

describe('mass-mean direction and splits', () => {
  it('finds the planted mean shift and its projected spread', () => {
    const d = 8;
    const rand = seededRandom(9);
    const mu = [1, 0, -2, 0, 0, 0.5, 0, 0];
    const n = 400;
    const X = new Float32Array(n * d);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % 3 === 0 ? 1 : 0;
      for (let j = 0; j < d; j++) X[i * d + j] = 0.3 * gauss(rand) + (y[i] ? mu[j] : 0);
    }
    const m = massMeanDirection(X, y, n, d);
    expect(Math.hypot(...m.direction)).toBeCloseTo(1, 5);
    expect(cosine(m.direction, mu)).toBeGreaterThan(0.98);
    expect(m.norm).toBeCloseTo(Math.hypot(...mu), 0);
    const proj = Array.from({ length: n }, (_, i) => m.direction.reduce((s, v, j) => s + v * X[i * d + j], 0));
    const avg = proj.reduce((a, b) => a + b, 0) / n;
    expect(m.sigma).toBeCloseTo(Math.sqrt(proj.reduce((a, p) => a + (p - avg) ** 2, 0) / n), 5);
    expect(() => massMeanDirection(X, new Uint8Array(n), n, d)).toThrow(/needs both true and false rows \(got 0 true, 400 false\)/);
  });

  it('splits examples seeded, disjoint and complete', () => {
    const s = splitExamples(20, 0.2, 1);
    expect(s.val).toHaveLength(4);
    expect([...s.train, ...s.val].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(splitExamples(20, 0.2, 1)).toEqual(s);
    expect(splitExamples(20, 0.2, 2)).not.toEqual(s);
    expect(splitExamples(2, 0.01, 1).val).toHaveLength(1);
    expect(() => splitExamples(1, 0.2, 1)).toThrow(/at least 2 examples/);
  });
});

/**
 * The label depends on the prompt through a rule the random model cannot compute, and every
 * answer token is as often right as wrong, so only a planted signal separates the labels.
 */
function truthTask(n: number, seed: number): TaskExample[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const len = 3 + Math.floor(rand() * 3);
    const toks = Array.from({ length: len }, () => 3 + Math.floor(rand() * 20));
    const right = 40 + ((toks[0] + toks[len - 1]) % 4);
    const wrong = [0, 1, 2, 3].map((k) => 40 + k).filter((t) => t !== right);
    return { id: `truth-${seed}-${i}`, prompt: toks.map((t) => `t${t}`).join(' '), completion: ` t${right}`, wrong: wrong.slice(0, 2).map((t) => ` t${t}`) };
  });
}

const PLANT_LAYER = 1; // the last layer: nothing downstream sees the signal
const PLANT_HEAD = 2;

/** Makes gpt2's head [1, 2] write `planted` at the last token of every correct "prompt ⧺ answer". */
function plant(examples: TaskExample[], planted: Float32Array): void {
  const tok = gpt2.tokenizer!;
  const truth = new Set<string>();
  for (const ex of examples) {
    const p = encodePair(tok, ex.prompt, ex.completion);
    truth.add([...p.prompt, ...p.continuation].join(','));
  }
  const forward = gpt2.model.forward.bind(gpt2.model);
  vi.spyOn(gpt2.model, 'forward').mockImplementation((input, opts = {}) => {
    const positions = input.inputIds.map((row, b) => {
      const len = input.attentionMask ? input.attentionMask[b].reduce((a, v) => a + v, 0) : row.length;
      return [truth.has(row.slice(0, len).join(',')) ? len - 1 : -1];
    });
    const edit: SiteEdit = { site: 'head_output', layer: PLANT_LAYER, head: PLANT_HEAD, positions, apply: (z) => tf.add(z, tf.tensor1d(planted)) };
    return forward(input, { ...opts, edits: [...(opts.edits ?? []), edit] });
  });
}

describe('ITI', () => {
  const train = truthTask(40, 1);
  const dev = truthTask(16, 2);

  it('collects each head at the last answer token, labelled, batched', () => {
    const before = tf.memory().numTensors;
    const ex = train.slice(0, 5);
    const acts = collectHeadActivations(gpt2.model, gpt2.tokenizer!, ex, { batchSize: 4 });
    expect(tf.memory().numTensors).toBe(before);
    const { nLayers: L, nHeads: H, dHead: dh } = gpt2.spec;
    expect(acts.n).toBe(15); // 1 correct + 2 wrong each
    expect(Array.from(acts.labels.slice(0, 3))).toEqual([1, 0, 0]);
    expect(Array.from(acts.example.slice(0, 6))).toEqual([0, 0, 0, 1, 1, 1]);
    expect(acts.layers).toHaveLength(L);
    expect(acts.layers[0]).toHaveLength(15 * H * dh);
    // Row 4 (example 1, first wrong answer) equals a single unbatched read.
    const p = encodePair(gpt2.tokenizer!, ex[1].prompt, ex[1].wrong[0]);
    const ids = [...p.prompt, ...p.continuation];
    const r = gpt2.model.forward({ inputIds: [ids] }, { read: [{ site: 'head_output', layer: 1, head: 3 }], logits: 'none' });
    const single = r.sites['head_output:1.3'].dataSync().slice((ids.length - 1) * dh, ids.length * dh);
    tf.dispose(Object.values(r.sites));
    const row = headMatrix(acts, 1, 3, [4]);
    single.forEach((v, j) => expect(row[j]).toBeCloseTo(v, 5));
  });

  it('finds a planted head, its direction, and builds shifts at the right positions', () => {
    const dh = gpt2.spec.dHead;
    const planted = Float32Array.from({ length: dh }, (_, j) => (j % 2 === 0 ? 2 : -1));
    plant([...train, ...dev], planted);
    const before = tf.memory().numTensors;
    const r = trainIti(gpt2.model, gpt2.tokenizer!, { train }, { k: 2, seed: 3 });
    vi.restoreAllMocks();
    expect(tf.memory().numTensors).toBe(before);
    const { nLayers: L, nHeads: H } = gpt2.spec;
    expect(r.accuracy).toHaveLength(L);
    for (const row of r.accuracy) expect(row).toHaveLength(H);
    expect(r.selected[0]).toEqual([PLANT_LAYER, PLANT_HEAD]);
    expect(r.accuracy[PLANT_LAYER][PLANT_HEAD]).toBeGreaterThanOrEqual(0.95);
    // Other heads cannot separate the labels much better than guessing the majority (2 of 3 wrong).
    const others = r.accuracy.flatMap((row, l) => row.filter((_, h) => !(l === PLANT_LAYER && h === PLANT_HEAD)));
    expect(Math.max(...others)).toBeLessThan(r.accuracy[PLANT_LAYER][PLANT_HEAD] - 0.1);
    expect(r.selected).toHaveLength(2);
    expect(r.ranked).toHaveLength(L * H);
    expect(r.counts).toMatchObject({ examples: 40, rows: 120, trainRows: 96, valRows: 24, positives: 40, negatives: 80 });
    const top = r.heads[0];
    expect(cosine(top.direction, planted)).toBeGreaterThan(0.95);
    expect(top.sigma).toBeGreaterThan(0);
    expect(top.valAccuracy).toBe(r.accuracy[PLANT_LAYER][PLANT_HEAD]);

    // The shift lands where asked: the last prompt token ('last'), or it and every answer token ('answer').
    const ids = [
      [5, 9, 12, 3, 7],
      [6, 8, 4, 2, 2],
    ];
    const mask = [
      [1, 1, 1, 1, 1],
      [1, 1, 1, 0, 0],
    ];
    const read = [{ site: 'head_output' as const, layer: PLANT_LAYER, head: PLANT_HEAD }];
    const zOf = (edits?: SiteEdit[]) => {
      const out = gpt2.model.forward({ inputIds: ids, attentionMask: mask }, { read, edits, logits: 'none' });
      const data = out.sites[`head_output:${PLANT_LAYER}.${PLANT_HEAD}`].arraySync() as number[][][];
      tf.dispose(Object.values(out.sites));
      return data;
    };
    const base = zOf();
    const shiftAt = (z: number[][][]) => z.map((row, b) => row.map((v, t) => Math.hypot(...v.map((x, j) => x - base[b][t][j]))));
    const size = r.alpha * top.sigma;
    // Only the planted head's shift (a layer-0 head's shift would reach layer 1 through attention).
    const one = { ...r, heads: [top] };
    const last = shiftAt(zOf(itiEdits(one, { mode: 'last', promptLengths: [3, 2] })));
    expect(last[0].map((s) => (s > 1e-4 ? 1 : 0))).toEqual([0, 0, 1, 0, 0]);
    expect(last[1].map((s) => (s > 1e-4 ? 1 : 0))).toEqual([0, 1, 0, 0, 0]);
    expect(last[0][2]).toBeCloseTo(size, 3);
    const answer = shiftAt(zOf(itiEdits(one, { mode: 'answer', promptLengths: [3, 2], totalLength: 5 })));
    expect(answer[0].map((s) => (s > 1e-4 ? 1 : 0))).toEqual([0, 0, 1, 1, 1]);
    expect(answer[1].map((s) => (s > 1e-4 ? 1 : 0))).toEqual([0, 1, 1, 1, 1]);
    const half = shiftAt(zOf(itiEdits(one, { mode: 'last', promptLengths: [3, 2], alpha: r.alpha / 2 })));
    expect(half[0][2]).toBeCloseTo(size / 2, 3);
    // Left-padded prompts (generate): the last column.
    const gen = itiPromptEdits(r, [[5, 9, 12], [6, 8]]);
    expect(gen[0].positions).toEqual([[2], [2]]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('scores and generates with the shift (smoke), without leaking tensors', () => {
    const r = trainIti(gpt2.model, gpt2.tokenizer!, { train, dev }, { k: { percent: 25 } });
    expect(r.selected).toHaveLength(2);
    expect(r.counts.valRows).toBe(48); // the given dev split is the validation split
    const before = tf.memory().numTensors;
    const off = evaluateIti(gpt2.model, gpt2.tokenizer!, dev, r, { alpha: 0 });
    const on = evaluateIti(gpt2.model, gpt2.tokenizer!, dev, r, { alpha: 15 });
    const lastOnly = evaluateIti(gpt2.model, gpt2.tokenizer!, dev, r, { mode: 'last', multipleChoice: true });
    expect(on.n).toBe(16);
    expect(on.meanLogitDiff).not.toBeCloseTo(off.meanLogitDiff, 6);
    expect(lastOnly.mc2).toBeGreaterThan(0);
    const prompts = dev.slice(0, 3).map((e) => gpt2.tokenizer!.encode(e.prompt));
    const g = generate(gpt2.model, prompts, { maxNewTokens: 3, promptEdits: itiPromptEdits(r, prompts) });
    expect(g.tokens.map((t) => t.length)).toEqual([3, 3, 3]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('uses the documented defaults', () => {
    expect(ITI_DEFAULTS).toMatchObject({ alpha: 15, valFraction: 0.2, l2: 1, k: { percent: 10 } });
  });

  it('refuses bad input by name', () => {
    const tok = gpt2.tokenizer!;
    expect(() => trainIti(gpt2.model, tok, { train }, { k: 0 })).toThrow(/k = 0 must be a whole number of heads from 1 to 8/);
    expect(() => trainIti(gpt2.model, tok, { train }, { k: 9 })).toThrow(/k = 9/);
    expect(() => trainIti(gpt2.model, tok, { train }, { valFraction: 1 })).toThrow(/validation fraction must be in \(0, 1\)/);
    expect(() => trainIti(gpt2.model, tok, { train }, { l2: -1 })).toThrow(/L2 weight must be positive/);
    expect(() => trainIti(gpt2.model, tok, { train: [] })).toThrow(/no examples/);
    expect(() => trainIti(gpt2.model, tok, { train: train.slice(0, 1) })).toThrow(/at least 2 examples/);
    const allTrue = train.slice(0, 4).map((e) => ({ ...e, wrong: [e.completion] }));
    expect(() => trainIti(gpt2.model, tok, { train: allTrue })).toThrow(/need both correct and wrong answers in the training split \(got \d+ correct, 0 wrong\)/);
    const shift = { heads: [{ layer: 0, head: 0, direction: new Float32Array(3), sigma: 1, valAccuracy: 1 }], alpha: 1, nHeads: 4, dHead: 8 };
    expect(() => itiEdits(shift, { mode: 'last', promptLengths: [2] })).toThrow(/has width 3, expected 8/);
    expect(() => itiEdits({ ...shift, heads: [] }, { mode: 'sideways' as never, promptLengths: [2] })).toThrow(/unknown ITI mode 'sideways'/);
    expect(() => itiEdits({ ...shift, heads: [] }, { mode: 'last', promptLengths: [2], offsets: [0, 1] })).toThrow(/2 offsets for 1 prompts/);
  });
});
