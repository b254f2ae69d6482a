import * as tf from '../../src-main/engine/tf.js';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModelFolder, type LoadedModel } from '../../src-main/engine/io/model-folder.js';
import { generate, pickToken, seededRandom } from '../../src-main/engine/model/generate.js';
import type { SiteEdit } from '../../src-main/engine/model/transformer.js';
import { useTestBackend } from '../helpers/backend.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'reference');
let models: LoadedModel[];

beforeAll(async () => {
  await useTestBackend();
  models = [await loadModelFolder(join(FIX, 'gpt2-tied')), await loadModelFolder(join(FIX, 'qwen2-bias'))];
});

function argmax(a: Float32Array): number {
  let b = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[b]) b = i;
  return b;
}

/** Greedy decoding the slow way: a full forward over the whole sequence each step. */
function greedyNoCache(m: LoadedModel, prompt: number[], n: number, edits?: (len: number) => SiteEdit[]): number[] {
  const seq = [...prompt];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = m.model.forward({ inputIds: [seq] }, { logits: 'last', edits: edits?.(seq.length) });
    const t = argmax(r.logits!.dataSync() as Float32Array);
    r.logits!.dispose();
    out.push(t);
    seq.push(t);
  }
  return out;
}

describe('generation with a KV cache', () => {
  it('greedy decoding with the cache equals full re-computation', () => {
    for (const m of models) {
      const prompt = [5, 17, 3, 22];
      const fast = generate(m.model, [prompt], { maxNewTokens: 8, stopTokens: [] });
      expect(fast.tokens[0]).toEqual(greedyNoCache(m, prompt, 8));
    }
  });

  it('a left-padded batch generates what each prompt generates alone', () => {
    for (const m of models) {
      const prompts = [[5, 17, 3, 22, 9], [8, 1], [30, 31, 32]];
      const batch = generate(m.model, prompts, { maxNewTokens: 6, stopTokens: [] });
      prompts.forEach((p, i) => expect(batch.tokens[i]).toEqual(generate(m.model, [p], { maxNewTokens: 6, stopTokens: [] }).tokens[0]));
    }
  });

  it('sampling is reproducible by seed and stops at a stop token', () => {
    const m = models[0];
    const a = generate(m.model, [[5, 6, 7]], { maxNewTokens: 12, temperature: 1.5, seed: 1, stopTokens: [] });
    const b = generate(m.model, [[5, 6, 7]], { maxNewTokens: 12, temperature: 1.5, seed: 1, stopTokens: [] });
    const c = generate(m.model, [[5, 6, 7]], { maxNewTokens: 12, temperature: 1.5, seed: 2, stopTokens: [] });
    expect(a.tokens).toEqual(b.tokens);
    expect(a.tokens).not.toEqual(c.tokens);
    const first = a.tokens[0][0];
    const stopped = generate(m.model, [[5, 6, 7]], { maxNewTokens: 12, temperature: 1.5, seed: 1, stopTokens: [first] });
    expect(stopped.tokens[0]).toEqual([first]);
    expect(stopped.finished[0]).toBe(true);
  });

  it('prompt edits apply to the prompt pass only, as pyreft does', () => {
    const m = models[1];
    const prompt = [5, 17, 3, 22];
    const d = m.spec.dModel;
    const shift = tf.mul(tf.randomNormal([d], 0, 1, 'float32', 5), 3);
    const edit = (positions?: number[][]): SiteEdit => ({ site: 'block_output', layer: 0, positions, apply: (v) => tf.add(v, shift) });
    const got = generate(m.model, [prompt], { maxNewTokens: 5, stopTokens: [], promptEdits: [edit()] });
    const want = greedyNoCache(m, prompt, 5, () => [edit([prompt.map((_, i) => i)])]);
    expect(got.tokens[0]).toEqual(want);
    expect(got.tokens[0]).not.toEqual(generate(m.model, [prompt], { maxNewTokens: 5, stopTokens: [] }).tokens[0]);
    shift.dispose();
  });

  it('leaves no tensors behind', () => {
    const before = tf.memory().numTensors;
    generate(models[0].model, [[1, 2, 3], [4, 5]], { maxNewTokens: 5 });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('token choice', () => {
  it('top-p keeps only the nucleus; temperature 0 is argmax', () => {
    const logits = Float32Array.from([0, 5, 1, 4.9]);
    const rand = seededRandom(3);
    expect(pickToken(logits, 0, 1, rand)).toBe(1);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(pickToken(logits, 1, 0.9, rand));
    expect([...seen].sort()).toEqual([1, 3]);
    for (let i = 0; i < 50; i++) expect(pickToken(logits, 1, 1e-6, rand)).toBe(1);
  });

  it('rejects bad sampling arguments by name', () => {
    const m = models[0].model;
    expect(() => generate(m, [[1]], { temperature: -1 })).toThrow(/temperature/);
    expect(() => generate(m, [[1]], { topP: 0 })).toThrow(/top-p/);
    expect(() => generate(m, [[]])).toThrow(/empty prompt/);
  });
});

describe('edits while decoding', () => {
  it('decode-step edits act on every new token, as a full recomputation with the edit everywhere does', () => {
    const m = models[0];
    const d = m.spec.dModel;
    const shift = tf.mul(tf.randomNormal([d], 0, 1, 'float32', 9), 2);
    const edit = (): SiteEdit => ({ site: 'mlp_output', layer: 1, apply: (v) => tf.add(v, shift) });
    const prompt = [4, 9, 12];
    const got = generate(m.model, [prompt], { maxNewTokens: 5, stopTokens: [], promptEdits: [edit()], decodeEdits: [edit()] });
    expect(got.tokens[0]).toEqual(greedyNoCache(m, prompt, 5, () => [edit()]));
    expect(() => generate(m.model, [prompt], { decodeEdits: [{ ...edit(), positions: [[0]] }] })).toThrow(/take no positions/);
    shift.dispose();
  });
});
