import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '../tf.js';
import { SubspaceError } from '../errors.js';
import type { ModelSpec } from '../model/config.js';
import type { ModelWeights } from '../model/weights.js';
import { writeSafetensors, type TensorToWrite } from './safetensors.js';

function f32(t: tf.Tensor): TensorToWrite {
  return { dtype: 'F32', shape: t.shape, data: t.dataSync() as Float32Array };
}

/** Materialises a derived tensor, reads it out, and frees it. */
function derived(make: () => tf.Tensor): TensorToWrite {
  const t = make();
  try {
    return f32(t);
  } finally {
    t.dispose();
  }
}

function transposed(t: tf.Tensor2D): TensorToWrite {
  return derived(() => tf.transpose(t));
}

/** The runtime's weights in the Hugging Face tensor names and layouts of the model's family. */
export function hfTensors(spec: ModelSpec, w: ModelWeights): Record<string, TensorToWrite> {
  const out: Record<string, TensorToWrite> = {};
  if (spec.family === 'gpt2') {
    out['transformer.wte.weight'] = f32(w.wte);
    out['transformer.wpe.weight'] = f32(w.wpe!);
    w.layers.forEach((l, i) => {
      const h = `transformer.h.${i}.`;
      out[`${h}ln_1.weight`] = f32(l.ln1.weight);
      out[`${h}ln_1.bias`] = f32(l.ln1.bias!);
      out[`${h}ln_2.weight`] = f32(l.ln2.weight);
      out[`${h}ln_2.bias`] = f32(l.ln2.bias!);
      out[`${h}attn.c_attn.weight`] = derived(() => tf.concat([l.wq, l.wk, l.wv], 1));
      out[`${h}attn.c_attn.bias`] = derived(() => tf.concat([l.bq!, l.bk!, l.bv!], 0));
      out[`${h}attn.c_proj.weight`] = f32(l.wo);
      out[`${h}attn.c_proj.bias`] = f32(l.bo!);
      out[`${h}mlp.c_fc.weight`] = f32(l.wIn!);
      out[`${h}mlp.c_fc.bias`] = f32(l.bIn!);
      out[`${h}mlp.c_proj.weight`] = f32(l.wOut);
      out[`${h}mlp.c_proj.bias`] = f32(l.bOut!);
    });
    out['transformer.ln_f.weight'] = f32(w.lnf.weight);
    out['transformer.ln_f.bias'] = f32(w.lnf.bias!);
    if (!spec.tiedEmbeddings) out['lm_head.weight'] = transposed(w.unembed);
    return out;
  }
  out['model.embed_tokens.weight'] = f32(w.wte);
  w.layers.forEach((l, i) => {
    const p = `model.layers.${i}.`;
    const a = `${p}self_attn.`;
    out[`${p}input_layernorm.weight`] = f32(l.ln1.weight);
    out[`${p}post_attention_layernorm.weight`] = f32(l.ln2.weight);
    out[`${a}q_proj.weight`] = transposed(l.wq);
    out[`${a}k_proj.weight`] = transposed(l.wk);
    out[`${a}v_proj.weight`] = transposed(l.wv);
    if (l.bq) out[`${a}q_proj.bias`] = f32(l.bq);
    if (l.bk) out[`${a}k_proj.bias`] = f32(l.bk);
    if (l.bv) out[`${a}v_proj.bias`] = f32(l.bv);
    out[`${a}o_proj.weight`] = transposed(l.wo);
    if (l.bo) out[`${a}o_proj.bias`] = f32(l.bo);
    out[`${p}mlp.gate_proj.weight`] = transposed(l.wGate!);
    out[`${p}mlp.up_proj.weight`] = transposed(l.wUp!);
    out[`${p}mlp.down_proj.weight`] = transposed(l.wOut);
    if (l.bGate) out[`${p}mlp.gate_proj.bias`] = f32(l.bGate);
    if (l.bUp) out[`${p}mlp.up_proj.bias`] = f32(l.bUp);
    if (l.bOut) out[`${p}mlp.down_proj.bias`] = f32(l.bOut);
  });
  out['model.norm.weight'] = f32(w.lnf.weight);
  if (!spec.tiedEmbeddings) out['lm_head.weight'] = transposed(w.unembed);
  return out;
}

/** Writes config.json and model.safetensors (and any extra files) as a Hugging Face folder. */
export function writeModelFolder(dir: string, config: Record<string, unknown>, spec: ModelSpec, w: ModelWeights, extraFiles: Record<string, string> = {}): void {
  if (typeof config.model_type !== 'string') throw new SubspaceError('BAD_CONFIG', 'config to write has no model_type', 'config');
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, 'model.safetensors'), hfTensors(spec, w), { format: 'pt' });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  for (const [name, text] of Object.entries(extraFiles)) writeFileSync(join(dir, name), text);
}
