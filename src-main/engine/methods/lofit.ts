/**
 * LoFIT (Yin, Ye & Durrett 2024, "LoFiT: Localized Fine-Tuning on LLM Representations").
 * The base model stays frozen in both steps.
 *
 * 1. `lofitSelect`: every head of every layer gets a scale A_{l,h} ∈ ℝ^{dh}, z' = (1 + A) ⊙ z at every
 *    position (z = the head's output before the output projection), A ~ N(0, initStd²), trained on
 *    task loss + λ Σ|A|. Heads are ranked by ‖A_{l,h}‖₂ and the top K kept.
 * 2. `lofitTune`: from the unmodified model, each selected head gets an offset v_{l,h} ∈ ℝ^{dh},
 *    z' = z + v at every position, v ~ N(0, initStd²), no L1. Only the head list passes from step 1.
 *
 * Task losses: completion-only cross-entropy ('ce') or DPO ('dpo': chosen = the completion,
 * rejected = the first wrong answer, reference = the base model without edits, its
 * log-probabilities computed once before training).
 *
 * Defaults are scaled for the small models this workbench trains, relative to the paper's 7B
 * settings (lr 5e-3 select / 1e-2 tune, λ 5e-4..5e-3, 5 epochs, batch 8, AdamW, linear decay):
 * - epochs 5, batch 8, AdamW without weight decay, linear decay: as the reference.
 * - lr 1e-1 (tune): ten times the reference. Adam moves a parameter by about lr per step, and the
 *   built-in tasks give 30–60 steps over 5 epochs against hundreds on the paper's data sets, so only
 *   a rate scaled by that ratio lets the offsets travel as far (at 2e-2 the dev margin of the demo
 *   tasks was mostly still rising at the last epoch). Head outputs here have norm ~1–3, the offsets
 *   reach about that, and the best dev epoch is kept if a later one overshoots.
 * - lr 1e-2 (select): twice the reference. Step 1 only ranks heads by how far their scales move
 *   against the L1 pull, which depends on which scales the task gradient moves consistently more
 *   than on how far; on the dev splits 5e-2 gave no better heads.
 * - λ 1e-3: inside the reference range. The L1 gradient per element is λ·sign(A) whatever the
 *   model size, so the range carries over.
 * - K: 10% of all heads (the paper's PEFT-comparison setting; 3% is its ITI-comparison setting,
 *   which on a 4 × 4-head model would keep a single head), at least one.
 * - warm-up 10% of the steps, global gradient-norm clip 1 (Hugging Face Trainer's default),
 *   init std 1e-3, seed 42.
 */
import * as tf from '../tf.js';
import { SubspaceError } from '../errors.js';
import type { SubspaceTokenizer } from '../io/tokenizer.js';
import type { SiteEdit, Transformer } from '../model/transformer.js';
import type { TaskExample } from '../tasks/schema.js';
import { evaluateExamples, type EvalResult } from '../eval/evaluate.js';
import { AdamW, warmupLinear } from '../train/optim.js';
import { encodeExamples, epochBatches, PrefixCache } from '../train/supervised.js';
import { ProgressClock, type RunHooks } from './progress.js';
import { BestEpoch, devImprovesBy, restoreVariables, scoredDevRecord, snapshotVariables, type ScoredDevRecord } from './best-epoch.js';
import type { TrainSchedule } from './train-schedule.js';
import { referenceLogProbs, requirePreferences } from './dpo.js';
import { gaussianArray, rankHeads, resolveK, validateHeads, type HeadRef, type KSpec } from './heads.js';
import { cacheRows, FoldedOffsets, rowsWeight, scaleEdits, splitRows, stepTaskLoss, type StepData } from './lofit-step.js';
import type { LofitShardGrad, LofitShardRun } from './lofit-shard.js';
import { trainingHelper } from '../parallel/training-helper.js';
import type { ShardThread } from '../parallel/shard-thread.js';

export { FoldedOffsets } from './lofit-step.js';

export type LofitLoss = 'ce' | 'dpo';

/**
 * Weight decay is 0 by default as in LoFIT (the L1 term is the only regulariser); early stopping
 * keeps the best dev epoch by `lofitDevScore`.
 */
