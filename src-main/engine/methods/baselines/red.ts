/**
 * RED — representation editing (Wu et al. 2024, "Advancing Parameter Efficiency in Fine-tuning via
 * Representation Editing"). Per chosen layer a scale vector and a bias vector on a site of width d:
 * h' = (1 + s) ⊙ h + b at every position, base model frozen. The reference keeps the scale as
 * `l_scaling` initialised to ones and the bias as `l_bias` initialised to zeros (so training starts
 * from the base model); here s = l_scaling − 1, both start at 0. The reference edits the FFN output of
 * every layer; the default site here is the block output (the residual stream leaving the layer),
 * `mlp_output` gives the reference's placement. Parameters: 2·d per layer.
 */
import * as tf from '../../tf.js';
import { SubspaceError } from '../../errors.js';
import type { SubspaceTokenizer } from '../../io/tokenizer.js';
import type { SiteEdit, Transformer } from '../../model/transformer.js';
import type { TaskExample } from '../../tasks/schema.js';
import { evaluateExamples, type EvalResult } from '../../eval/evaluate.js';
import type { RunHooks } from '../progress.js';
import { BASELINE_TRAIN_DEFAULTS, newVariable, trainBaseline, validateLayers, type BaselineTrainConfig, type TrainOutcome } from './train.js';

export const RED_SITES = ['block_output', 'mlp_output', 'attention_output', 'block_input'] as const;
export type RedSite = (typeof RED_SITES)[number];

export interface RedConfig extends BaselineTrainConfig {
  /** Layers to edit; undefined: every layer (the reference's setting). */
  layers?: number[];
  site: RedSite;
}

/** lr 1e-1, LoFIT's step-2 rate: RED's bias is the same kind of parameter as LoFIT's offsets, trained for as few steps (at 1e-2 it barely moved). */
export const RED_DEFAULTS: RedConfig = { ...BASELINE_TRAIN_DEFAULTS, lr: 1e-1, site: 'block_output' };

export interface RedParams {
  site: RedSite;
  layers: number[];
  /** Per layer of `layers`, s ∈ ℝ^d (the edit multiplies by 1 + s). */
  scales: Float32Array[];
  /** Per layer of `layers`, b ∈ ℝ^d. */
  biases: Float32Array[];
}

export interface RedResult extends TrainOutcome, RedParams {
  /** 2·d per layer. */
  parameters: number;
  config: RedConfig;
}

export function redParameterCount(layers: number, d: number): number {
  return 2 * d * layers;
}

function checkSite(site: string): RedSite {
  if (!(RED_SITES as readonly string[]).includes(site)) throw new SubspaceError('BAD_ARGUMENT', `RED edits one of ${RED_SITES.join(', ')} (got '${site}')`, 'site');
  return site as RedSite;
}

/** The edits h' = (1 + s) ⊙ h + b at every position of each layer; tensors or plain arrays. */
export function redEdits(p: { site: RedSite; layers: number[]; scales: (tf.Tensor | ArrayLike<number>)[]; biases: (tf.Tensor | ArrayLike<number>)[] }, d?: number): SiteEdit[] {
  const site = checkSite(p.site);
  if (p.scales.length !== p.layers.length || p.biases.length !== p.layers.length) {
    throw new SubspaceError('BAD_ARGUMENT', `RED needs one scale and one bias per layer (${p.layers.length} layers, ${p.scales.length} scales, ${p.biases.length} biases)`, 'red');
  }
  const asTensor = (x: tf.Tensor | ArrayLike<number>, what: string) => {
    if (x instanceof tf.Tensor) return x;
    if (d !== undefined && x.length !== d) throw new SubspaceError('SHAPE_MISMATCH', `RED ${what} has width ${x.length}, the model's is ${d}`, 'red');
    return Float32Array.from(x);
  };
  return p.layers.map((layer, i) => {
    const s = asTensor(p.scales[i], 'scale');
    const b = asTensor(p.biases[i], 'bias');
    return {
      site,
      layer,
      apply: (h: tf.Tensor) => {
        const st = s instanceof tf.Tensor ? s : tf.tensor1d(s);
        const bt = b instanceof tf.Tensor ? b : tf.tensor1d(b);
        return tf.add(tf.mul(h, tf.add(st, 1)), bt);
      },
    };
  });
}

export function trainRed(model: Transformer, tok: SubspaceTokenizer, data: { train: TaskExample[]; dev: TaskExample[] }, cfgIn: Partial<RedConfig> = {}, hooks: RunHooks = {}): RedResult {
  const cfg: RedConfig = { ...RED_DEFAULTS, ...cfgIn };
  const site = checkSite(cfg.site);
  const spec = model.spec;
  const layers = validateLayers(cfg.layers ?? Array.from({ length: spec.nLayers }, (_, l) => l), spec.nLayers);
  const d = spec.dModel;
  const scales = layers.map((l) => newVariable(new Float32Array(d), [d], `red_s_l${l}`));
  const biases = layers.map((l) => newVariable(new Float32Array(d), [d], `red_b_l${l}`));
  try {
    const edits = () => redEdits({ site, layers, scales, biases });
    // block_input of layer l is the residual entering it: the prefix cache starts there too.
    const outcome = trainBaseline(model, tok, data, cfg, hooks, { phase: 'red', vars: [...scales, ...biases], edits, cacheLayer: layers[0] });
    return {
      ...outcome,
      site,
      layers,
      scales: scales.map((v) => (v.dataSync() as Float32Array).slice()),
      biases: biases.map((v) => (v.dataSync() as Float32Array).slice()),
      parameters: redParameterCount(layers.length, d),
      config: { ...cfg, layers },
    };
  } finally {
    tf.dispose([...scales, ...biases]);
  }
}

export function evaluateRed(model: Transformer, tok: SubspaceTokenizer, examples: TaskExample[], p: RedParams, multipleChoice = false): EvalResult {
  const edits = redEdits(p, model.spec.dModel);
  return evaluateExamples(model, tok, examples, { multipleChoice, edits: () => edits });
}
