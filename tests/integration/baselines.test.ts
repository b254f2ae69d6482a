import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../src-main/engine/tf.js';
import { loadModelFolder, type LoadedModel } from '../../src-main/engine/io/model-folder.js';
import { Transformer } from '../../src-main/engine/model/transformer.js';
import { evaluateExamples } from '../../src-main/engine/eval/evaluate.js';
import { encodePair } from '../../src-main/engine/eval/score.js';
import { evaluateRed, redEdits, redParameterCount, trainRed } from '../../src-main/engine/methods/baselines/red.js';
import { evaluateLora, loraView, trainLora, type LoraAdapter } from '../../src-main/engine/methods/baselines/lora.js';
import { collectPairRepresentations, evaluateRepe, firstPrincipalComponent, fitRepe, readingVector, repeEdits, tuneRepe } from '../../src-main/engine/methods/baselines/repe.js';
import { parseBaselineMethod, runBaseline } from '../../src-main/engine/methods/baselines/index.js';
import { seededRandom } from '../../src-main/engine/random.js';
import { useTestBackend } from '../helpers/backend.js';
import { toyTask } from '../helpers/toy-task.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'reference');
let gpt2: LoadedModel;
let llama: LoadedModel;

const train = toyTask(32, 1);
const dev = toyTask(8, 2);
const quick = { epochs: 2, batchSize: 8, seed: 7 };
const ids = [[5, 9, 12, 3, 7]];

beforeAll(async () => {
  await useTestBackend();
  gpt2 = await loadModelFolder(join(FIX, 'gpt2-tied'));
  llama = await loadModelFolder(join(FIX, 'llama-gqa'));
});

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const maxDiff = (x: ArrayLike<number>, y: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
};
const randArray = (n: number, seed: number, scale = 1) => {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => (2 * r() - 1) * scale);
};
/** Logits [1, T, V] of a forward, as numbers. */
const logitsOf = (m: Transformer, opts: Parameters<Transformer['forward']>[1] = {}) => {
  const r = m.forward({ inputIds: ids }, { ...opts, logits: 'all' });
  const out = r.logits!.dataSync().slice();
  tf.dispose([r.logits!, ...Object.values(r.sites)]);
  return out;
};

describe('RED', () => {
  it('is the identity with zero parameters and (1 + s) ⊙ h + b at the site with given ones', () => {
    const d = gpt2.spec.dModel;
    const zero = redEdits({ site: 'block_output', layers: [0, 1], scales: [new Float32Array(d), new Float32Array(d)], biases: [new Float32Array(d), new Float32Array(d)] });
    expect(maxDiff(logitsOf(gpt2.model, { edits: zero }), logitsOf(gpt2.model))).toBe(0);

    const s = randArray(d, 3, 0.5);
    const b = randArray(d, 4, 0.3);
    const base = gpt2.model.forward({ inputIds: ids }, { read: [{ site: 'block_output', layer: 0 }], logits: 'none' });
    const edited = gpt2.model.forward({ inputIds: ids }, { read: [{ site: 'block_output', layer: 0 }], logits: 'none', edits: redEdits({ site: 'block_output', layers: [0], scales: [s], biases: [b] }) });
    const h = base.sites['block_output:0'].dataSync();
    const e = edited.sites['block_output:0'].dataSync();
    const hand = Float32Array.from(h, (x, i) => (1 + s[i % d]) * x + b[i % d]);
    expect(maxDiff(e, hand)).toBeLessThan(1e-5);
    tf.dispose([...Object.values(base.sites), ...Object.values(edited.sites)]);
  });

  it('training lowers the loss with 2·d parameters per layer and leaks no tensors', () => {
    const before = tf.memory().numTensors;
    const r = trainRed(gpt2.model, gpt2.tokenizer!, { train, dev }, { ...quick, epochs: 6, lr: 3e-2, layers: [1] });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.parameters).toBe(2 * gpt2.spec.dModel);
    expect(redParameterCount(32, 4096)).toBe(262144);
    expect(r.layers).toEqual([1]);
    expect(mean(r.loss.slice(-4).map((l) => l.value))).toBeLessThan(mean(r.loss.slice(0, 4).map((l) => l.value)) * 0.9);
    // The kept parameters are the best dev epoch's: evaluating them gives that epoch's numbers.
    const ev = evaluateRed(gpt2.model, gpt2.tokenizer!, dev, r);
    expect(ev.accuracy).toBeCloseTo(r.dev[r.bestEpoch].accuracy, 6);
    expect(ev.meanLogitDiff).toBeCloseTo(r.dev[r.bestEpoch].meanLogitDiff, 4);
    // Every layer by default (the reference's setting).
    const all = trainRed(gpt2.model, gpt2.tokenizer!, { train, dev: [] }, { ...quick, epochs: 1 });
    expect(all.layers).toEqual([0, 1]);
    expect(all.parameters).toBe(2 * 2 * gpt2.spec.dModel);
  });
});