export interface LofitConfig extends TrainSchedule {
  /** 'ce': completion-only cross-entropy; 'dpo': preference loss against the first wrong answer. */
  loss: LofitLoss;
  /** DPO temperature β (LoFIT uses 0.5 on TruthfulQA). */
  beta: number;
  /** Standard deviation of the initial scales / offsets. */
  initStd: number;
  /** A multiple-choice task: the dev score is MC1 and the evaluation scores every correct answer too (MC2). */
  multipleChoice: boolean;
  /** Batch size of the one-off reference log-probability pass (DPO). */
  referenceBatchSize: number;
}

export interface LofitSelectConfig extends LofitConfig {
  /** λ of the L1 penalty λ Σ|A|. */
  l1: number;
  /** Heads to keep: a count or { percent } of all heads. */
  k: KSpec;
}

export interface LofitTuneConfig extends LofitConfig {
  /** Reuse the frozen residual entering the first tuned layer across epochs. */
  cachePrefix: boolean;
}

const COMMON: LofitConfig = {
  loss: 'ce',
  beta: 0.5,
  epochs: 5,
  lr: 1e-2,
  batchSize: 8,
  warmupRatio: 0.1,
  weightDecay: 0,
  clipNorm: 1,
  initStd: 1e-3,
  seed: 42,
  patience: 0,
  multipleChoice: false,
  referenceBatchSize: 16,
};

export const LOFIT_SELECT_DEFAULTS: LofitSelectConfig = { ...COMMON, lr: 1e-2, l1: 1e-3, k: { percent: 10 } };
export const LOFIT_TUNE_DEFAULTS: LofitTuneConfig = { ...COMMON, lr: 1e-1, cachePrefix: true };

export type LofitDevRecord = ScoredDevRecord;

interface LoopOutcome {
  loss: { step: number; value: number }[];
  dev: LofitDevRecord[];
  bestEpoch: number;
  stoppedEarly: boolean;
  /** Milliseconds per epoch (training steps only). */
  epochMs: number[];
  steps: number;
  /** DPO: how many examples got reference log-probabilities, and in how many forward passes. */
  reference?: { examples: number; forwards: number };
  /** Parts each batch was split into across threads (2: with the training helper), and why 1 where it was. */
  shards: number;
  shardsNote?: string;
}

export interface LofitSelectResult extends LoopOutcome {
  /** [L][H]: ‖A_{l,h}‖₂ after training. */
  scores: number[][];
  /** Every head, highest score first. */
  ranked: HeadRef[];
  /** The top K of `ranked`. */
  selected: HeadRef[];
  k: number;
  /** The trained scales, per layer [H·dh] row-major (head, dim). */
  scales: Float32Array[];
  /** Mean |A| over all scales. */
  meanAbsScale: number;
  parameters: number;
  config: LofitSelectConfig;
}

export interface LofitTuneResult extends LoopOutcome {
  heads: HeadRef[];
  /** One offset v ∈ ℝ^{dh} per head of `heads`, same order. */
  offsets: Float32Array[];
  /** K · dh. */
  parameters: number;
  config: LofitTuneConfig;
  cachedPrefixLayer?: number;
}

export function lofitParameterCount(k: number, dHead: number): number {
  return k * dHead;
}

