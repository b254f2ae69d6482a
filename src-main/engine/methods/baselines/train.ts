/**
 * The training loop the trained baselines (RED, LoRA) share with LoFIT's step 2: completion-only
 * cross-entropy on the training split, AdamW with warm-up and linear decay, global-norm clipping,
 * a dev evaluation after every epoch and the parameters of the best dev epoch kept — so a
 * comparison of methods differs in what is trained, not in how.
 */
import * as tf from '../../tf.js';
import { SubspaceError } from '../../errors.js';
import type { SubspaceTokenizer } from '../../io/tokenizer.js';
import type { SiteEdit, Transformer } from '../../model/transformer.js';
import type { TaskExample } from '../../tasks/schema.js';
import { evaluateExamples } from '../../eval/evaluate.js';
import { AdamW, warmupLinear } from '../../train/optim.js';
import { completionLoss, encodeExamples, epochBatches, PrefixCache, supervisedBatch } from '../../train/supervised.js';
import { ProgressClock, type RunHooks } from '../progress.js';
import { BestEpoch, devImprovesBy, restoreVariables, scoredDevRecord, snapshotVariables, type ScoredDevRecord } from '../best-epoch.js';
import type { TrainSchedule } from '../train-schedule.js';

/** The dev score early stopping keeps the best epoch by: MC1 for multiple choice, else accuracy. */
export interface BaselineTrainConfig extends TrainSchedule {
  /** A multiple-choice task: the dev score is MC1 and the evaluation scores every correct answer too (MC2). */
  multipleChoice: boolean;
}

/** LoFIT's step-2 schedule (5 epochs, batch 8, warm-up 10%, clip 1, no weight decay); each method sets its own rate. */
export const BASELINE_TRAIN_DEFAULTS: BaselineTrainConfig = { epochs: 5, lr: 1e-2, batchSize: 8, warmupRatio: 0.1, weightDecay: 0, clipNorm: 1, seed: 42, patience: 0, multipleChoice: false };

export function validateTrainConfig(cfg: BaselineTrainConfig): void {
  const num = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
  if (!num(cfg.lr) || cfg.lr <= 0) throw new SubspaceError('BAD_ARGUMENT', `learning rate must be positive (got ${cfg.lr})`, 'lr');
  if (!Number.isInteger(cfg.epochs) || cfg.epochs < 1) throw new SubspaceError('BAD_ARGUMENT', `epochs must be a whole number ≥ 1 (got ${cfg.epochs})`, 'epochs');
  if (!Number.isInteger(cfg.batchSize) || cfg.batchSize < 1) throw new SubspaceError('BAD_ARGUMENT', `batch size must be a whole number ≥ 1 (got ${cfg.batchSize})`, 'batchSize');
  if (!num(cfg.warmupRatio) || cfg.warmupRatio < 0 || cfg.warmupRatio >= 1) throw new SubspaceError('BAD_ARGUMENT', `warm-up ratio must be in [0, 1) (got ${cfg.warmupRatio})`, 'warmupRatio');
  if (!num(cfg.weightDecay) || cfg.weightDecay < 0) throw new SubspaceError('BAD_ARGUMENT', `weight decay must be ≥ 0 (got ${cfg.weightDecay})`, 'weightDecay');
  if (!num(cfg.clipNorm) || cfg.clipNorm <= 0) throw new SubspaceError('BAD_ARGUMENT', `gradient clip norm must be positive (got ${cfg.clipNorm})`, 'clipNorm');
  if (!num(cfg.seed)) throw new SubspaceError('BAD_ARGUMENT', `seed must be a finite number (got ${cfg.seed})`, 'seed');
  if (!Number.isInteger(cfg.patience) || cfg.patience < 0) throw new SubspaceError('BAD_ARGUMENT', `patience must be a whole number ≥ 0 (got ${cfg.patience})`, 'patience');
}

/** A model to run: the base model itself, or a view of it with adapted weights (LoRA). */
export interface ModelView {
  model: Transformer;
  dispose(): void;
}

export interface TrainableBaseline {
  phase: string;
  vars: tf.Variable[];
  /** Edits applying the current parameters (RED). */
  edits?: () => SiteEdit[];
  /** The model with the current parameters folded in (LoRA); built inside the gradient tape. */
  view?: () => ModelView;
  /** Reuse the frozen residual entering this layer across epochs. */
  cacheLayer?: number;
}

export type DevRecord = ScoredDevRecord;

export interface TrainOutcome {
  loss: { step: number; value: number }[];
  dev: DevRecord[];
  bestEpoch: number;
  stoppedEarly: boolean;
  steps: number;
}

