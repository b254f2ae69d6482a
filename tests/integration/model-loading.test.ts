import * as tf from '../../src-main/engine/tf.js';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFolder } from '../../src-main/engine/io/model-folder.js';
import { readSafetensors, writeSafetensors, type LoadedTensor } from '../../src-main/engine/io/safetensors.js';
import { openModel } from '../../src-main/engine/open-model.js';
import { maxAbsDiff, useTestBackend } from '../helpers/backend.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'reference');
let tmp: string;
const ids = [[3, 9, 27, 14, 5]];

beforeAll(async () => {
  await useTestBackend();
  tmp = mkdtempSync(join(tmpdir(), 'subspace-load-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A copy of a fixture folder whose weights are rewritten by `edit`. */
function variant(caseName: string, name: string, edit?: (t: Map<string, LoadedTensor>) => Map<string, LoadedTensor> | void): string {
  const dir = join(tmp, name);
  cpSync(join(FIX, caseName), dir, { recursive: true });
  if (edit) {
    const t = readSafetensors(join(dir, 'model.safetensors')).tensors;
    const out = edit(t) ?? t;
    writeSafetensors(join(dir, 'model.safetensors'), out);
  }
  return dir;
}

async function logits(dir: string): Promise<Float32Array> {
  const m = await loadModelFolder(dir);
  const r = m.model.forward({ inputIds: ids });
  const d = r.logits!.dataSync() as Float32Array;
  r.logits!.dispose();
  m.model.dispose();
  return d;
}

describe('model folders load like Hugging Face folders', () => {
  it('a sharded checkpoint with an index gives the same logits as the single file', async () => {
    const single = await logits(join(FIX, 'llama-gqa'));
    const dir = variant('llama-gqa', 'sharded');
    const all = readSafetensors(join(dir, 'model.safetensors')).tensors;
    rmSync(join(dir, 'model.safetensors'));
    const names = [...all.keys()];
    const half = Math.ceil(names.length / 2);
    const shards = [names.slice(0, half), names.slice(half)];
    const weightMap: Record<string, string> = {};
    shards.forEach((group, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeSafetensors(join(dir, file), new Map(group.map((n) => [n, all.get(n)!])));
      for (const n of group) weightMap[n] = file;
    });
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    expect(maxAbsDiff(await logits(dir), single)).toBe(0);
  });

  it('F16 and BF16 checkpoints load as float32 and agree to their precision', async () => {
    const base = await logits(join(FIX, 'gpt2-tied'));
    for (const dtype of ['F16', 'BF16'] as const) {
      const dir = variant('gpt2-tied', dtype, (t) => new Map([...t].map(([n, v]) => [n, { ...v, dtype }])));
      const d = maxAbsDiff(await logits(dir), base);
      expect(d).toBeGreaterThan(0);
      expect(d).toBeLessThan(dtype === 'F16' ? 5e-3 : 5e-2);
    }
  });

  it('finds a model in the Hugging Face cache by its hub name', async () => {
    const cache = join(tmp, 'hub');
    const repo = join(cache, 'models--acme--tiny-llama');
    const rev = 'abc123';
    mkdirSync(join(repo, 'blobs'), { recursive: true });
    mkdirSync(join(repo, 'snapshots', rev), { recursive: true });
    mkdirSync(join(repo, 'refs'), { recursive: true });
    writeFileSync(join(repo, 'refs', 'main'), rev);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
      copyFileSync(join(FIX, 'llama-tied', f), join(repo, 'blobs', `blob-${f}`));
      symlinkSync(join(repo, 'blobs', `blob-${f}`), join(repo, 'snapshots', rev, f));
    }
    process.env.HF_HUB_CACHE = cache;
    const m = await openModel('acme/tiny-llama');
    expect(m.name).toBe('acme/tiny-llama');
    expect(m.spec.modelType).toBe('llama');
    await expect(openModel('acme/absent')).rejects.toThrow(/not in the Hugging Face cache/);
    delete process.env.HF_HUB_CACHE;
  });
});

describe('bad model folders get errors that name the problem', () => {
  it('a missing tensor is named', async () => {
    const dir = variant('gpt2-tied', 'missing', (t) => {
      t.delete('transformer.h.1.mlp.c_fc.weight');
    });
    await expect(loadModelFolder(dir)).rejects.toThrow(/'transformer\.h\.1\.mlp\.c_fc\.weight' is missing/);
  });

  it('a tensor of the wrong shape is named with both shapes', async () => {
    const dir = variant('llama-gqa', 'wrongshape', (t) => {
      const k = t.get('model.layers.0.self_attn.k_proj.weight')!;
      t.set('model.layers.0.self_attn.k_proj.weight', { ...k, shape: [k.shape[1], k.shape[0]] });
    });
    await expect(loadModelFolder(dir)).rejects.toThrow(/k_proj\.weight' has shape \[\d+, \d+\] but the config implies/);
  });

  it('an unknown model_type lists the supported ones', async () => {
    const dir = variant('gpt2-tied', 'unknowntype');
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, model_type: 'mamba' }));
    await expect(loadModelFolder(dir)).rejects.toThrow(/model_type 'mamba' is not supported \(supported: gpt2, llama, qwen2, mistral\)/);
  });

  it('a config with an impossible shape is refused', async () => {
    const dir = variant('gpt2-tied', 'badconfig');
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, n_head: 5 }));
    await expect(loadModelFolder(dir)).rejects.toThrow(/n_embd \(32\) is not divisible by n_head \(5\)/);
    writeFileSync(join(dir, 'config.json'), '{"model_type": "gpt2", "n_embd": "wide"');
    await expect(loadModelFolder(dir)).rejects.toThrow(/config\.json: not valid JSON/);
  });

  it('a folder without a tokenizer says the tokenizer is required', async () => {
    const dir = variant('gpt2-tied', 'notok');
    rmSync(join(dir, 'tokenizer.json'));
    await expect(loadModelFolder(dir)).rejects.toThrow(/tokenizer/i);
  });

  it('a truncated checkpoint is a clear error naming the file, not a crash', async () => {
    const dir = variant('gpt2-tied', 'truncated');
    const f = join(dir, 'model.safetensors');
    truncateSync(f, Math.floor(statSync(f).size / 2));
    await expect(loadModelFolder(dir)).rejects.toThrow(/model\.safetensors/);
    const before = tf.memory().numTensors;
    await expect(loadModelFolder(dir)).rejects.toThrow();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a folder with no weights says which files it looked for', async () => {
    const dir = variant('gpt2-tied', 'noweights');
    rmSync(join(dir, 'model.safetensors'));
    await expect(loadModelFolder(dir)).rejects.toThrow(/no model\.safetensors or model\.safetensors\.index\.json/);
  });
});
