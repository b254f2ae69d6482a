import * as tf from '../../src-main/engine/tf.js';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModelFolder, type LoadedModel } from '../../src-main/engine/io/model-folder.js';
import { useTestBackend, maxAbsDiff } from '../helpers/backend.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'reference');
let gpt2: LoadedModel;
let llama: LoadedModel;
const ids = [[3, 9, 27, 14, 5, 33]];

beforeAll(async () => {
  await useTestBackend();
  gpt2 = await loadModelFolder(join(FIX, 'gpt2-untied'));
  llama = await loadModelFolder(join(FIX, 'llama-gqa'));
});

function data(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

describe('site edits', () => {
  it('an identity edit changes nothing; reads see the edited value', () => {
    for (const m of [gpt2, llama]) {
      const base = m.model.forward({ inputIds: ids });
      const same = m.model.forward({ inputIds: ids }, { edits: [{ site: 'block_output', layer: 0, apply: (v) => v }] });
      expect(maxAbsDiff(data(base.logits!), data(same.logits!))).toBe(0);
      const zeroed = m.model.forward(
        { inputIds: ids },
        { read: [{ site: 'mlp_output', layer: 1 }], edits: [{ site: 'mlp_output', layer: 1, apply: (v) => tf.zerosLike(v) }] },
      );
      expect(Math.max(...data(zeroed.sites['mlp_output:1']).map(Math.abs))).toBe(0);
      expect(maxAbsDiff(data(base.logits!), data(zeroed.logits!))).toBeGreaterThan(1e-3);
      tf.dispose([base.logits!, same.logits!, zeroed.logits!, ...Object.values(zeroed.sites)]);
    }
  });

  it('a head edit at chosen positions equals the same arithmetic done by hand', () => {
    const m = llama;
    const { nHeads, dHead } = m.spec;
    const layer = 1;
    const head = 2;
    const positions = [[1, 4]];
    const offset = tf.randomNormal([dHead], 0, 1, 'float32', 7);
    const edited = m.model.forward(
      { inputIds: ids },
      { read: [{ site: 'head_output', layer }], edits: [{ site: 'head_output', layer, head, positions, apply: (v) => tf.add(v, offset) }] },
    );
    const plain = m.model.forward({ inputIds: ids }, { read: [{ site: 'head_output', layer }] });
    const got = data(edited.sites[`head_output:${layer}`]);
    const want = Float32Array.from(data(plain.sites[`head_output:${layer}`]));
    const off = data(offset);
    const T = ids[0].length;
    for (const t of positions[0]) for (let i = 0; i < dHead; i++) want[(t * nHeads + head) * dHead + i] += off[i];
    expect(got.length).toBe(T * nHeads * dHead);
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
    tf.dispose([offset, edited.logits!, plain.logits!, ...Object.values(edited.sites), ...Object.values(plain.sites)]);
  });

  it('replacing a site with another run’s value (a patch) moves the output to that run', () => {
    const m = gpt2;
    const src = [[7, 9, 27, 14, 5, 33]];
    const last = m.spec.nLayers - 1;
    const sourceRun = m.model.forward({ inputIds: src }, { read: [{ site: 'block_output', layer: last }] });
    const srcVal = sourceRun.sites[`block_output:${last}`];
    const patched = m.model.forward({ inputIds: ids }, { edits: [{ site: 'block_output', layer: last, apply: () => srcVal }] });
    expect(maxAbsDiff(data(patched.logits!), data(sourceRun.logits!))).toBeLessThan(1e-5);
    tf.dispose([sourceRun.logits!, srcVal, patched.logits!]);
  });

  it('gradients flow through an edit to its variables and match finite differences', () => {
    const m = llama;
    const d = m.spec.dModel;
    const v = tf.variable(tf.randomNormal([d], 0, 0.1, 'float32', 3));
    const target = 11;
    const loss = () =>
      tf.tidy(() => {
        const r = m.model.forward({ inputIds: ids }, { logits: 'last', edits: [{ site: 'block_output', layer: 0, positions: [[5]], apply: (x) => tf.add(x, v) }] });
        return tf.neg(tf.sum(tf.gather(tf.logSoftmax(r.logits!), [target], 1))) as tf.Scalar;
      });
    const { grads, value } = tf.variableGrads(loss, [v]);
    const g = data(grads[v.name]);
    const base = value.dataSync()[0];
    const eps = 1e-2;
    for (const i of [0, 5, d - 1]) {
      const bump = tf.tidy(() => tf.mul(tf.reshape(tf.oneHot([i], d), [d]), eps));
      v.assign(tf.add(v, bump));
      const up = loss().dataSync()[0];
      v.assign(tf.sub(v, tf.mul(bump, 2)));
      const down = loss().dataSync()[0];
      v.assign(tf.add(v, bump));
      bump.dispose();
      const fd = (up - down) / (2 * eps);
      expect(Math.abs(fd - g[i])).toBeLessThan(2e-3 + 0.02 * Math.abs(fd));
    }
    expect(base).toBeGreaterThan(0);
    tf.dispose([v, value, ...Object.values(grads)]);
  });

  it('resuming from a cached residual equals the full forward', () => {
    for (const m of [gpt2, llama]) {
      const full = m.model.forward({ inputIds: ids });
      const prefix = m.model.forward({ inputIds: ids }, { stopBefore: 1 });
      const rest = m.model.forward({ inputIds: ids }, { start: { layer: 1, residual: prefix.residual! } });
      expect(maxAbsDiff(data(full.logits!), data(rest.logits!))).toBeLessThan(1e-5);
      tf.dispose([full.logits!, prefix.residual!, rest.logits!]);
    }
  });

  it('asks only for the logits a metric needs', () => {
    const m = gpt2;
    const all = m.model.forward({ inputIds: [ids[0], [...ids[0].slice(0, 4), 0, 0]] , attentionMask: [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]] });
    const last = m.model.forward({ inputIds: [ids[0], [...ids[0].slice(0, 4), 0, 0]], attentionMask: [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]] }, { logits: 'last' });
    const V = m.spec.vocabSize;
    expect(last.logits!.shape).toEqual([2, V]);
    const a = data(all.logits!);
    const l = data(last.logits!);
    expect(maxAbsDiff(l.subarray(0, V), a.subarray(5 * V, 6 * V))).toBeLessThan(1e-5);
    expect(maxAbsDiff(l.subarray(V, 2 * V), a.subarray((6 + 3) * V, (6 + 4) * V))).toBeLessThan(1e-5);
    tf.dispose([all.logits!, last.logits!]);
  });
});