export function validateLofitConfig(cfg: LofitConfig & Partial<Pick<LofitSelectConfig, 'l1'>>): void {
  const num = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
  if (cfg.loss !== 'ce' && cfg.loss !== 'dpo') throw new SubspaceError('BAD_ARGUMENT', `unknown loss '${String(cfg.loss)}' (known: ce, dpo)`, 'loss');
  if (!num(cfg.lr) || cfg.lr <= 0) throw new SubspaceError('BAD_ARGUMENT', `learning rate must be positive (got ${cfg.lr})`, 'lr');
  if (cfg.l1 !== undefined && (!num(cfg.l1) || cfg.l1 < 0)) throw new SubspaceError('BAD_ARGUMENT', `the L1 weight λ must be ≥ 0 (got ${cfg.l1})`, 'l1');
  if (!num(cfg.beta) || cfg.beta <= 0) throw new SubspaceError('BAD_ARGUMENT', `DPO β must be positive (got ${cfg.beta})`, 'beta');
  if (!Number.isInteger(cfg.epochs) || cfg.epochs < 1) throw new SubspaceError('BAD_ARGUMENT', `epochs must be a whole number ≥ 1 (got ${cfg.epochs})`, 'epochs');
  if (!Number.isInteger(cfg.batchSize) || cfg.batchSize < 1) throw new SubspaceError('BAD_ARGUMENT', `batch size must be a whole number ≥ 1 (got ${cfg.batchSize})`, 'batchSize');
  if (!Number.isInteger(cfg.referenceBatchSize) || cfg.referenceBatchSize < 1) throw new SubspaceError('BAD_ARGUMENT', `reference batch size must be a whole number ≥ 1 (got ${cfg.referenceBatchSize})`, 'referenceBatchSize');
  if (!num(cfg.warmupRatio) || cfg.warmupRatio < 0 || cfg.warmupRatio >= 1) throw new SubspaceError('BAD_ARGUMENT', `warm-up ratio must be in [0, 1) (got ${cfg.warmupRatio})`, 'warmupRatio');
  if (!num(cfg.weightDecay) || cfg.weightDecay < 0) throw new SubspaceError('BAD_ARGUMENT', `weight decay must be ≥ 0 (got ${cfg.weightDecay})`, 'weightDecay');
  if (!num(cfg.clipNorm) || cfg.clipNorm <= 0) throw new SubspaceError('BAD_ARGUMENT', `gradient clip norm must be positive (got ${cfg.clipNorm})`, 'clipNorm');
  if (!num(cfg.initStd) || cfg.initStd < 0) throw new SubspaceError('BAD_ARGUMENT', `init std must be ≥ 0 (got ${cfg.initStd})`, 'initStd');
  if (!num(cfg.seed)) throw new SubspaceError('BAD_ARGUMENT', `seed must be a finite number (got ${cfg.seed})`, 'seed');
  if (!Number.isInteger(cfg.patience) || cfg.patience < 0) throw new SubspaceError('BAD_ARGUMENT', `patience must be a whole number ≥ 0 (got ${cfg.patience})`, 'patience');
}

/**
 * The dev score a run keeps its best epoch by (ties broken by the logit difference): MC1 for
 * multiple-choice tasks (what the comparisons report for them; greedy accuracy can stay at 0 there
 * while the true answer already outscores the wrong ones), the preference DPO trains, else accuracy.
 */
export function lofitDevScore(cfg: Pick<LofitConfig, 'loss' | 'multipleChoice'>): (r: LofitDevRecord) => number {
  return cfg.loss === 'dpo' || cfg.multipleChoice ? (r) => r.preferCorrect : (r) => r.accuracy;
}

let variableCounter = 0;

function seedFor(seed: number, ...xs: number[]): number {
  let h = Math.trunc(seed) >>> 0;
  for (const x of xs) h = (Math.imul(h ^ (x + 0x9e3779b9), 0x85ebca6b) + 0x6a09e667) >>> 0;
  return h;
}

interface Trainable {
  phase: string;
  vars: tf.Variable[];
  /** The edits applying the current parameters at every position. */
  edits: () => SiteEdit[];
  /**
   * λ of an L1 term λ Σ|x| over every parameter. Its value and subgradient λ·sign(x) are added
   * outside the gradient tape, in memory: on the tape it cost about 25 kernels a step.
   */
  l1?: number;
  cacheLayer?: number;
  /** Restore the parameters of the best dev epoch at the end. */
  keepBest: boolean;
  /** What a helper thread needs to build the same edits: step 1's scales or step 2's heads. */
  shard: Pick<LofitShardRun, 'kind' | 'heads'>;
}

/**
 * The part of each batch a helper thread computes: its rows' loss and gradient, to be weighted by
 * their share of the batch's mean and added to this thread's.
 */
class HelperSteps {
  constructor(private readonly thread: ShardThread) {}

  post(rows: number[], params: Float32Array[]): void {
    this.thread.post({ task: 'lofit', op: 'step', rows, params });
  }

  collect(): LofitShardGrad {
    return this.thread.collect() as LofitShardGrad;
  }

  /** Ends the helper's run; a step posted but never collected (this thread failed in between) is read first. */
  end(): void {
    if (this.thread.isClosed) return;
    this.thread.drain();
    this.thread.call({ task: 'lofit', op: 'end' });
  }
}

/** Adds per-variable gradients computed off the tape to `grads`, one add each (replacing those tensors). */
function addToGrads(grads: tf.NamedTensorMap, vars: tf.Variable[], extra: (Float32Array | undefined)[]): void {
  vars.forEach((v, i) => {
    const e = extra[i];
    if (!e) return;
    const sum = tf.tidy(() => tf.add(grads[v.name], tf.tensor(e, v.shape, 'float32')));
    grads[v.name].dispose();
    grads[v.name] = sum;
  });
}

