import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors, type TensorToWrite } from '../src-main/engine/io/safetensors.js';
import { seededRandom } from '../src-main/engine/model/generate.js';

export interface RandomGpt2Shape {
  layers: number;
  heads: number;
  width: number;
  vocab: number;
  positions: number;
}

export const GPT2_SMALL: RandomGpt2Shape = { layers: 12, heads: 12, width: 768, vocab: 50257, positions: 1024 };

function normal(n: number, std: number, rand: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(rand(), 1e-12);
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/**
 * A GPT-2-shaped model with random weights, written once as an ordinary
 * Hugging Face folder so the bench (and the PyTorch peer) load it by the normal path.
 */
export function ensureRandomGpt2(dir: string, s: RandomGpt2Shape, seed = 1234): string {
  mkdirSync(dir, { recursive: true });
  if (!existsSync(join(dir, 'tokenizer.json'))) writeFileSync(join(dir, 'tokenizer.json'), syntheticTokenizer(s.vocab));
  if (existsSync(join(dir, 'model.safetensors'))) return dir;
  const rand = seededRandom(seed);
  const d = s.width;
  const t: Record<string, TensorToWrite> = {};
  const add = (name: string, shape: number[], std: number, mean = 0) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = std === 0 ? new Float32Array(n).fill(mean) : normal(n, std, rand);
    if (mean !== 0 && std !== 0) for (let i = 0; i < n; i++) data[i] += mean;
    t[name] = { dtype: 'F32', shape, data };
  };
  add('wte.weight', [s.vocab, d], 0.02);
  add('wpe.weight', [s.positions, d], 0.01);
  for (let l = 0; l < s.layers; l++) {
    const h = `h.${l}.`;
    add(`${h}ln_1.weight`, [d], 0, 1);
    add(`${h}ln_1.bias`, [d], 0);
    add(`${h}attn.c_attn.weight`, [d, 3 * d], 0.02);
    add(`${h}attn.c_attn.bias`, [3 * d], 0);
    add(`${h}attn.c_proj.weight`, [d, d], 0.02);
    add(`${h}attn.c_proj.bias`, [d], 0);
    add(`${h}ln_2.weight`, [d], 0, 1);
    add(`${h}ln_2.bias`, [d], 0);
    add(`${h}mlp.c_fc.weight`, [d, 4 * d], 0.02);
    add(`${h}mlp.c_fc.bias`, [4 * d], 0);
    add(`${h}mlp.c_proj.weight`, [4 * d, d], 0.02);
    add(`${h}mlp.c_proj.bias`, [d], 0);
  }
  add('ln_f.weight', [d], 0, 1);
  add('ln_f.bias', [d], 0);
  writeSafetensors(join(dir, 'model.safetensors'), t, { format: 'pt' });
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify(
      { model_type: 'gpt2', n_embd: d, n_layer: s.layers, n_head: s.heads, n_positions: s.positions, vocab_size: s.vocab, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new', tie_word_embeddings: true },
      null,
      2,
    ),
  );
  return dir;
}

/** A word-level tokenizer over "t0" … "t{V-1}", so benchmarks can feed text to random models. */
export function syntheticTokenizer(vocab: number): string {
  const v: Record<string, number> = {};
  for (let i = 0; i < vocab; i++) v[`t${i}`] = i;
  return wordLevelTokenizer(v, 't0');
}

/** tokenizer.json text of a Hugging Face WordLevel tokenizer that splits on whitespace. */
export function wordLevelTokenizer(vocab: Record<string, number>, unkToken: string): string {
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: { type: 'WhitespaceSplit' },
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab, unk_token: unkToken },
  });
}
