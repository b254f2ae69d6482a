import * as tf from '../../tf.js';
import type { ModelSpec } from '../config.js';
import { mat, take, vec, type LayerWeights, type ModelWeights, type WeightSource } from '../weights.js';

/** Checkpoints from GPT2LMHeadModel prefix everything with `transformer.`; bare GPT2Model does not. */
function prefixOf(src: WeightSource): string {
  return src.has('transformer.wte.weight') ? 'transformer.' : '';
}

/** GPT-2 stores Conv1D weights [in, out]: already the runtime's layout. c_attn fuses q|k|v. */
export function mapGpt2Weights(spec: ModelSpec, src: WeightSource): ModelWeights {
  const p = prefixOf(src);
  const d = spec.dModel;
  const m = spec.dMlp;
  const layers: LayerWeights[] = [];
  for (let i = 0; i < spec.nLayers; i++) {
    const h = `${p}h.${i}.`;
    const cAttn = mat(take(src, `${h}attn.c_attn.weight`, [d, 3 * d]));
    const cAttnB = vec(take(src, `${h}attn.c_attn.bias`, [3 * d]));
    const [wq, wk, wv] = tf.split(cAttn, 3, 1) as tf.Tensor2D[];
    const [bq, bk, bv] = tf.split(cAttnB, 3, 0) as tf.Tensor1D[];
    cAttn.dispose();
    cAttnB.dispose();
    layers.push({
      ln1: { weight: vec(take(src, `${h}ln_1.weight`, [d])), bias: vec(take(src, `${h}ln_1.bias`, [d])) },
      ln2: { weight: vec(take(src, `${h}ln_2.weight`, [d])), bias: vec(take(src, `${h}ln_2.bias`, [d])) },
      wq,
      wk,
      wv,
      bq,
      bk,
      bv,
      wo: mat(take(src, `${h}attn.c_proj.weight`, [d, d])),
      bo: vec(take(src, `${h}attn.c_proj.bias`, [d])),
      wIn: mat(take(src, `${h}mlp.c_fc.weight`, [d, m])),
      bIn: vec(take(src, `${h}mlp.c_fc.bias`, [m])),
      wOut: mat(take(src, `${h}mlp.c_proj.weight`, [m, d])),
      bOut: vec(take(src, `${h}mlp.c_proj.bias`, [d])),
    });
  }
  const wte = mat(take(src, `${p}wte.weight`, [spec.vocabSize, d]));
  const untied = !spec.tiedEmbeddings && src.has('lm_head.weight');
  const unembed = untied
    ? tf.tidy(() => tf.transpose(mat(take(src, 'lm_head.weight', [spec.vocabSize, d]))) as tf.Tensor2D)
    : tf.tidy(() => tf.transpose(wte) as tf.Tensor2D);
  return {
    wte,
    wpe: mat(take(src, `${p}wpe.weight`, [spec.maxPositions, d])),
    layers,
    lnf: { weight: vec(take(src, `${p}ln_f.weight`, [d])), bias: vec(take(src, `${p}ln_f.bias`, [d])) },
    unembed,
  };
}
