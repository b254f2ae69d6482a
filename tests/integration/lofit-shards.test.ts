/**
 * LoFIT with a training helper thread (each batch split in two) must train exactly what one
 * thread trains: same losses, same scales and offsets, up to float summation order.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../src-main/engine/tf.js';
import { loadModelFolder, type LoadedModel } from '../../src-main/engine/io/model-folder.js';
import { FoldedOffsets, lofitEdits, lofitSelect, lofitTune } from '../../src-main/engine/methods/lofit.js';
import { splitRows } from '../../src-main/engine/methods/lofit-step.js';
import { closeTrainingHelper, trainingShards, wasmThreadsForTraining } from '../../src-main/engine/parallel/training-helper.js';
import { ShardThread } from '../../src-main/engine/parallel/shard-thread.js';
import type { HeadRef } from '../../src-main/engine/methods/heads.js';
import { seededRandom } from '../../src-main/engine/random.js';
import { toyTask } from '../helpers/toy-task.js';
import { withEnv } from '../../bench/env.js';
import { useTestBackend } from '../helpers/backend.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'reference');
let gpt2: LoadedModel;
let llama: LoadedModel;

// 19 examples with batch 8: the last batch of an epoch has 3 rows, split 1 + 2. Every third
// completion has a second token, so the two halves of a batch weigh differently.
const train = toyTask(19, 11).map((e, i) => (i % 3 === 0 ? { ...e, completion: `${e.completion} t50` } : e));

const withShards = <T>(n: number, f: () => T): T => withEnv('SUBSPACE_TRAIN_SHARDS', String(n), f);

const maxAbs = (a: ArrayLike<number>[], b: ArrayLike<number>[]) => Math.max(...a.map((x, i) => Math.max(...Array.from(x, (v, j) => Math.abs(v - b[i][j])))));
const scaleOf = (a: ArrayLike<number>[]) => Math.max(...a.map((x) => Math.max(...Array.from(x, Math.abs))));

beforeAll(async () => {
  await useTestBackend();
  gpt2 = await loadModelFolder(join(FIX, 'gpt2-tied'));
  llama = await loadModelFolder(join(FIX, 'llama-gqa'));
});

afterEach(() => closeTrainingHelper());
afterAll(() => closeTrainingHelper());

describe('LoFIT with a training helper thread', () => {
  const cfg = { epochs: 2, batchSize: 8, seed: 5, warmupRatio: 0 };

  it('step 1 (cross-entropy) trains the same scales with the batch split across two threads', () => {
    const m = gpt2;
    const one = withShards(1, () => lofitSelect(m.model, m.tokenizer!, { train, dev: [] }, cfg));
    const two = withShards(2, () => lofitSelect(m.model, m.tokenizer!, { train, dev: [] }, cfg));
    expect(one.shards).toBe(1);
    expect(two.shards).toBe(2);
    expect(two.shardsNote).toBeUndefined();
    expect(two.loss.length).toBe(one.loss.length);
    two.loss.forEach((l, i) => expect(l.value).toBeCloseTo(one.loss[i].value, 4));
    // The scales moved (lr 1e-2 over 6 steps), and both runs moved them the same way.
    expect(scaleOf(one.scales)).toBeGreaterThan(1e-2);
    expect(maxAbs(two.scales, one.scales)).toBeLessThan(1e-4);
    expect(two.selected).toEqual(one.selected);
  });

  it("the L1 term (added off the tape) is in the recorded loss: λ·Σ|A| at the first step", () => {
    const m = gpt2;
    // A learning rate too small to move the scales: after training they are still the initial ones.
    const frozen = { ...cfg, epochs: 1, lr: 1e-12, initStd: 0.05 };
    for (const shards of [1, 2]) {
      const without = withShards(shards, () => lofitSelect(m.model, m.tokenizer!, { train, dev: [] }, { ...frozen, l1: 0 }));
      const withL1 = withShards(shards, () => lofitSelect(m.model, m.tokenizer!, { train, dev: [] }, { ...frozen, l1: 0.3 }));
      const sumAbs = withL1.scales.reduce((a, row) => a + row.reduce((b, x) => b + Math.abs(x), 0), 0);
      expect(sumAbs).toBeGreaterThan(1);
      expect(withL1.loss[0].value - without.loss[0].value).toBeCloseTo(0.3 * sumAbs, 4);
    }
  });

  it('step 2 with a cached prefix and DPO on a grouped-query model trains the same offsets', () => {
    const m = llama;
    const heads: HeadRef[] = [[1, 0], [1, 3], [2, 1]];
    const run = () => lofitTune(m.model, m.tokenizer!, { train, dev: [] }, heads, { ...cfg, loss: 'dpo' });
    const one = withShards(1, run);
    const two = withShards(2, run);
    expect(one.cachedPrefixLayer).toBe(1);
    expect(two.shards).toBe(2);
    two.loss.forEach((l, i) => expect(l.value).toBeCloseTo(one.loss[i].value, 4));
    expect(scaleOf(one.offsets)).toBeGreaterThan(1e-2);
    expect(maxAbs(two.offsets, one.offsets)).toBeLessThan(1e-4);
  });

  it('keeps the tensor count steady from the first step with the helper and a cached prefix', () => {
    const m = llama;
    const counts: number[] = [];
    const r = withShards(2, () =>
      lofitTune(m.model, m.tokenizer!, { train, dev: [] }, [[1, 0], [2, 1]], { ...cfg, epochs: 4 }, { onProgress: () => counts.push(tf.memory().numTensors) }),
    );
    expect(r.shards).toBe(2);
    expect(r.cachedPrefixLayer).toBe(1);
    expect(counts.length).toBe(r.steps);
    expect(new Set(counts).size).toBe(1);
  });

  it('one helper serves runs on different models in turn', () => {
    const heads: HeadRef[] = [[0, 1]];
    const a1 = withShards(1, () => lofitTune(gpt2.model, gpt2.tokenizer!, { train, dev: [] }, heads, cfg));
    const b1 = withShards(1, () => lofitTune(llama.model, llama.tokenizer!, { train, dev: [] }, heads, cfg));
    const [a2, b2] = withShards(2, () => [lofitTune(gpt2.model, gpt2.tokenizer!, { train, dev: [] }, heads, cfg), lofitTune(llama.model, llama.tokenizer!, { train, dev: [] }, heads, cfg)]);
    expect(maxAbs(a2.offsets, a1.offsets)).toBeLessThan(1e-4);
    expect(maxAbs(b2.offsets, b1.offsets)).toBeLessThan(1e-4);
  });
});

describe('the folded form of step 2', () => {
  it('gives the logits and offset gradients of the head_output edits', () => {
    const m = gpt2.model;
    const heads: HeadRef[] = [[0, 1], [1, 0], [1, 3]];
    const rand = seededRandom(3);
    const values = heads.map(() => Float32Array.from({ length: m.spec.dHead }, () => rand() - 0.5));
    const ids = [[5, 9, 14, 3, 7], [8, 2, 11, 6, 4]];
    const folded = new FoldedOffsets(m, heads);
    try {
      const vars = values.map((v) => tf.variable(tf.tensor1d(v)));
      const loss = (edits: ReturnType<typeof lofitEdits>) => () => tf.sum(tf.square(m.forward({ inputIds: ids }, { edits }).logits!)) as tf.Scalar;
      const plain = tf.variableGrads(loss(heads.map(([l, h], i) => ({ site: 'head_output', layer: l, head: h, apply: (z: tf.Tensor) => tf.add(z, vars[i]) }))), vars);
      const fold = tf.variableGrads(loss(folded.edits(vars)), vars);
      expect(Math.abs(fold.value.dataSync()[0] - plain.value.dataSync()[0]) / plain.value.dataSync()[0]).toBeLessThan(1e-5);
      for (const v of vars) {
        const g1 = plain.grads[v.name].dataSync();
        const g2 = fold.grads[v.name].dataSync();
        const scale = Math.max(...Array.from(g1, Math.abs));
        expect(scale).toBeGreaterThan(0);
        expect(Math.max(...Array.from(g1, (x, j) => Math.abs(x - g2[j])))).toBeLessThan(1e-4 * scale);
      }
      tf.dispose([plain.value, fold.value, ...Object.values(plain.grads), ...Object.values(fold.grads), ...vars]);
    } finally {
      folded.dispose();
    }
  });
});

describe('the helper thread', () => {
  it('names what went wrong in the helper instead of hanging', () => {
    const t = ShardThread.start();
    try {
      expect(() => t.call({ task: 'no-such-task' })).toThrow(/training helper failed: .*no handler for task 'no-such-task'/);
      expect(() => t.call({ task: 'lofit', op: 'step', rows: [0], params: [] })).toThrow(/before its run/);
      // Still answering after errors.
      expect(t.call({ task: 'lofit', op: 'end' })).toBeUndefined();
      // Answers owed for messages nobody collected (a step whose loop failed) are dropped by drain(),
      // so the next call reads its own answer, not an old one.
      t.post({ task: 'no-such-task' });
      t.post({ task: 'lofit', op: 'end' });
      t.drain();
      expect(() => t.call({ task: 'still-no-such-task' })).toThrow(/'still-no-such-task'/);
    } finally {
      t.close();
    }
  });

  it('splits a batch into near-equal halves and never into empty parts', () => {
    expect(splitRows([4, 1, 7, 2, 9], 2)).toEqual([[4, 1], [7, 2, 9]]);
    expect(splitRows([3], 2)).toEqual([[3]]);
  });

  it('is used by default only where it has a core of its own', () => {
    expect(trainingShards('1')).toBe(1);
    expect(trainingShards('2')).toBe(2);
    expect(trainingShards('0')).toBe(1);
    expect(wasmThreadsForTraining({ SUBSPACE_WASM_THREADS: '2' })).toBeUndefined();
    expect(wasmThreadsForTraining({ SUBSPACE_TRAIN_SHARDS: '1' })).toBeUndefined();
  });
});