describe('tensor hygiene', () => {
  it('the tensor count after 100 forwards equals the count after 1', () => {
    const m = llama;
    const run = () => {
      const r = m.model.forward({ inputIds: ids }, { read: [{ site: 'attention_pattern', layer: 0 }], edits: [{ site: 'head_output', layer: 1, head: 0, apply: (v) => tf.mul(v, 0.5) }] });
      tf.dispose([r.logits!, ...Object.values(r.sites)]);
    };
    run();
    const after1 = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) run();
    expect(tf.memory().numTensors).toBe(after1);
  });
});

describe('bad arguments name the problem', () => {
  it('layer and head out of range, empty prompt, token id out of range', () => {
    const m = gpt2;
    expect(() => m.model.forward({ inputIds: ids }, { read: [{ site: 'block_output', layer: 9 }] })).toThrow(/layer 9 is out of range: the model has layers 0\.\.1/);
    expect(() => m.model.forward({ inputIds: ids }, { read: [{ site: 'head_output', layer: 0, head: 4 }] })).toThrow(/head 4 is out of range/);
    expect(() => m.model.forward({ inputIds: [[]] })).toThrow(/empty sequence/);
    expect(() => m.model.forward({ inputIds: [[1, 999]] })).toThrow(/token id 999 is out of range/);
    expect(() => m.model.forward({ inputIds: ids }, { edits: [{ site: 'block_output', layer: 0, apply: (v) => tf.slice(v, [0, 0, 0], [1, 1, -1]) }] })).toThrow(/returned shape/);
    expect(tf.memory().numTensors).toBeGreaterThan(0);
  });
});