describe('LoRA', () => {
  const adapters = (m: LoadedModel, layer: number, rank: number, zeroB: boolean): LoraAdapter[] =>
    (['q', 'v'] as const).map((target, t) => {
      const w = m.model.weights.layers[layer][target === 'q' ? 'wq' : 'wv'];
      const [inDim, outDim] = w.shape;
      return { layer, target, inDim, outDim, A: randArray(rank * inDim, 10 + t, 0.3), B: zeroB ? new Float32Array(outDim * rank) : randArray(outDim * rank, 20 + t, 0.3) };
    });

  /** W + (α/r)·(B A)ᵀ in the [in, out] layout, by plain loops. */
  const mergedByHand = (W: Float32Array, a: LoraAdapter, rank: number, scale: number) => {
    const out = W.slice();
    for (let i = 0; i < a.inDim; i++) {
      for (let o = 0; o < a.outDim; o++) {
        let s = 0;
        for (let k = 0; k < rank; k++) s += a.B[o * rank + k] * a.A[k * a.inDim + i];
        out[i * a.outDim + o] += scale * s;
      }
    }
    return out;
  };

  it('with B = 0 is the base model; with given A, B equals the model with W + (α/r)·B A merged in', () => {
    for (const m of [gpt2, llama]) {
      const rank = 3;
      const zero = loraView(m.model, adapters(m, 1, rank, true), rank, 6);
      expect(maxDiff(logitsOf(zero.model), logitsOf(m.model))).toBe(0);
      zero.dispose();

      const ad = adapters(m, 1, rank, false);
      const view = loraView(m.model, ad, rank, 6);
      const layers = m.model.weights.layers.map((w) => ({ ...w }));
      const made: tf.Tensor[] = [];
      for (const a of ad) {
        const key = a.target === 'q' ? 'wq' : 'wv';
        const t = tf.tensor2d(mergedByHand(layers[1][key].dataSync() as Float32Array, a, rank, 6 / rank), [a.inDim, a.outDim]);
        made.push(t);
        layers[1][key] = t;
      }
      const merged = new Transformer(m.model.spec, { ...m.model.weights, layers });
      const lv = logitsOf(view.model);
      expect(maxDiff(lv, logitsOf(merged))).toBeLessThan(1e-4);
      expect(maxDiff(lv, logitsOf(m.model))).toBeGreaterThan(1e-3);
      view.dispose();
      tf.dispose(made);
    }
  });

  it('adds (α/r)·(x Aᵀ) Bᵀ to the value projection: one token attends only to itself, so its head output is v', () => {
    const m = llama; // grouped-query attention: query head h reads kv head ⌊h / 2⌋
    const { nHeads: H, nKvHeads: Hkv, dHead: dh, dModel: d } = m.spec;
    const rank = 2;
    const ad = adapters(m, 1, rank, false);
    const view = loraView(m.model, ad, rank, 4);
    const one = [[7]];
    const r = view.model.forward({ inputIds: one }, { read: [{ site: 'attention_input', layer: 1 }, { site: 'head_output', layer: 1 }], logits: 'none' });
    const x = r.sites['attention_input:1'].dataSync();
    const z = r.sites['head_output:1'].dataSync(); // [1, 1, H, dh]
    const Wv = m.model.weights.layers[1].wv.dataSync();
    const a = ad.find((q) => q.target === 'v')!;
    const v = new Float64Array(Hkv * dh);
    for (let o = 0; o < Hkv * dh; o++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += x[i] * Wv[i * Hkv * dh + o];
      let low = 0;
      for (let k = 0; k < rank; k++) {
        let xa = 0;
        for (let i = 0; i < d; i++) xa += x[i] * a.A[k * d + i];
        low += xa * a.B[o * rank + k];
      }
      v[o] = s + (4 / rank) * low;
    }
    const g = H / Hkv;
    for (let h = 0; h < H; h++) for (let j = 0; j < dh; j++) expect(Math.abs(z[h * dh + j] - v[Math.floor(h / g) * dh + j])).toBeLessThan(1e-4);
    tf.dispose(Object.values(r.sites));
    view.dispose();
  });

  it('training lowers the loss with r·(in + out) parameters per projection and leaks no tensors', () => {
    const before = tf.memory().numTensors;
    const r = trainLora(llama.model, llama.tokenizer!, { train, dev }, { ...quick, epochs: 6, lr: 2e-2, rank: 2, layers: [1, 2] });
    expect(tf.memory().numTensors).toBe(before);
    const { dModel: d, nHeads: H, nKvHeads: Hkv, dHead: dh } = llama.spec;
    expect(r.parameters).toBe(2 * (2 * (d + H * dh) + 2 * (d + Hkv * dh)));
    expect(r.adapters).toHaveLength(4);
    expect(mean(r.loss.slice(-4).map((l) => l.value))).toBeLessThan(mean(r.loss.slice(0, 4).map((l) => l.value)) * 0.9);
    const ev = evaluateLora(llama.model, llama.tokenizer!, dev, r);
    expect(ev.meanLogitDiff).toBeCloseTo(r.dev[r.bestEpoch].meanLogitDiff, 4);
    expect(tf.memory().numTensors).toBe(before);
  });
});

/** Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations: [eigenvalues, eigenvectors as columns]. */
function jacobiEigen(S: number[][]): { values: number[]; vectors: number[][] } {
  const n = S.length;
  const A = S.map((r) => r.slice());
  const V: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p][q] ** 2;
    if (off < 1e-24) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(A[p][q]) < 1e-300) continue;
        const theta = (A[q][q] - A[p][p]) / (2 * A[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k][p];
          const akq = A[k][q];
          A[k][p] = c * akp - s * akq;
          A[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p][k];
          const aqk = A[q][k];
          A[p][k] = c * apk - s * aqk;
          A[q][k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k][p];
          const vkq = V[k][q];
          V[k][p] = c * vkp - s * vkq;
          V[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: A.map((r, i) => r[i]), vectors: V };
}

/** The best dev epoch by hand: the highest score, ties broken by a larger logit difference, else the earliest. */
function handBest<R extends { meanLogitDiff: number }>(records: R[], score: (r: R) => number): number {
  let b = 0;
  records.forEach((d, i) => {
    if (score(d) > score(records[b]) || (score(d) === score(records[b]) && d.meanLogitDiff > records[b].meanLogitDiff)) b = i;
  });
  return b;
}

describe('early stopping of the trained baselines', () => {
  it('keeps the best dev accuracy, ties broken by the logit difference, and restores that epoch', () => {
    const r = trainRed(gpt2.model, gpt2.tokenizer!, { train, dev }, { ...quick, epochs: 6, lr: 1e-2 });
    // Accuracy stays 0 in this run while the margin grows: accuracy alone would keep epoch 0.
    expect(new Set(r.dev.map((d) => d.accuracy)).size).toBe(1);
    const best = handBest(r.dev, (d) => d.accuracy);
    expect(best).toBeGreaterThan(0);
    expect(r.bestEpoch).toBe(best);
    expect(evaluateRed(gpt2.model, gpt2.tokenizer!, dev, r).meanLogitDiff).toBeCloseTo(r.dev[best].meanLogitDiff, 4);
  });

  it('scores multiple-choice runs by MC1, as the comparisons report them', () => {
    const r = trainRed(gpt2.model, gpt2.tokenizer!, { train, dev }, { ...quick, epochs: 6, lr: 1e-2, multipleChoice: true });
    const best = handBest(r.dev, (d) => d.preferCorrect);
    // MC1 and accuracy (with the margin) pick different epochs in this run.
    expect(handBest(r.dev, (d) => d.accuracy)).not.toBe(best);
    expect(r.bestEpoch).toBe(best);
    const ev = evaluateRed(gpt2.model, gpt2.tokenizer!, dev, r, true);
    expect(ev.preferCorrect).toBe(r.dev[best].preferCorrect);
    expect(ev.meanLogitDiff).toBeCloseTo(r.dev[best].meanLogitDiff, 4);
  });
});