/** Runs `f` on the model with the current parameters (a LoRA view, or the base model). */
export function withView<T>(model: Transformer, t: Pick<TrainableBaseline, 'view'>, f: (m: Transformer) => T): T {
  if (!t.view) return f(model);
  const v = t.view();
  try {
    return f(v.model);
  } finally {
    v.dispose();
  }
}

export function trainBaseline(model: Transformer, tok: SubspaceTokenizer, data: { train: TaskExample[]; dev: TaskExample[] }, cfg: BaselineTrainConfig, hooks: RunHooks, t: TrainableBaseline): TrainOutcome {
  validateTrainConfig(cfg);
  const spec = model.spec;
  const encoded = encodeExamples(tok, data.train, 'training split');
  const pad = spec.padTokenId ?? spec.eosTokenIds[0] ?? 0;
  const n = encoded.length;
  const out: TrainOutcome = { loss: [], dev: [], bestEpoch: -1, stoppedEarly: false, steps: 0 };
  const cache = t.cacheLayer !== undefined && t.cacheLayer > 0 ? new PrefixCache(model, t.cacheLayer, encoded, pad) : undefined;
  const opt = new AdamW(t.vars, { weightDecay: cfg.weightDecay, clipNorm: cfg.clipNorm });
  try {
    const stepsPerEpoch = Math.ceil(n / cfg.batchSize);
    const total = stepsPerEpoch * cfg.epochs;
    const warmup = Math.round(total * cfg.warmupRatio);
    const clock = new ProgressClock(hooks, t.phase, total);
    // The rule and score LoFIT's step 2 keeps its best epoch by, so the methods compare like for like.
    const score = cfg.multipleChoice ? (r: DevRecord) => r.preferCorrect : (r: DevRecord) => r.accuracy;
    const tracker = new BestEpoch<DevRecord, Float32Array[]>(devImprovesBy(score), cfg.patience, () => snapshotVariables(t.vars));
    let step = 0;
    for (let epoch = 0; epoch < cfg.epochs; epoch++) {
      for (const idx of epochBatches(n, cfg.batchSize, cfg.seed, epoch)) {
        const b = supervisedBatch(idx.map((i) => encoded[i]), pad);
        const T = b.ids[0].length;
        const start = cache ? { layer: cache.layer, residual: cache.batch(idx, T) } : undefined;
        const { value, grads } = tf.variableGrads(() => {
          const m = t.view ? t.view().model : model;
          const r = m.forward({ inputIds: b.ids, attentionMask: b.mask }, { edits: t.edits?.(), start, logits: { positions: b.targetPositions } });
          return completionLoss(r.logits!, b.targets);
        }, t.vars);
        const loss = value.dataSync()[0];
        if (!Number.isFinite(loss)) {
          tf.dispose([value, ...Object.values(grads), start?.residual]);
          throw new SubspaceError('INTERNAL', `training diverged: the loss became ${loss} at step ${step} (epoch ${epoch}); lower the learning rate (now ${cfg.lr})`, 'lr');
        }
        opt.step(grads, warmupLinear(step, total, warmup, cfg.lr));
        tf.dispose([value, ...Object.values(grads), start?.residual]);
        out.loss.push({ step, value: loss });
        step++;
        clock.tick(step, { loss, epoch });
      }
      if (data.dev.length > 0) {
        const r = withView(model, t, (m) => evaluateExamples(m, tok, data.dev, { multipleChoice: cfg.multipleChoice, edits: t.edits ? () => t.edits!() : undefined }));
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
  }
  return out;
}

let counter = 0;

/** A trainable variable holding `data` (unique name, so two runs never share optimiser state). */
export function newVariable(data: Float32Array, shape: number[], name: string): tf.Variable {
  return tf.tidy(() => tf.variable(tf.tensor(data, shape), true, `${name}_${++counter}`));
}

/** Checks a layer list against the model: distinct whole numbers in range, at least one. */
export function validateLayers(layers: number[], nLayers: number, what = 'layers'): number[] {
  if (!Array.isArray(layers) || layers.length === 0) throw new SubspaceError('BAD_ARGUMENT', `no ${what} given: pass at least one layer`, what);
  const seen = new Set<number>();
  for (const l of layers) {
    if (!Number.isInteger(l) || l < 0 || l >= nLayers) throw new SubspaceError('BAD_ARGUMENT', `${what}: layer ${l} is out of range: the model has layers 0..${nLayers - 1}`, what);
    if (seen.has(l)) throw new SubspaceError('BAD_ARGUMENT', `${what}: layer ${l} is listed twice`, what);
    seen.add(l);
  }
  return [...layers].sort((a, b) => a - b);
}
