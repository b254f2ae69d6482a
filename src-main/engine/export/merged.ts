/**
 * Merged checkpoints: per-head offsets on the attention heads' outputs (LoFIT's v, ITI's shifts at
 * every position) folded into the output projection's bias, written as a standard Hugging Face
 * folder that any runtime loads without knowing about interventions.
 *
 * Head h of layer l contributes z_h (width d_head) to the output projection through rows
 * h·dh … (h+1)·dh of W_o (runtime layout [H·dh, d], i.e. `x @ W_o`). Adding v to z_h at every
 * position therefore adds v @ W_o[h·dh:(h+1)·dh, :] to the attention output at every position,
 * which is exactly a change of the projection's bias:  b_o' = b_o + Σ_h v_h @ W_o[rows of h].
 *
 * By family:
 * - GPT-2: `attn.c_proj.bias` exists; it is replaced by b_o'.
 * - Llama: `o_proj` has no bias unless `attention_bias` is true, and that flag adds biases to
 *   q/k/v/o together; the merged config sets it, q/k/v get zero biases (when the model had none)
 *   and `o_proj.bias` = b_o'.
 * - Mistral: Hugging Face's MistralConfig has no `attention_bias` (MistralAttention's projections
 *   are always bias-free, so an `o_proj.bias` would be dropped on load). A Mistral model is a Llama
 *   model plus a sliding window, so the merged folder is written as `model_type: llama`; this is
 *   refused when the model's sliding window is shorter than its context (the Llama architecture
 *   has no window), unless `allowDropSlidingWindow` says that is fine.
 * - Qwen2: q/k/v have biases and o_proj never does, and no config field adds one: refused.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SubspaceError } from '../errors.js';
import type { LoadedModel } from '../io/model-folder.js';
import { hfTensors } from '../io/model-writer.js';
import { writeSafetensors, type TensorToWrite } from '../io/safetensors.js';
import type { ModelSpec } from '../model/config.js';
import type { ModelWeights } from '../model/weights.js';
import { writeFileAtomic } from './pytorch-zip.js';

export interface HeadOffset {
  layer: number;
  head: number;
  /** Width d_head: added to the head's output z at every position. */
  vector: ArrayLike<number>;
}

/** Tokenizer and generation files copied next to the merged weights when the source has them. */
export const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'generation_config.json',
  'vocab.json',
  'merges.txt',
  'tokenizer.model',
  'chat_template.jinja',
] as const;

function checkOffsets(spec: ModelSpec, offsets: readonly HeadOffset[]): void {
  if (!Array.isArray(offsets)) throw new SubspaceError('BAD_ARGUMENT', 'offsets must be a list of { layer, head, vector }', 'offsets');
  offsets.forEach((o, i) => {
    if (!o || !Number.isInteger(o.layer) || o.layer < 0 || o.layer >= spec.nLayers) {
      throw new SubspaceError('BAD_ARGUMENT', `offset ${i}: layer ${o?.layer} is out of range: the model has layers 0..${spec.nLayers - 1}`, 'offsets');
    }
    if (!Number.isInteger(o.head) || o.head < 0 || o.head >= spec.nHeads) {
      throw new SubspaceError('BAD_ARGUMENT', `offset ${i}: head ${o.head} is out of range: the model has heads 0..${spec.nHeads - 1}`, 'offsets');
    }
    if (!o.vector || o.vector.length !== spec.dHead) {
      throw new SubspaceError('SHAPE_MISMATCH', `offset ${i} (layer ${o.layer}, head ${o.head}) has width ${o.vector?.length ?? 0}, the model's heads have width ${spec.dHead}`, 'offsets');
    }
    for (let j = 0; j < o.vector.length; j++) {
      if (!Number.isFinite(o.vector[j])) throw new SubspaceError('BAD_ARGUMENT', `offset ${i} (layer ${o.layer}, head ${o.head}) has a non-finite value at ${j}`, 'offsets');
    }
  });
}

/**
 * The output-projection biases after folding the offsets in: one [d_model] vector per layer, the
 * model's own b_o (zeros where it has none) plus Σ_h v_h @ W_o[h·dh:(h+1)·dh, :]. Accumulated in
 * float64.
 */
export function mergeHeadOffsets(spec: ModelSpec, weights: ModelWeights, offsets: readonly HeadOffset[]): Float32Array[] {
  checkOffsets(spec, offsets);
  const d = spec.dModel;
  const dh = spec.dHead;
  const acc: Float64Array[] = weights.layers.map((l) => (l.bo ? Float64Array.from(l.bo.dataSync()) : new Float64Array(d)));
  const byLayer = new Map<number, HeadOffset[]>();
  for (const o of offsets) byLayer.set(o.layer, [...(byLayer.get(o.layer) ?? []), o]);
  for (const [layer, list] of byLayer) {
    const wo = weights.layers[layer].wo;
    if (wo.shape[0] !== spec.nHeads * dh || wo.shape[1] !== d) {
      throw new SubspaceError('SHAPE_MISMATCH', `layer ${layer}: W_o has shape [${wo.shape.join(', ')}], expected [${spec.nHeads * dh}, ${d}]`, `layers.${layer}.wo`);
    }
    const w = wo.dataSync();
    const b = acc[layer];
    for (const o of list) {
      for (let i = 0; i < dh; i++) {
        const v = o.vector[i];
        if (v === 0) continue;
        const row = (o.head * dh + i) * d;
        for (let j = 0; j < d; j++) b[j] += v * w[row + j];
      }
    }
  }
  return acc.map((b) => Float32Array.from(b));
}

