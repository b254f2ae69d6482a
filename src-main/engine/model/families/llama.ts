import * as tf from '../../tf.js';
import type { ModelSpec } from '../config.js';
import { linearT, mat, take, vec, type LayerWeights, type ModelWeights, type WeightSource } from '../weights.js';

/**
 * Llama, Qwen2 and Mistral share one layout: nn.Linear weights [out, in], which
 * are transposed once here into the runtime's [in, out].
 */
export function mapLlamaWeights(spec: ModelSpec, src: WeightSource): ModelWeights {
  const d = spec.dModel;
  const m = spec.dMlp;
  const qDim = spec.nHeads * spec.dHead;
  const kvDim = spec.nKvHeads * spec.dHead;
  const layers: LayerWeights[] = [];
  const optVec = (name: string, n: number, present: boolean) => (present ? vec(take(src, name, [n])) : undefined);
  for (let i = 0; i < spec.nLayers; i++) {
    const l = `model.layers.${i}.`;
    const a = `${l}self_attn.`;
    layers.push({
      ln1: { weight: vec(take(src, `${l}input_layernorm.weight`, [d])) },
      ln2: { weight: vec(take(src, `${l}post_attention_layernorm.weight`, [d])) },
      wq: linearT(take(src, `${a}q_proj.weight`, [qDim, d])),
      wk: linearT(take(src, `${a}k_proj.weight`, [kvDim, d])),
      wv: linearT(take(src, `${a}v_proj.weight`, [kvDim, d])),
      bq: optVec(`${a}q_proj.bias`, qDim, spec.qkvBias),
      bk: optVec(`${a}k_proj.bias`, kvDim, spec.qkvBias),
      bv: optVec(`${a}v_proj.bias`, kvDim, spec.qkvBias),
      wo: linearT(take(src, `${a}o_proj.weight`, [d, qDim])),
      bo: optVec(`${a}o_proj.bias`, d, spec.oBias),
      wGate: linearT(take(src, `${l}mlp.gate_proj.weight`, [m, d])),
      bGate: optVec(`${l}mlp.gate_proj.bias`, m, spec.mlpBias),
      wUp: linearT(take(src, `${l}mlp.up_proj.weight`, [m, d])),
      bUp: optVec(`${l}mlp.up_proj.bias`, m, spec.mlpBias),
      wOut: linearT(take(src, `${l}mlp.down_proj.weight`, [d, m])),
      bOut: optVec(`${l}mlp.down_proj.bias`, d, spec.mlpBias),
    });
  }
  const wte = mat(take(src, 'model.embed_tokens.weight', [spec.vocabSize, d]));
  const untied = !spec.tiedEmbeddings || src.has('lm_head.weight');
  const unembed = untied
    ? linearT(take(src, 'lm_head.weight', [spec.vocabSize, d]))
    : tf.tidy(() => tf.transpose(wte) as tf.Tensor2D);
  return { wte, layers, lnf: { weight: vec(take(src, 'model.norm.weight', [d])) }, unembed };
}