describe('RepE', () => {
  it('power iteration finds the covariance eigenvector of largest eigenvalue (against a Jacobi eigen-decomposition)', () => {
    const n = 9;
    const d = 5;
    const X = randArray(n * d, 5);
    for (let i = 0; i < n; i++) X[i * d + 2] *= 3; // one dominant direction, not axis-aligned after the others mix in
    const pc = firstPrincipalComponent(X, n, d);
    const mu = Array.from({ length: d }, (_, j) => mean(Array.from({ length: n }, (_, i) => X[i * d + j])));
    const S = Array.from({ length: d }, (_, a) => Array.from({ length: d }, (_, b) => mean(Array.from({ length: n }, (_, i) => (X[i * d + a] - mu[a]) * (X[i * d + b] - mu[b])))));
    const eig = jacobiEigen(S);
    const top = eig.values.indexOf(Math.max(...eig.values));
    const u = eig.vectors.map((r) => r[top]);
    const dot = u.reduce((a, x, j) => a + x * pc.vector[j], 0);
    expect(Math.abs(Math.abs(dot) - 1)).toBeLessThan(1e-6);
    expect(pc.eigenvalue).toBeCloseTo(eig.values[top], 6);
    expect(pc.explained).toBeCloseTo(eig.values[top] / eig.values.reduce((a, x) => a + x, 0), 6);
    expect(() => firstPrincipalComponent(X, 1, d * n)).toThrow(/at least 2 rows/);
  });

  it('reads pairs by hand, signs the vector toward the correct answers, and adds c·v at the prompt positions only', () => {
    const m = gpt2;
    const tok = m.tokenizer!;
    const pairs = collectPairRepresentations(m.model, tok, train, 'block_output', 1, 5);
    const d = m.spec.dModel;
    // One example at a time, unbatched, read directly.
    for (const i of [0, 7]) {
      for (const [k, ans] of [[0, train[i].completion], [1, train[i].wrong[0]]] as const) {
        const p = encodePair(tok, train[i].prompt, ans);
        const seq = [...p.prompt, ...p.continuation];
        const r = m.model.forward({ inputIds: [seq] }, { read: [{ site: 'block_output', layer: 1 }], logits: 'none' });
        const all = r.sites['block_output:1'].dataSync();
        expect(maxDiff(all.slice((seq.length - 1) * d, seq.length * d), pairs.values.slice((2 * i + k) * d, (2 * i + k + 1) * d))).toBeLessThan(1e-5);
        tf.dispose(Object.values(r.sites));
      }
    }
    const reading = fitRepe(m.model, tok, train, { layer: 1 });
    const again = readingVector(pairs, 42);
    expect(maxDiff(reading.direction, again.direction)).toBeLessThan(1e-6);
    expect(Math.hypot(...reading.direction)).toBeCloseTo(1, 5);
    // The sign: the correct answer projects higher in most pairs.
    let above = 0;
    for (let i = 0; i < pairs.n; i++) {
      let c = 0;
      let w = 0;
      for (let j = 0; j < d; j++) {
        c += reading.direction[j] * pairs.values[2 * i * d + j];
        w += reading.direction[j] * pairs.values[(2 * i + 1) * d + j];
      }
      if (c > w) above++;
    }
    expect(above / pairs.n).toBeCloseTo(reading.readingAccuracy, 10);
    expect(reading.readingAccuracy).toBeGreaterThanOrEqual(0.5);

    const c = 2.5;
    const read = [{ site: 'block_output' as const, layer: 1 }];
    const base = m.model.forward({ inputIds: ids }, { read, logits: 'none' });
    const edited = m.model.forward({ inputIds: ids }, { read, logits: 'none', edits: repeEdits(reading, c, { positions: 'prompt', promptLengths: [3] }) });
    const h = base.sites['block_output:1'].dataSync();
    const e = edited.sites['block_output:1'].dataSync();
    for (let t = 0; t < ids[0].length; t++) for (let j = 0; j < d; j++) expect(Math.abs(e[t * d + j] - (h[t * d + j] + (t < 3 ? c * reading.direction[j] : 0)))).toBeLessThan(1e-5);
    tf.dispose([...Object.values(base.sites), ...Object.values(edited.sites)]);
    // c = 0 is the base model.
    expect(evaluateRepe(m.model, tok, dev, reading, 0)).toEqual(evaluateExamples(m.model, tok, dev));
  });

  it('chooses the layer and coefficient on dev from its grid', () => {
    const r = tuneRepe(gpt2.model, gpt2.tokenizer!, { train, dev }, { coefficients: [0, 1, 4] });
    expect(r.grid).toHaveLength(2 * 3);
    const best = Math.max(...r.grid.map((g) => g.dev));
    expect(r.grid.find((g) => g.layer === r.reading.layer && g.coefficient === r.coefficient)!.dev).toBe(best);
    expect(r.parameters).toBe(gpt2.spec.dModel);
  });
});