/** The shared training loop of both steps: AdamW, warm-up + linear decay, dev each epoch, NaN guard. */
function runLoop(model: Transformer, tok: SubspaceTokenizer, data: { train: TaskExample[]; dev: TaskExample[] }, cfg: LofitConfig, hooks: RunHooks, t: Trainable): LoopOutcome {
  const spec = model.spec;
  const encoded = encodeExamples(tok, data.train, 'training split');
  const prefs = cfg.loss === 'dpo' ? requirePreferences(encoded, data.train) : undefined;
  const pad = spec.padTokenId ?? spec.eosTokenIds[0] ?? 0;
  const n = encoded.length;
  const l1 = t.l1 ?? 0;
  const out: LoopOutcome = { loss: [], dev: [], bestEpoch: -1, stoppedEarly: false, epochMs: [], steps: 0, shards: 1 };
  const cache = t.cacheLayer !== undefined ? new PrefixCache(model, t.cacheLayer, cacheRows(encoded, prefs), pad) : undefined;
  const opt = new AdamW(t.vars, { weightDecay: cfg.weightDecay, clipNorm: cfg.clipNorm });
  let helper: HelperSteps | undefined;
  try {
    const ref = prefs ? referenceLogProbs(model, prefs, pad, cfg.referenceBatchSize) : undefined;
    if (ref) out.reference = { examples: ref.chosen.length, forwards: ref.forwards };
    const stepData: StepData = { model, encoded, prefs, ref, beta: cfg.beta, pad, cache };
    if (cfg.batchSize >= 2 && n >= 2) {
      const h = trainingHelper(model);
      if ('none' in h) out.shardsNote = h.none;
      else {
        const run: LofitShardRun = {
          op: 'run',
          modelKey: h.modelKey,
          ...t.shard,
          shapes: t.vars.map((v) => [...v.shape]),
          encoded,
          prefs,
          ref: ref && { chosen: Array.from(ref.chosen), rejected: Array.from(ref.rejected) },
          beta: cfg.beta,
          pad,
          cacheLayer: t.cacheLayer,
        };
        h.thread.call({ task: 'lofit', ...run });
        helper = new HelperSteps(h.thread);
        out.shards = 2;
        // Each thread sees a different half of every batch, so without this its cache would keep
        // growing for several epochs; filled now, the tensor count is steady from the first step.
        cache?.fillAll();
      }
    }
    const stepsPerEpoch = Math.ceil(n / cfg.batchSize);
    const total = stepsPerEpoch * cfg.epochs;
    const warmup = Math.round(total * cfg.warmupRatio);
    const clock = new ProgressClock(hooks, t.phase, total);
    const tracker = new BestEpoch<LofitDevRecord, Float32Array[]>(devImprovesBy(lofitDevScore(cfg)), cfg.patience, t.keepBest ? () => snapshotVariables(t.vars) : undefined);
    let step = 0;
    for (let epoch = 0; epoch < cfg.epochs; epoch++) {
      const t0 = performance.now();
      for (const idx of epochBatches(n, cfg.batchSize, cfg.seed, epoch)) {
        // With a helper: it takes the second half of the rows while this thread does the first.
        const parts = helper && idx.length >= 2 ? splitRows(idx, 2) : [idx];
        const mine = parts.length === 2 ? rowsWeight(stepData, parts[0]) / rowsWeight(stepData, idx) : 1;
        const params = parts.length === 2 || l1 > 0 ? t.vars.map((v) => v.dataSync() as Float32Array) : undefined;
        if (parts.length === 2) helper!.post(parts[1], params!);
        const edits = t.edits();
        const { value, grads } = tf.variableGrads(() => {
          const task = stepTaskLoss(stepData, parts[0], edits);
          return mine === 1 ? task : (tf.mul(task, mine) as tf.Scalar);
        }, t.vars);
        let loss = value.dataSync()[0];
        // Off the tape: the helper's share and the L1 term, summed per variable, then one add each.
        const extra: (Float32Array | undefined)[] = t.vars.map(() => undefined);
        if (parts.length === 2) {
          const r = helper!.collect();
          loss += (1 - mine) * r.loss;
          r.grads.forEach((g, i) => (extra[i] = g.map((x) => x * (1 - mine))));
        }
        if (l1 > 0) {
          params!.forEach((x, i) => {
            const e = (extra[i] ??= new Float32Array(x.length));
            for (let j = 0; j < x.length; j++) {
              loss += l1 * Math.abs(x[j]);
              e[j] += l1 * Math.sign(x[j]);
            }
          });
        }
        addToGrads(grads, t.vars, extra);
        if (!Number.isFinite(loss)) {
          tf.dispose([value, ...Object.values(grads)]);
          throw new SubspaceError('INTERNAL', `training diverged: the loss became ${loss} at step ${step} (epoch ${epoch}); lower the learning rate (now ${cfg.lr})`, 'lr');
        }
        opt.step(grads, warmupLinear(step, total, warmup, cfg.lr));
        tf.dispose([value, ...Object.values(grads)]);
        out.loss.push({ step, value: loss });
        step++;
        clock.tick(step, { loss, epoch });
      }
      out.epochMs.push(performance.now() - t0);
      if (data.dev.length > 0) {
        const r = evaluateExamples(model, tok, data.dev, { multipleChoice: cfg.multipleChoice, edits: () => t.edits() });
        clock.tick(step, { devAccuracy: r.accuracy, devPreferCorrect: r.preferCorrect, epoch });
        if (tracker.recordIn(out, epoch, scoredDevRecord(epoch, r))) break;
      }
    }
    out.steps = step;
    const bestState = tracker.toRestore(out.dev.length);
    if (bestState) restoreVariables(t.vars, bestState);
  } finally {
    opt.dispose();
    cache?.dispose();
    helper?.end();
  }
  return out;
}

