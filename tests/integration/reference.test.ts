import * as tf from '../../src-main/engine/tf.js';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModelFolder, type LoadedModel } from '../../src-main/engine/io/model-folder.js';
import { readSafetensors } from '../../src-main/engine/io/safetensors.js';
import type { SiteRef } from '../../src-main/engine/model/sites.js';
import { siteKey } from '../../src-main/engine/model/sites.js';
import { useTestBackend } from '../helpers/backend.js';

/**
 * Our runtime against an independent PyTorch forward (tests/reference/), on
 * tiny random models covering GPT-2 (tied/untied), Llama (GQA, tied), Qwen2
 * biases and Mistral, with right- and left-padded batches.
 */
const ROOT = join(import.meta.dirname, '..', 'fixtures', 'reference');
const CASES = readdirSync(ROOT).filter((d) => existsSync(join(ROOT, d, 'expected.json')));
const ATOL = 1e-4;

type Expected = Map<string, { shape: number[]; data: ArrayLike<number> }>;

function sitesFor(layers: number): SiteRef[] {
  const refs: SiteRef[] = [{ site: 'embeddings' }, { site: 'final_norm' }];
  for (let l = 0; l < layers; l++) {
    for (const site of ['block_input', 'block_output', 'attention_output', 'head_output', 'attention_pattern', 'mlp_output'] as const) refs.push({ site, layer: l });
  }
  return refs;
}

/** Largest |ours − ref| over entries whose batch row and position(s) are real tokens. */
function compareMasked(ours: Float32Array, ref: ArrayLike<number>, shape: number[], mask: number[][], site: string): number {
  expect(ours.length).toBe(ref.length);
  const B = shape[0];
  let worst = 0;
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  for (let i = 0; i < ours.length; i++) {
    const b = Math.floor(i / strides[0]) % B;
    let real: boolean;
    if (site.startsWith('attention_pattern')) {
      const q = Math.floor(i / strides[2]) % shape[2];
      const k = i % shape[3];
      real = mask[b][q] === 1 && mask[b][k] === 1;
    } else {
      const t = Math.floor(i / strides[1]) % shape[1];
      real = mask[b][t] === 1;
    }
    if (real) worst = Math.max(worst, Math.abs(ours[i] - ref[i]));
  }
  return worst;
}

describe('runtime matches the PyTorch reference', () => {
  const models = new Map<string, { m: LoadedModel; expected: Expected; variants: string[] }>();

  beforeAll(async () => {
    await useTestBackend();
    for (const c of CASES) {
      const dir = join(ROOT, c);
      const m = await loadModelFolder(dir);
      const meta = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { variants: Record<string, unknown> };
      const exp = readSafetensors(join(dir, 'expected.safetensors')).tensors as unknown as Expected;
      const variants = Object.keys(meta.variants);
      models.set(c, { m, expected: exp, variants });
    }
  });

  it('has fixtures for every family variant', () => {
    expect(CASES.sort()).toEqual(['gpt2-tied', 'gpt2-untied', 'llama-gqa', 'llama-tied', 'mistral', 'qwen2-bias']);
  });

  for (const c of CASES) {
    it(`${c}: logits and every site agree to ${ATOL} at real positions`, () => {
      const { m, expected, variants } = models.get(c)!;
      for (const variant of variants) {
        const ids = expected.get(`${variant}.input_ids`)!;
        const maskT = expected.get(`${variant}.attention_mask`)!;
        const [B, T] = ids.shape;
        const rows = (t: { data: ArrayLike<number> }) => Array.from({ length: B }, (_, b) => Array.from(t.data).slice(b * T, (b + 1) * T).map(Number));
        const inputIds = rows(ids);
        const mask = rows(maskT);
        const refs = sitesFor(m.spec.nLayers).filter((r) => expected.has(`${variant}.${siteKey(r).replace(':', '.')}`));
        const before = tf.memory().numTensors;
        const r = m.model.forward({ inputIds, attentionMask: mask }, { read: refs, logits: 'all' });
        const logitsRef = expected.get(`${variant}.logits`)!;
        const dLogits = compareMasked(r.logits!.dataSync() as Float32Array, logitsRef.data, logitsRef.shape, mask, 'logits');
        expect(dLogits, `${c}/${variant} logits`).toBeLessThan(ATOL);
        for (const ref of refs) {
          const key = siteKey(ref);
          const want = expected.get(`${variant}.${key.replace(':', '.')}`)!;
          const got = r.sites[key];
          expect(got.shape, `${c}/${variant} ${key} shape`).toEqual(want.shape);
          const d = compareMasked(got.dataSync() as Float32Array, want.data, want.shape, mask, key);
          expect(d, `${c}/${variant} ${key}`).toBeLessThan(ATOL);
        }
        tf.dispose([r.logits!, ...Object.values(r.sites)]);
        expect(tf.memory().numTensors).toBe(before);
      }
    });
  }
});
