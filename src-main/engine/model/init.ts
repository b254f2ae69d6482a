import * as tf from '../tf.js';
import type { ModelSpec } from './config.js';
import type { LayerWeights, ModelWeights, NormWeights } from './weights.js';

/**
 * Fresh weights for training from scratch, GPT-2 style: N(0, 0.02), with the
 * projections that write into the residual stream scaled by 1/√(2·layers).
 */
export function initWeights(spec: ModelSpec, seed: number): ModelWeights {
  let s = seed;
  const normal = (shape: number[], std: number): tf.Tensor2D => tf.randomNormal<tf.Rank>(shape, 0, std, 'float32', s++) as tf.Tensor2D;
  const d = spec.dModel;
  const q = spec.nHeads * spec.dHead;
  const kv = spec.nKvHeads * spec.dHead;
  const m = spec.dMlp;
  const resid = 0.02 / Math.sqrt(2 * spec.nLayers);
  const normW = (): NormWeights => (spec.norm === 'layernorm' ? { weight: tf.ones([d]), bias: tf.zeros([d]) } : { weight: tf.ones([d]) });
  const bias = (n: number, on: boolean) => (on ? (tf.zeros([n]) as tf.Tensor1D) : undefined);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < spec.nLayers; l++) {
    const layer: LayerWeights = {
      ln1: normW(),
      ln2: normW(),
      wq: normal([d, q], 0.02),
      wk: normal([d, kv], 0.02),
      wv: normal([d, kv], 0.02),
      bq: bias(q, spec.qkvBias),
      bk: bias(kv, spec.qkvBias),
      bv: bias(kv, spec.qkvBias),
      wo: normal([q, d], resid),
      bo: bias(d, spec.oBias),
      wOut: normal([m, d], resid),
      bOut: bias(d, spec.mlpBias),
    };
    if (spec.mlp === 'gated') {
      layer.wGate = normal([d, m], 0.02);
      layer.wUp = normal([d, m], 0.02);
      layer.bGate = bias(m, spec.mlpBias);
      layer.bUp = bias(m, spec.mlpBias);
    } else {
      layer.wIn = normal([d, m], 0.02);
      layer.bIn = bias(m, spec.mlpBias);
    }
    layers.push(layer);
  }
  return {
    wte: normal([spec.vocabSize, d], 0.02),
    wpe: spec.positional === 'learned' ? normal([spec.maxPositions, d], 0.01) : undefined,
    layers,
    lnf: normW(),
    unembed: normal([d, spec.vocabSize], 0.02),
  };
}

/** Turns every weight into a trainable variable (full-parameter training), in place. */
export function makeTrainable(w: ModelWeights): tf.Variable[] {
  const vars: tf.Variable[] = [];
  const walk = (o: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(o)) {
      if (v instanceof tf.Tensor) {
        const variable = v instanceof tf.Variable ? v : tf.variable(v, true);
        if (variable !== v) v.dispose();
        o[k] = variable;
        vars.push(variable);
      } else if (v && typeof v === 'object') walk(v as Record<string, unknown>);
    }
  };
  walk(w as unknown as Record<string, unknown>);
  return vars;
}
