import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../src-main/engine/tf.js';
import { mergeHeadOffsets, mergeSupport, writeMergedCheckpoint, type HeadOffset } from '../../src-main/engine/export/merged.js';
import { loadModelFolder, type LoadedModel } from '../../src-main/engine/io/model-folder.js';
import { lofitBiasDelta } from '../../src-main/engine/methods/lofit.js';
import type { SiteEdit } from '../../src-main/engine/model/transformer.js';
import { seededRandom } from '../../src-main/engine/random.js';
import { maxAbsDiff, useTestBackend } from '../helpers/backend.js';

/**
 * Head offsets folded into the output-projection bias: the merged folder, loaded like any model,
 * gives the logits of the base model with the offsets applied as edits at every position; and the
 * independent PyTorch reference (tests/reference/torch_reference.py) agrees.
 */
const TORCH_PY = '/usr/bin/python3';
const HAVE_TORCH = spawnSync(TORCH_PY, ['-c', 'import torch'], { encoding: 'utf8', timeout: 120_000 }).status === 0;
if (!HAVE_TORCH) console.warn(`export-merged: skipping the PyTorch reference check: ${TORCH_PY} cannot import torch`);

const FIX = join(import.meta.dirname, '..', 'fixtures', 'reference');
const REF_DIR = join(import.meta.dirname, '..', 'reference');
const tmp = mkdtempSync(join(tmpdir(), 'subspace-merged-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const CASES = ['gpt2-tied', 'llama-gqa', 'mistral'] as const;
const models = new Map<string, LoadedModel>();
beforeAll(async () => {
  await useTestBackend();
  for (const c of [...CASES, 'qwen2-bias']) models.set(c, await loadModelFolder(join(FIX, c)));
});

function gaussian(n: number, seed: number, scale = 1): Float32Array {
  const u = seededRandom(seed);
  return Float32Array.from({ length: n }, () => scale * Math.sqrt(-2 * Math.log(u() || 1e-12)) * Math.cos(2 * Math.PI * u()));
}

function offsetsFor(m: LoadedModel, seed: number): HeadOffset[] {
  const { nLayers, nHeads, dHead } = m.spec;
  const last = nLayers - 1;
  const heads: [number, number][] = [[0, 1], [last, 0], [last, nHeads - 1]];
  return heads.map(([layer, head], i) => ({ layer, head, vector: gaussian(dHead, seed + i, 0.8) }));
}

function headEdits(offsets: HeadOffset[]): SiteEdit[] {
  return offsets.map((o) => ({ site: 'head_output', layer: o.layer, head: o.head, apply: (v: tf.Tensor) => tf.add(v, tf.tensor1d(Float32Array.from(o.vector))) }));
}

/** Two sequences, the second right-padded: logits compared at real positions only. */
function batch(vocab: number): { ids: number[][]; mask: number[][] } {
  const u = seededRandom(99);
  const tok = () => 3 + Math.floor(u() * (vocab - 4));
  return {
    ids: [Array.from({ length: 6 }, tok), [...Array.from({ length: 4 }, tok), 0, 0]],
    mask: [
      [1, 1, 1, 1, 1, 1],
      [1, 1, 1, 1, 0, 0],
    ],
  };
}

function logitsOf(m: LoadedModel, ids: number[][], mask: number[][], edits?: SiteEdit[]): Float32Array {
  const r = m.model.forward({ inputIds: ids, attentionMask: mask }, { logits: 'all', edits });
  const out = r.logits!.dataSync() as Float32Array;
  r.logits!.dispose();
  return Float32Array.from(out);
}

function maskedMaxDiff(a: ArrayLike<number>, b: ArrayLike<number>, mask: number[][], vocab: number): number {
  let worst = 0;
  const T = mask[0].length;
  mask.forEach((row, bi) =>
    row.forEach((m, t) => {
      if (!m) return;
      const o = (bi * T + t) * vocab;
      for (let v = 0; v < vocab; v++) worst = Math.max(worst, Math.abs(a[o + v] - b[o + v]));
    }),
  );
  return worst;
}

describe('merged checkpoints', () => {
  const written = new Map<string, { dir: string; expected: Float32Array; ids: number[][]; mask: number[][] }>();

  it.each(CASES)('%s: the merged folder gives the base model + head edits at every position (to 1e-4)', async (name) => {
    const base = models.get(name)!;
    const offsets = offsetsFor(base, name.length * 17);
    const dir = join(tmp, name);
    const res = writeMergedCheckpoint(dir, base, offsets);
    expect(res.layers).toEqual([0, base.spec.nLayers - 1]);
    expect(res.copied).toEqual(expect.arrayContaining(['tokenizer.json', 'tokenizer_config.json']));
    const merged = await loadModelFolder(dir);
    const vocab = base.spec.vocabSize;
    const { ids, mask } = batch(vocab);
    const expected = logitsOf(base, ids, mask, headEdits(offsets));
    const plain = logitsOf(base, ids, mask);
    const got = logitsOf(merged, ids, mask);
    expect(maskedMaxDiff(got, expected, mask, vocab)).toBeLessThan(1e-4);
    expect(maskedMaxDiff(plain, expected, mask, vocab)).toBeGreaterThan(1e-2); // the offsets matter
    written.set(name, { dir, expected, ids, mask });

    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    if (name === 'gpt2-tied') {
      expect(cfg.model_type).toBe('gpt2');
      expect(merged.spec.oBias).toBe(true);
    } else {
      expect(cfg.model_type).toBe('llama');
      expect(cfg.attention_bias).toBe(true);
      expect(merged.spec.qkvBias && merged.spec.oBias).toBe(true);
      if (name === 'mistral') {
        expect(cfg.architectures).toEqual(['LlamaForCausalLM']);
        expect('sliding_window' in cfg).toBe(false);
      }
    }
    // The folded bias is b_o plus LoFIT's bias delta.
    const biases = mergeHeadOffsets(base.spec, base.model.weights, offsets);
    const delta = lofitBiasDelta(base.model, offsets.map((o) => o.vector), offsets.map((o) => [o.layer, o.head] as [number, number]));
    for (const [layer, d] of delta) {
      const bo = base.model.weights.layers[layer].bo?.dataSync() ?? new Float32Array(d.length);
      expect(maxAbsDiff(biases[layer], Float32Array.from(d, (x, j) => x + bo[j]))).toBeLessThan(1e-5);
    }
    merged.model.dispose();
  });

  it.skipIf(!HAVE_TORCH)('the PyTorch reference forward loads each merged folder and gives the same logits (to 1e-4)', () => {
    expect(written.size).toBe(CASES.length);
    const script = String.raw`
import json, os, sys, torch
sys.path.insert(0, sys.argv[1])
from torch_reference import forward, load_safetensors
jobs = json.loads(sys.argv[2])
out = {}
for name, job in jobs.items():
    cfg = json.load(open(os.path.join(job['dir'], 'config.json')))
    weights, _ = load_safetensors(os.path.join(job['dir'], 'model.safetensors'))
    logits, _ = forward(weights, cfg, torch.tensor(job['ids']), torch.tensor(job['mask']), dtype=torch.float64)
    out[name] = logits.flatten().tolist()
print(json.dumps(out))
`;
    const jobs = Object.fromEntries([...written].map(([name, w]) => [name, { dir: w.dir, ids: w.ids, mask: w.mask }]));
    const r = spawnSync(TORCH_PY, ['-c', script, REF_DIR, JSON.stringify(jobs)], { encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
    const res = JSON.parse(r.stdout) as Record<string, number[]>;
    for (const [name, w] of written) {
      const vocab = models.get(name)!.spec.vocabSize;
      expect(res[name].length, name).toBe(w.expected.length);
      expect(maskedMaxDiff(res[name], w.expected, w.mask, vocab), name).toBeLessThan(1e-4);
    }
  });

  it('refuses Qwen2 (no o_proj bias), a Mistral with a short sliding window, the source folder, and bad offsets', () => {
    const qwen = models.get('qwen2-bias')!;
    expect(() => writeMergedCheckpoint(join(tmp, 'qwen'), qwen, offsetsFor(qwen, 5))).toThrow(/cannot merge head offsets into qwen2: Qwen2 checkpoints cannot hold an output-projection bias/);
    expect(existsSync(join(tmp, 'qwen', 'model.safetensors'))).toBe(false);
    const mistral = models.get('mistral')!;
    const windowed = { ...mistral, config: { ...mistral.config, sliding_window: 16 } };
    expect(() => writeMergedCheckpoint(join(tmp, 'win'), windowed, [])).toThrow(/window \(16\) is shorter than its context \(64\)/);
    expect(mergeSupport(mistral.spec, windowed.config, { allowDropSlidingWindow: true })).toEqual({ ok: true, modelType: 'llama' });
    const gpt2 = models.get('gpt2-tied')!;
    expect(() => writeMergedCheckpoint(gpt2.folder, gpt2, [])).toThrow(/source model's own folder/);
    const dh = gpt2.spec.dHead;
    expect(() => mergeHeadOffsets(gpt2.spec, gpt2.model.weights, [{ layer: 2, head: 0, vector: new Float32Array(dh) }])).toThrow(/layer 2 is out of range/);
    expect(() => mergeHeadOffsets(gpt2.spec, gpt2.model.weights, [{ layer: 0, head: 4, vector: new Float32Array(dh) }])).toThrow(/head 4 is out of range/);
    expect(() => mergeHeadOffsets(gpt2.spec, gpt2.model.weights, [{ layer: 0, head: 0, vector: new Float32Array(dh + 1) }])).toThrow(/has width 9, the model's heads have width 8/);
    expect(() => mergeHeadOffsets(gpt2.spec, gpt2.model.weights, [{ layer: 0, head: 0, vector: Float32Array.from({ length: dh }, () => NaN) }])).toThrow(/non-finite/);
  });
});