function newVariable(data: Float32Array, shape: number[], name: string): tf.Variable {
  // In a tidy, so the initial tensor is freed once the variable holds the values.
  return tf.tidy(() => tf.variable(tf.tensor(data, shape), true, name));
}

/**
 * Step 1: trains a scale per head on every layer and ranks the heads by the norm of their scale.
 */
export function lofitSelect(model: Transformer, tok: SubspaceTokenizer, data: { train: TaskExample[]; dev: TaskExample[] }, cfgIn: Partial<LofitSelectConfig> = {}, hooks: RunHooks = {}): LofitSelectResult {
  const cfg: LofitSelectConfig = { ...LOFIT_SELECT_DEFAULTS, ...cfgIn };
  validateLofitConfig(cfg);
  const spec = model.spec;
  const k = resolveK(cfg.k, spec);
  const { nLayers: L, nHeads: H, dHead: dh } = spec;
  const id = ++variableCounter;
  const vars = Array.from({ length: L }, (_, l) => newVariable(gaussianArray(H * dh, cfg.initStd, seedFor(cfg.seed, 1, l)), [H, dh], `lofit${id}_select_A_l${l}`));
  try {
    const outcome = runLoop(model, tok, data, cfg, hooks, {
      phase: 'lofit-select',
      vars,
      edits: () => scaleEdits(vars),
      l1: cfg.l1,
      keepBest: false,
      shard: { kind: 'select' },
    });
    const scales = vars.map((A) => (A.dataSync() as Float32Array).slice());
    const scores = scales.map((row) =>
      Array.from({ length: H }, (_, h) => {
        let s = 0;
        for (let j = 0; j < dh; j++) s += row[h * dh + j] ** 2;
        return Math.sqrt(s);
      }),
    );
    const ranked = rankHeads(scores);
    const meanAbsScale = scales.reduce((a, row) => a + row.reduce((b, x) => b + Math.abs(x), 0), 0) / (L * H * dh);
    return { ...outcome, scores, ranked, selected: ranked.slice(0, k), k, scales, meanAbsScale, parameters: L * H * dh, config: cfg };
  } finally {
    tf.dispose(vars);
  }
}

/** [layers][heads] with 1 at the given heads and 0 elsewhere: the score matrix of a selection made without step 1. */
export function markHeads(spec: { nLayers: number; nHeads: number }, heads: HeadRef[]): number[][] {
  const scores = Array.from({ length: spec.nLayers }, () => new Array<number>(spec.nHeads).fill(0));
  for (const [l, h] of heads) scores[l][h] = 1;
  return scores;
}

/** A head selection from elsewhere (step 1 skipped) in the shape of a step-1 result, with nothing trained. */
export function givenSelection(config: LofitSelectConfig, scores: number[][], ranked: HeadRef[], selected: HeadRef[]): LofitSelectResult {
  return { loss: [], dev: [], bestEpoch: -1, stoppedEarly: false, epochMs: [], steps: 0, shards: 1, scores, ranked, selected, k: selected.length, scales: [], meanAbsScale: 0, parameters: 0, config };
}

/**
 * Step 2: trains an offset per selected head, starting from the unmodified model.
 */
