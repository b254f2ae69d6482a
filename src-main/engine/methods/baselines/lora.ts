/**
 * LoRA (Hu et al. 2021) as the LoFIT paper's PEFT baseline: rank-r adapters on the attention query
 * and value projections, base model frozen. In PyTorch's [out, in] layout W' = W + (α/r)·B A with
 * A ∈ ℝ^{r×in}, B ∈ ℝ^{out×r}; B starts at zero (so training starts from the base model) and A
 * from U(−1/√in, 1/√in) (peft's Kaiming-uniform with a = √5). This runtime stores projections
 * [in, out], so the update folded in is (α/r)·Aᵀ Bᵀ. A, B are kept in peft's layout.
 *
 * The adapters are applied by folding them into the projection weights of a view of the model that
 * shares every other tensor: exact (x W' = x W + (α/r)(x Aᵀ) Bᵀ), needs no hook in the forward,
 * and costs one in × out product per adapted projection — less than one forward pass.
 * Parameters: r·(in + out) per adapted projection.
 */
import * as tf from '../../tf.js';
import { SubspaceError } from '../../errors.js';
import type { SubspaceTokenizer } from '../../io/tokenizer.js';
import { Transformer } from '../../model/transformer.js';
import type { LayerWeights } from '../../model/weights.js';
import type { TaskExample } from '../../tasks/schema.js';
import { seededRandom } from '../../random.js';
import { evaluateExamples, type EvalResult } from '../../eval/evaluate.js';
import type { RunHooks } from '../progress.js';
import { BASELINE_TRAIN_DEFAULTS, newVariable, trainBaseline, validateLayers, withView, type BaselineTrainConfig, type ModelView, type TrainOutcome } from './train.js';

