import * as tf from '../../src-main/engine/tf.js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LoadedModel } from '../../src-main/engine/io/model-folder.js';
import { CancelledError, type Progress } from '../../src-main/engine/methods/progress.js';
import { openModel } from '../../src-main/engine/open-model.js';
import { AnswerReadout, PATCH_METRICS, aggregate, flatValues, padBatch, patchSweep, preparePairs, spearman, targets, type SweepOptions } from '../../src-main/engine/patching/index.js';
import { loadTask, type LoadedTask } from '../../src-main/engine/tasks/registry.js';
import { useTestBackend } from '../helpers/backend.js';

let m: LoadedModel;
let ioi: LoadedTask;

beforeAll(async () => {
  await useTestBackend('wasm');
  m = await openModel('demo-gpt2');
  ioi = await loadTask('ioi');
});

// Sweeps are long synchronous work: yield between tests so vitest's worker RPC replies get through.
afterEach(() => new Promise<void>((done) => setImmediate(done)));

const opts = (o: Partial<SweepOptions> & { kind: SweepOptions['kind'] }): SweepOptions => ({ taskName: 'ioi', taskRoles: ioi.manifest.roles, ...o });

describe('answer-only readout', () => {
  it('gives the logits of the answer tokens and the log-normaliser of the full unembedding, so every metric matches', () => {
    const pairs = preparePairs(m.tokenizer!, ioi.splits.test.slice(0, 5));
    const batch = padBatch(pairs.map((p) => p.clean), 0);
    const answers = { correct: pairs.map((p) => p.answer), wrong: pairs.map((p) => p.wrong), target: targets(pairs, 'noise'), candidates: pairs.map((p) => p.candidates) };
    const readout = new AnswerReadout(m.model, answers);
    const rows = pairs.map((_, b) => b);
    const last = batch.lengths.map((l) => l - 1);
    const res = m.model.forward({ inputIds: batch.ids, attentionMask: batch.mask }, { stopBefore: m.spec.nLayers });
    const { picked, lse } = readout.logits(res.residual!, last, rows, true);
    const full = m.model.forward({ inputIds: batch.ids, attentionMask: batch.mask }, { logits: { positions: last.map((p) => [p]) } });
    const V = m.spec.vocabSize;
    const logits = full.logits!.dataSync() as Float32Array;
    const got = picked.dataSync() as Float32Array;
    const K = readout.K;
    pairs.forEach((p, b) => {
      const row = logits.subarray(b * V, (b + 1) * V);
      expect(got[b * K]).toBeCloseTo(row[p.answer], 4);
      expect(got[b * K + 1]).toBeCloseTo(row[p.wrong], 4);
      expect(got[b * K + 2]).toBeCloseTo(row[p.sourceAnswer], 4);
      const max = Math.max(...row);
      expect(lse!.dataSync()[b]).toBeCloseTo(max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0)), 4);
    });
    const fast = readout.scores(got, lse!.dataSync(), rows.length);
    const slow = readout.scoresFromFullLogits(logits, rows);
    const ref = { cleanLogitDiff: 3, corruptLogitDiff: -1 };
    for (const metric of PATCH_METRICS) expect(aggregate(metric, fast, ref), metric).toBeCloseTo(aggregate(metric, slow, ref), 5);
    expect(slow.every((s) => s.hit === false)).toBe(true); // the clean run does not give the corrupt answer
    tf.dispose([picked, lse, res.residual!, full.logits!]);
    readout.dispose();
  });
});

describe('attribution patching', () => {
  it('ranks the heads of demo-gpt2 on IOI much as the exact sweep does', () => {
    const ex = ioi.splits.test.slice(0, 4);
    const exact = patchSweep(m.model, m.tokenizer!, ex, opts({ kind: 'heads' }));
    const attr = patchSweep(m.model, m.tokenizer!, ex, opts({ kind: 'heads', method: 'attribution' }));
    const rho = spearman(flatValues(exact.values), flatValues(attr.values));
    expect(rho).toBeGreaterThan(0.5);
  });
});

describe('progress and cancellation', () => {
  it('reports progress per batched forward and stops when asked, leaving no tensors behind', () => {
    const ex = ioi.splits.test.slice(0, 4);
    const events: Progress[] = [];
    const before = tf.memory().numTensors;
    const run = (method: 'exact' | 'naive') =>
      patchSweep(m.model, m.tokenizer!, ex, opts({ kind: 'heads', method, memoryMiB: 2 }), { onProgress: (p) => events.push(p), shouldStop: () => events.some((e) => e.step >= 1) });
    expect(() => run('exact')).toThrow(CancelledError);
    const steps = events.map((e) => e.step);
    expect(steps[0]).toBe(0);
    expect(Math.max(...steps)).toBeLessThan(32);
    expect(events[0].total).toBe(32);
    events.length = 0;
    expect(() => run('naive')).toThrow(CancelledError);
    expect(events.map((e) => e.step)).toEqual([0, 1]);
    expect(tf.memory().numTensors).toBe(before);
    // Without a stop it runs to the end.
    events.length = 0;
    patchSweep(m.model, m.tokenizer!, ex, opts({ kind: 'heads', layers: [3], memoryMiB: 2 }), { onProgress: (p) => events.push(p) });
    expect(events.at(-1)).toMatchObject({ step: 8, total: 8 });
  });
});

describe('sweep bad input', () => {
  it('refuses, by name: an example without a source, an unknown role, layers or heads out of range, accuracy for attribution, a variable while denoising', async () => {
    const truthful = await loadTask('truthful');
    const ex = ioi.splits.test.slice(0, 2);
    const sweep = (o: SweepOptions, examples = ex) => () => patchSweep(m.model, m.tokenizer!, examples, o);
    expect(sweep({ kind: 'heads', taskName: 'truthful' }, truthful.splits.test.slice(0, 2))).toThrow(/example 'truthful-test-0000' of task 'truthful' has no source prompt/);
    expect(sweep(opts({ kind: 'resid', positions: ['IO', 'SUBJECT'] }))).toThrow(/position role "SUBJECT" is not defined by ioi; it defines: first, last, IO, S1, S2, END/);
    expect(sweep(opts({ kind: 'attn', layers: [4] }))).toThrow(/layer 4 is out of range: the model has layers 0..3/);
    expect(sweep(opts({ kind: 'heads', heads: [8] }))).toThrow(/head 8 is out of range: the model has heads 0..7/);
    expect(sweep(opts({ kind: 'heads', method: 'attribution', metric: 'accuracy' }))).toThrow(/attribution needs a differentiable metric/);
    expect(sweep(opts({ kind: 'heads', variable: 'io' }))).toThrow(/causal variable needs direction noise/);
    expect(sweep(opts({ kind: 'heads', variable: 'colour', direction: 'noise' }))).toThrow(/no counterfactual label for variable 'colour' \(it has: io, s\)/);
    expect(sweep(opts({ kind: 'mlp', perPosition: true }))).toThrow(/per-position applies to the heads sweep/);
    expect(sweep(opts({ kind: 'heads', metric: 'kl' as never }))).toThrow(/unknown metric 'kl'/);
    expect(sweep(opts({ kind: 'heads', method: 'fast' as never }))).toThrow(/unknown method 'fast'/);
    expect(sweep(opts({ kind: 'heads', direction: 'up' as never }))).toThrow(/direction must be denoise or noise/);
  });
});