describe('baseline runner and bad input', () => {
  it('runs each baseline by name with its parameter count and test score', () => {
    const data = { train, dev, test: dev };
    const red = runBaseline('red', gpt2.model, gpt2.tokenizer!, data, { configs: { red: { ...quick, epochs: 1 } } });
    expect(red.parameters).toBe(2 * 2 * gpt2.spec.dModel);
    expect(red.metric).toBe(red.test.accuracy);
    const repe = runBaseline('repe', gpt2.model, gpt2.tokenizer!, data, { multipleChoice: true, configs: { repe: { coefficients: [1], layers: [0] } } });
    expect(repe.metric).toBe(repe.test.preferCorrect);
    expect(repe.setting).toMatch(/layer 0, c = 1/);
  });

  it('refuses bad settings by name', () => {
    const tok = gpt2.tokenizer!;
    const t = { train, dev: [] };
    expect(() => parseBaselineMethod('prefix-tuning')).toThrow(/unknown baseline 'prefix-tuning' \(known: red, lora, repe\)/);
    expect(() => runBaseline('adapter', gpt2.model, tok, { ...t, test: [] })).toThrow(/unknown baseline 'adapter'/);
    expect(() => trainRed(gpt2.model, tok, t, { lr: -1 })).toThrow(/learning rate must be positive \(got -1\)/);
    expect(() => trainRed(gpt2.model, tok, t, { layers: [2] })).toThrow(/layer 2 is out of range: the model has layers 0..1/);
    expect(() => trainRed(gpt2.model, tok, t, { site: 'logits' as never })).toThrow(/RED edits one of/);
    expect(() => trainLora(gpt2.model, tok, t, { lr: -0.1 })).toThrow(/learning rate must be positive/);
    expect(() => trainLora(gpt2.model, tok, t, { rank: 33 })).toThrow(/LoRA rank 33 is larger than the width of the q projection \(32 → 32\)/);
    expect(() => trainLora(llama.model, llama.tokenizer!, t, { rank: 20 })).toThrow(/LoRA rank 20 is larger than the width of the v projection \(32 → 16\)/);
    expect(() => trainLora(gpt2.model, tok, t, { rank: 0 })).toThrow(/rank must be a whole number ≥ 1/);
    expect(() => trainLora(gpt2.model, tok, t, { alpha: -2 })).toThrow(/α must be positive/);
    expect(() => trainLora(gpt2.model, tok, t, { targets: ['x' as never] })).toThrow(/unknown LoRA target 'x'/);
    expect(() => repeEdits({ site: 'block_output', layer: 0, direction: new Float32Array(32) }, -1, { positions: 'all' })).toThrow(/coefficient must be a number ≥ 0 \(got -1\)/);
    expect(() => tuneRepe(gpt2.model, tok, { train, dev }, { coefficients: [1, -3] })).toThrow(/coefficient must be a number ≥ 0 \(got -3\)/);
    expect(() => tuneRepe(gpt2.model, tok, { train, dev: [] })).toThrow(/dev split/);
    expect(() => fitRepe(gpt2.model, tok, train, { layer: 5 })).toThrow(/layer 5 is out of range/);
  });
});