/** Whether a model's checkpoint can carry folded head offsets, and if not, why. */
export function mergeSupport(spec: ModelSpec, config: Record<string, unknown>, opts: { allowDropSlidingWindow?: boolean } = {}): { ok: true; modelType: string } | { ok: false; reason: string } {
  if (spec.family === 'gpt2') return { ok: true, modelType: 'gpt2' };
  switch (spec.modelType) {
    case 'llama':
      return { ok: true, modelType: 'llama' };
    case 'mistral': {
      const window = config.sliding_window;
      if (typeof window === 'number' && window < spec.maxPositions && !opts.allowDropSlidingWindow) {
        return {
          ok: false,
          reason:
            `Mistral's config has no attention_bias, so the merged model is written as a Llama model, which has no sliding window; ` +
            `this model's window (${window}) is shorter than its context (${spec.maxPositions}), so long inputs would differ. ` +
            `Pass allowDropSlidingWindow if inputs stay within ${window} tokens`,
        };
      }
      return { ok: true, modelType: 'llama' };
    }
    case 'qwen2':
      return {
        ok: false,
        reason:
          'Qwen2 checkpoints cannot hold an output-projection bias: Qwen2Attention gives q/k/v biases and a bias-free o_proj, and no config field adds one, ' +
          'so folded head offsets would be dropped on load. Apply the offsets as an intervention instead',
      };
    default:
      return { ok: false, reason: `model type '${spec.modelType}' has no known way to carry an output-projection bias` };
  }
}

export interface MergedCheckpoint {
  dir: string;
  /** model_type of the written config (Mistral becomes llama). */
  modelType: string;
  /** Layers whose bias changed. */
  layers: number[];
  /** Files copied from the source folder. */
  copied: string[];
}

/**
 * Writes `loaded` with the offsets folded into its output-projection biases as a Hugging Face
 * folder (config.json, model.safetensors in float32, tokenizer files copied). Refuses, naming the
 * reason, for architectures whose config cannot express the bias (Qwen2).
 */
export function writeMergedCheckpoint(
  dir: string,
  loaded: Pick<LoadedModel, 'spec' | 'model' | 'config' | 'folder'>,
  offsets: readonly HeadOffset[],
  opts: { allowDropSlidingWindow?: boolean } = {},
): MergedCheckpoint {
  const spec = loaded.spec;
  const support = mergeSupport(spec, loaded.config, opts);
  if (!support.ok) throw new SubspaceError('UNSUPPORTED', `cannot merge head offsets into ${spec.modelType}: ${support.reason}`, spec.modelType);
  if (resolve(dir) === resolve(loaded.folder)) {
    throw new SubspaceError('BAD_ARGUMENT', `${dir} is the source model's own folder; write the merged model somewhere else`, dir);
  }
  const weights = loaded.model.weights;
  const biases = mergeHeadOffsets(spec, weights, offsets);
  const layers = [...new Set(offsets.map((o) => o.layer))].sort((a, b) => a - b);
  const tensors: Record<string, TensorToWrite> = hfTensors(spec, weights);
  // The weights are written in float32; say so (newer transformers name the field `dtype`).
  const config: Record<string, unknown> = { ...loaded.config, torch_dtype: 'float32' };
  if ('dtype' in config) config.dtype = 'float32';
  const bias = (data: Float32Array): TensorToWrite => ({ dtype: 'F32', shape: [data.length], data });
  if (spec.family === 'gpt2') {
    biases.forEach((b, l) => (tensors[`transformer.h.${l}.attn.c_proj.bias`] = bias(b)));
  } else {
    if (spec.modelType === 'mistral') {
      config.model_type = 'llama';
      config.architectures = ['LlamaForCausalLM'];
      delete config.sliding_window;
      delete config.use_sliding_window;
      delete config.max_window_layers;
    }
    config.attention_bias = true;
    const qDim = spec.nHeads * spec.dHead;
    const kvDim = spec.nKvHeads * spec.dHead;
    biases.forEach((b, l) => {
      const a = `model.layers.${l}.self_attn.`;
      if (!tensors[`${a}q_proj.bias`]) tensors[`${a}q_proj.bias`] = bias(new Float32Array(qDim));
      if (!tensors[`${a}k_proj.bias`]) tensors[`${a}k_proj.bias`] = bias(new Float32Array(kvDim));
      if (!tensors[`${a}v_proj.bias`]) tensors[`${a}v_proj.bias`] = bias(new Float32Array(kvDim));
      tensors[`${a}o_proj.bias`] = bias(b);
    });
  }
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  writeFileAtomic(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  const copied: string[] = [];
  for (const f of TOKENIZER_FILES) {
    const src = join(loaded.folder, f);
    if (existsSync(src)) {
      copyFileSync(src, join(dir, f));
      copied.push(f);
    }
  }
  return { dir, modelType: support.modelType, layers, copied };
}