export const LORA_TARGETS = ['q', 'k', 'v', 'o'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

const WEIGHT: Record<LoraTarget, 'wq' | 'wk' | 'wv' | 'wo'> = { q: 'wq', k: 'wk', v: 'wv', o: 'wo' };

export interface LoraConfig extends BaselineTrainConfig {
  rank: number;
  /** Scale α: the update is (α/r)·B A. */
  alpha: number;
  /** Layers to adapt; undefined: every layer. */
  layers?: number[];
  targets: LoraTarget[];
}

/**
 * Rank 4 and α 8 (the common α = 2r), scaled down from the usual rank 8 for 4096-wide models to
 * this workbench's 128-wide ones; lr 5e-3 (adapters of a small model trained from scratch tolerate a
 * larger rate than the 1e-4..3e-4 used on 7B models).
 */
export const LORA_DEFAULTS: LoraConfig = { ...BASELINE_TRAIN_DEFAULTS, lr: 5e-3, rank: 4, alpha: 8, targets: ['q', 'v'] };

export interface LoraAdapter {
  layer: number;
  target: LoraTarget;
  /** [rank, in] row-major. */
  A: Float32Array;
  /** [out, rank] row-major. */
  B: Float32Array;
  inDim: number;
  outDim: number;
}

export interface LoraParams {
  rank: number;
  alpha: number;
  adapters: LoraAdapter[];
}

export interface LoraResult extends TrainOutcome, LoraParams {
  parameters: number;
  config: LoraConfig;
}

function projectionShape(model: Transformer, layer: number, target: LoraTarget): [number, number] {
  const w = model.weights.layers[layer][WEIGHT[target]];
  return [w.shape[0], w.shape[1]];
}

export function validateLora(model: Transformer, cfg: Pick<LoraConfig, 'rank' | 'alpha' | 'targets'> & { layers?: number[] }): { layers: number[]; targets: LoraTarget[] } {
  const spec = model.spec;
  if (!Array.isArray(cfg.targets) || cfg.targets.length === 0) throw new SubspaceError('BAD_ARGUMENT', `no LoRA targets given (known: ${LORA_TARGETS.join(', ')})`, 'targets');
  for (const t of cfg.targets) {
    if (!(LORA_TARGETS as readonly string[]).includes(t)) throw new SubspaceError('BAD_ARGUMENT', `unknown LoRA target '${t}' (known: ${LORA_TARGETS.join(', ')})`, 'targets');
  }
  const targets = [...new Set(cfg.targets)];
  const layers = validateLayers(cfg.layers ?? Array.from({ length: spec.nLayers }, (_, l) => l), spec.nLayers);
  if (!Number.isInteger(cfg.rank) || cfg.rank < 1) throw new SubspaceError('BAD_ARGUMENT', `LoRA rank must be a whole number ≥ 1 (got ${cfg.rank})`, 'rank');
  for (const t of targets) {
    const [i, o] = projectionShape(model, layers[0], t);
    if (cfg.rank > Math.min(i, o)) throw new SubspaceError('BAD_ARGUMENT', `LoRA rank ${cfg.rank} is larger than the width of the ${t} projection (${i} → ${o}): use a rank of at most ${Math.min(i, o)}`, 'rank');
  }
  if (typeof cfg.alpha !== 'number' || !Number.isFinite(cfg.alpha) || cfg.alpha <= 0) throw new SubspaceError('BAD_ARGUMENT', `LoRA α must be positive (got ${cfg.alpha})`, 'alpha');
  return { layers, targets };
}

export function loraParameterCount(adapters: { inDim: number; outDim: number }[], rank: number): number {
  return adapters.reduce((a, x) => a + rank * (x.inDim + x.outDim), 0);
}

/**
 * A view of the model whose adapted projections are W + (α/r)·Aᵀ Bᵀ ([in, out] layout); every other
 * tensor is shared. Dispose the view (not the model) to free the folded weights.
 */
export function loraView(model: Transformer, adapters: { layer: number; target: LoraTarget; A: tf.Tensor | Float32Array; B: tf.Tensor | Float32Array; inDim: number; outDim: number }[], rank: number, alpha: number): ModelView {
  const scale = alpha / rank;
  const layers: LayerWeights[] = model.weights.layers.map((w) => ({ ...w }));
  const made: tf.Tensor[] = [];
  for (const a of adapters) {
    const w = layers[a.layer];
    const key = WEIGHT[a.target];
    const folded = tf.tidy(() => {
      const A = a.A instanceof tf.Tensor ? a.A : tf.tensor2d(a.A, [rank, a.inDim]);
      const B = a.B instanceof tf.Tensor ? a.B : tf.tensor2d(a.B, [a.outDim, rank]);
      return tf.add(w[key], tf.mul(tf.matMul(A, B, true, true), scale)) as tf.Tensor2D;
    });
    made.push(folded);
    w[key] = folded;
  }
  return { model: new Transformer(model.spec, { ...model.weights, layers }), dispose: () => tf.dispose(made) };
}

export function trainLora(model: Transformer, tok: SubspaceTokenizer, data: { train: TaskExample[]; dev: TaskExample[] }, cfgIn: Partial<LoraConfig> = {}, hooks: RunHooks = {}): LoraResult {
  const cfg: LoraConfig = { ...LORA_DEFAULTS, ...cfgIn };
  const { layers, targets } = validateLora(model, cfg);
  const rand = seededRandom(Math.trunc(cfg.seed) >>> 0);
  const vars: tf.Variable[] = [];
  const slots = layers.flatMap((layer) =>
    targets.map((target) => {
      const [inDim, outDim] = projectionShape(model, layer, target);
      const bound = 1 / Math.sqrt(inDim);
      const A = newVariable(Float32Array.from({ length: cfg.rank * inDim }, () => (2 * rand() - 1) * bound), [cfg.rank, inDim], `lora_A_l${layer}_${target}`);
      const B = newVariable(new Float32Array(outDim * cfg.rank), [outDim, cfg.rank], `lora_B_l${layer}_${target}`);
      vars.push(A, B);
      return { layer, target, A, B, inDim, outDim };
    }),
  );
  try {
    const outcome = trainBaseline(model, tok, data, cfg, hooks, { phase: 'lora', vars, view: () => loraView(model, slots, cfg.rank, cfg.alpha), cacheLayer: layers[0] });
    const adapters = slots.map((s) => ({ layer: s.layer, target: s.target, A: (s.A.dataSync() as Float32Array).slice(), B: (s.B.dataSync() as Float32Array).slice(), inDim: s.inDim, outDim: s.outDim }));
    return { ...outcome, rank: cfg.rank, alpha: cfg.alpha, adapters, parameters: loraParameterCount(adapters, cfg.rank), config: { ...cfg, layers, targets } };
  } finally {
    tf.dispose(vars);
  }
}

export function evaluateLora(model: Transformer, tok: SubspaceTokenizer, examples: TaskExample[], p: LoraParams, multipleChoice = false): EvalResult {
  return withView(model, { view: () => loraView(model, p.adapters, p.rank, p.alpha) }, (m) => evaluateExamples(m, tok, examples, { multipleChoice }));
}