export function lofitTune(model: Transformer, tok: SubspaceTokenizer, data: { train: TaskExample[]; dev: TaskExample[] }, heads: HeadRef[], cfgIn: Partial<LofitTuneConfig> = {}, hooks: RunHooks = {}): LofitTuneResult {
  const cfg: LofitTuneConfig = { ...LOFIT_TUNE_DEFAULTS, ...cfgIn };
  validateLofitConfig(cfg);
  const spec = model.spec;
  validateHeads(heads, spec);
  const dh = spec.dHead;
  const id = ++variableCounter;
  const vars = heads.map(([l, h]) => newVariable(gaussianArray(dh, cfg.initStd, seedFor(cfg.seed, 2, l, h)), [dh], `lofit${id}_tune_v_l${l}_h${h}`));
  const firstLayer = Math.min(...heads.map(([l]) => l));
  // Nothing before the first tuned layer changes in training; the edits sit inside that layer.
  const cacheLayer = cfg.cachePrefix && firstLayer > 0 ? firstLayer : undefined;
  const folded = new FoldedOffsets(model, heads);
  try {
    const outcome = runLoop(model, tok, data, cfg, hooks, {
      phase: 'lofit-tune',
      vars,
      edits: () => folded.edits(vars),
      cacheLayer,
      keepBest: true,
      shard: { kind: 'tune', heads },
    });
    const offsets = vars.map((v) => (v.dataSync() as Float32Array).slice());
    return { ...outcome, heads: heads.map(([l, h]) => [l, h] as HeadRef), offsets, parameters: lofitParameterCount(heads.length, dh), config: cfg, cachedPrefixLayer: cacheLayer };
  } finally {
    folded.dispose();
    tf.dispose(vars);
  }
}

/**
 * The edits that apply trained offsets at every position of a forward (evaluation, scoring,
 * the prompt pass of generation). `spec`, when given, checks the heads and widths against a model.
 */
export function lofitEdits(offsets: ArrayLike<number>[], heads: HeadRef[], spec?: { nLayers: number; nHeads: number; dHead: number }): SiteEdit[] {
  if (offsets.length !== heads.length) {
    throw new SubspaceError('BAD_ARGUMENT', `${offsets.length} offsets for ${heads.length} heads: pass one offset per head`, 'offsets');
  }
  if (spec) {
    validateHeads(heads, spec);
    offsets.forEach((o, i) => {
      if (o.length !== spec.dHead) throw new SubspaceError('SHAPE_MISMATCH', `offset ${i} has width ${o.length} but the model's heads have width ${spec.dHead}`, 'offsets');
    });
  }
  const values = offsets.map((o) => Float32Array.from(o));
  return heads.map(([l, h], i) => ({ site: 'head_output', layer: l, head: h, apply: (z: tf.Tensor) => tf.add(z, tf.tensor1d(values[i])) }));
}

/**
 * The offsets folded into the output-projection bias: per layer, Σ_h W_o[rows of h] ᵀ v_h (width
 * d_model). Adding it to b_o (or to attention_output at every position) equals the offsets at
 * every position, so a merged checkpoint runs in any standard runtime, decode steps included.
 */
export function lofitBiasDelta(model: Transformer, offsets: ArrayLike<number>[], heads: HeadRef[]): Map<number, Float32Array> {
  const spec = model.spec;
  lofitEdits(offsets, heads, spec); // validates
  const dh = spec.dHead;
  const out = new Map<number, Float32Array>();
  heads.forEach(([l, h], i) => {
    const delta = tf.tidy(() => tf.matMul(tf.tensor2d(Float32Array.from(offsets[i]), [1, dh]), tf.slice(model.weights.layers[l].wo, [h * dh, 0], [dh, -1])).dataSync() as Float32Array);
    const acc = out.get(l) ?? new Float32Array(spec.dModel);
    for (let j = 0; j < acc.length; j++) acc[j] += delta[j];
    out.set(l, acc);
  });
  return out;
}

/** Evaluates a tuned model: the offsets applied at every position. */
export function evaluateLofit(model: Transformer, tok: SubspaceTokenizer, examples: TaskExample[], tuned: { offsets: ArrayLike<number>[]; heads: HeadRef[] }, multipleChoice = false): EvalResult {
  const edits = lofitEdits(tuned.offsets, tuned.heads, model.spec);
  return evaluateExamples(model, tok, examples, { multipleChoice, edits: () => edits });
}
