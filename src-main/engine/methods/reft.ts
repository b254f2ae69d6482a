import * as tf from '../tf.js';
import { SubspaceError } from '../errors.js';
import type { SubspaceTokenizer } from '../io/tokenizer.js';
import type { ModelSpec } from '../model/config.js';
import type { SiteName } from '../model/sites.js';
import type { SiteEdit, Transformer } from '../model/transformer.js';
import { createIntervention, type Intervention, type TensorState } from '../interventions/registry.js';
import { interventionPositions, parsePositions } from '../interventions/positions.js';
import type { TaskExample } from '../tasks/schema.js';
import { evaluateExamples, type EvalResult } from '../eval/evaluate.js';
import { AdamW, warmupLinear, type AdamWState } from '../train/optim.js';
import { completionLoss, encodeExamples, epochBatches, PrefixCache, supervisedBatch, WindowCache } from '../train/supervised.js';
import { ProgressClock, type RunHooks } from './progress.js';
import { BestEpoch, devImproves } from './best-epoch.js';
import type { TrainSchedule } from './train-schedule.js';

/** Early stopping keeps the best dev epoch by accuracy. */
export interface ReftConfig extends TrainSchedule {
  type: string;
  layers: number[];
  /** block_output (default), block_input, attention_output, mlp_output, or head_output.<h>. */
  component: string;
  rank: number;
  /** pyreft's grammar: f{n}, l{n}, f{n}+l{n}. */
  positions: string;
  shareWeights: boolean;
  activation?: string;
  dropout: number;
  /**
   * Frozen computation reused across epochs. 'window': the residual entering the
   * first intervened layer from the first edited position on, plus the keys and
   * values of earlier positions (later layers then run only on that window);
   * 'layers': the residual entering the first intervened layer at every position;
   * 'auto': window when it fits the memory budget, else layers.
   */
  cache: 'auto' | 'window' | 'layers' | 'none';
}

export const REFT_DEFAULTS: Omit<ReftConfig, 'layers'> = {
  type: 'loreft',
  component: 'block_output',
  rank: 4,
  positions: 'l1',
  shareWeights: true,
  dropout: 0,
  epochs: 5,
  lr: 4e-3,
  batchSize: 16,
  warmupRatio: 0.1,
  weightDecay: 0,
  clipNorm: 1,
  seed: 42,
  patience: 0,
  cache: 'auto',
};

/** Frozen activations kept for reuse across epochs: at most this many floats (1 GiB). */
const CACHE_BUDGET_FLOATS = 256 * 1024 * 1024;

export interface ReftSite {
  site: SiteName;
  head?: number;
  width: number;
}

/** One trained intervention: where it sits and what it holds. */
export interface PlacedIntervention {
  key: string;
  layer: number;
  /** Position group index (0: all / prefix positions, 1: suffix positions when weights are not shared). */
  group: number;
  intervention: Intervention;
}

export function resolveComponent(spec: ModelSpec, component: string): ReftSite {
  const m = /^head_output\.(\d+)$/.exec(component);
  if (m) {
    const head = Number(m[1]);
    if (head >= spec.nHeads) throw new SubspaceError('BAD_ARGUMENT', `head ${head} is out of range: the model has heads 0..${spec.nHeads - 1}`, 'component');
    return { site: 'head_output', head, width: spec.dHead };
  }
  const widths: Record<string, number> = {
    block_output: spec.dModel,
    block_input: spec.dModel,
    attention_output: spec.dModel,
    mlp_output: spec.dModel,
    attention_input: spec.dModel,
    mlp_input: spec.dModel,
    mlp_hidden: spec.dMlp,
  };
  if (!(component in widths)) {
    throw new SubspaceError('BAD_ARGUMENT', `unknown component '${component}' (known: ${[...Object.keys(widths), 'head_output.<h>'].join(', ')})`, 'component');
  }
  return { site: component as SiteName, width: widths[component] };
}

export function validateReftConfig(spec: ModelSpec, cfg: ReftConfig): ReftSite {
  if (cfg.layers.length === 0) throw new SubspaceError('BAD_ARGUMENT', 'no layers given: pass at least one layer', 'layers');
  for (const l of cfg.layers) {
    if (!Number.isInteger(l) || l < 0 || l >= spec.nLayers) throw new SubspaceError('BAD_ARGUMENT', `layer ${l} is out of range: the model has layers 0..${spec.nLayers - 1}`, 'layers');
  }
  const site = resolveComponent(spec, cfg.component);
  if (!Number.isInteger(cfg.rank) || cfg.rank < 1 || cfg.rank > site.width) {
    throw new SubspaceError('BAD_ARGUMENT', `rank ${cfg.rank} must be a whole number from 1 to the site's width ${site.width}`, 'rank');
  }
  parsePositions(cfg.positions);
  if (!['auto', 'window', 'layers', 'none'].includes(cfg.cache)) {
    throw new SubspaceError('BAD_ARGUMENT', `cache mode '${cfg.cache}' is not one of auto, window, layers, none`, 'cache');
  }
  if (!(cfg.lr > 0)) throw new SubspaceError('BAD_ARGUMENT', `learning rate must be positive (got ${cfg.lr})`, 'lr');
  if (!(cfg.epochs >= 1)) throw new SubspaceError('BAD_ARGUMENT', `epochs must be at least 1 (got ${cfg.epochs})`, 'epochs');
  if (!(cfg.batchSize >= 1)) throw new SubspaceError('BAD_ARGUMENT', `batch size must be at least 1 (got ${cfg.batchSize})`, 'batch');
  return site;
}

/** Creates one intervention per layer and position group, seeded. */
export function createReftInterventions(spec: ModelSpec, cfg: ReftConfig): PlacedIntervention[] {
  const site = validateReftConfig(spec, cfg);
  const groups = interventionGroups(cfg);
  const out: PlacedIntervention[] = [];
  let seed = cfg.seed;
  for (const layer of cfg.layers) {
    for (let g = 0; g < groups; g++) {
      const intervention = createIntervention(cfg.type, { width: site.width, rank: cfg.rank, activation: cfg.activation, dropout: cfg.dropout, seed: seed++ });
      out.push({ key: `layer_${layer}_comp_${cfg.component}_group_${g}`, layer, group: g, intervention });
    }
  }
  return out;
}

function interventionGroups(cfg: ReftConfig): number {
  const probe = interventionPositions(parsePositions(cfg.positions), [64], { shareWeights: cfg.shareWeights });
  return probe.length;
}

/**
 * The edits that apply the interventions to a batch whose prompts have these
 * lengths (and, for left-padded batches, these offsets).
 */
export function reftEdits(cfg: ReftConfig, spec: ModelSpec, placed: PlacedIntervention[], promptLengths: number[], opts: { training?: boolean; offsets?: number[]; seed?: number; shift?: number[] } = {}): SiteEdit[] {
  const site = resolveComponent(spec, cfg.component);
  let groups = interventionPositions(parsePositions(cfg.positions), promptLengths, { shareWeights: cfg.shareWeights, offsets: opts.offsets });
  if (opts.shift) groups = groups.map((g) => g.map((row, b) => row.map((p) => (p >= 0 ? p - opts.shift![b] : -1))));
  return placed.map((p) => ({
    site: site.site,
    layer: p.layer,
    head: site.head,
    positions: groups[p.group],
    apply: (v: tf.Tensor) => p.intervention.apply(v, { training: opts.training, seed: opts.seed }),
  }));
}

export interface ReftResult {
  interventions: PlacedIntervention[];
  config: ReftConfig;
  parameters: number;
  loss: { step: number; value: number }[];
  dev: { epoch: number; accuracy: number; meanLogitDiff: number }[];
  bestEpoch: number;
  stoppedEarly: boolean;
  /** Milliseconds per epoch (training steps only). */
  epochMs: number[];
  cachedPrefixLayer?: number;
  cacheMode: 'window' | 'layers' | 'none';
}

/**
 * Everything a training run needs to continue where it stopped and end with the
 * same weights as a run that never stopped. Taken between steps (never between a
 * step and its epoch's dev evaluation).
 */
export interface ReftCheckpoint {
  /** Optimiser steps done. */
  step: number;
  /** The epoch of the next batch, and that batch's index in the epoch's (seeded) order. */
  epoch: number;
  batch: number;
  /** The configuration of the run (a checkpoint resumes only the same configuration). */
  config: ReftConfig;
  /** Parameter values of each intervention, in the order of `ReftResult.interventions`. */
  interventions: { key: string; state: TensorState }[];
  optimizer: AdamWState;
  loss: { step: number; value: number }[];
  dev: ReftResult['dev'];
  epochMs: number[];
  /** Training time already spent in the current epoch. */
  epochElapsedMs: number;
  /** Early stopping: best dev accuracy so far (-Infinity before the first), its epoch, epochs since. */
  best: number;
  bestEpoch: number;
  sinceBest: number;
  /** The weights of the best dev epoch so far (the run restores them at the end). */
  bestState?: TensorState[];
}

export interface ReftCheckpointOptions {
  /** Save after every this many steps (at the next point where a checkpoint can be taken). */
  everySteps: number;
  /** Called with a self-contained copy; write it out before returning. */
  save: (ck: ReftCheckpoint) => void;
  /** Continue from this checkpoint instead of starting afresh. */
  resume?: ReftCheckpoint;
}

export interface ReftHooks extends RunHooks {
  checkpoint?: ReftCheckpointOptions;
}

/** Refuses a checkpoint that another configuration or intervention layout made. */
function checkResumable(ck: ReftCheckpoint, cfg: ReftConfig, placed: PlacedIntervention[], stepsPerEpoch: number): void {
  const keys = new Set([...Object.keys(cfg), ...Object.keys(ck.config ?? {})]);
  for (const k of keys) {
    const a = JSON.stringify((cfg as unknown as Record<string, unknown>)[k]);
    const b = JSON.stringify((ck.config as unknown as Record<string, unknown> | undefined)?.[k]);
    if (a !== b) throw new SubspaceError('BAD_ARGUMENT', `cannot resume: the checkpoint was made with ${k} = ${b ?? 'unset'}, this run has ${k} = ${a ?? 'unset'}`, k);
  }
  const want = placed.map((p) => p.key);
  const got = (ck.interventions ?? []).map((i) => i.key);
  if (want.join('|') !== got.join('|')) throw new SubspaceError('BAD_ARGUMENT', `cannot resume: the checkpoint holds interventions ${got.join(', ')}, this run has ${want.join(', ')}`, 'checkpoint');
  if (!Number.isInteger(ck.epoch) || !Number.isInteger(ck.batch) || ck.epoch < 0 || ck.batch < 0 || ck.batch >= stepsPerEpoch || ck.step !== ck.epoch * stepsPerEpoch + ck.batch || ck.epoch >= cfg.epochs) {
    throw new SubspaceError('BAD_ARGUMENT', `cannot resume: the checkpoint's position (step ${ck.step}, epoch ${ck.epoch}, batch ${ck.batch}) does not fit ${cfg.epochs} epochs of ${stepsPerEpoch} steps`, 'checkpoint');
  }
}

/**
 * Trains ReFT interventions on a frozen model, completion-only cross-entropy,
 * AdamW with warm-up and linear decay, dev accuracy each epoch. With
 * `hooks.checkpoint`, saves its state every N steps and can resume from one:
 * batch order, dropout masks and the learning-rate schedule depend only on the
 * seed and the step, so a resumed run ends with the same weights.
 */
export function trainReft(model: Transformer, tok: SubspaceTokenizer, data: { train: TaskExample[]; dev: TaskExample[] }, cfgIn: Partial<ReftConfig> & { layers: number[] }, hooks: ReftHooks = {}): ReftResult {
  const cfg: ReftConfig = { ...REFT_DEFAULTS, ...cfgIn };
  const spec = model.spec;
  validateReftConfig(spec, cfg);
  const ckOpts = hooks.checkpoint;
  if (ckOpts && !(Number.isInteger(ckOpts.everySteps) && ckOpts.everySteps >= 1)) {
    throw new SubspaceError('BAD_ARGUMENT', `checkpoint.everySteps must be a whole number of at least 1 (got ${ckOpts.everySteps})`, 'everySteps');
  }
  const train = encodeExamples(tok, data.train, 'training split');
  const placed = createReftInterventions(spec, cfg);
  const vars = placed.flatMap((p) => p.intervention.variables);
  const opt = new AdamW(vars, { weightDecay: cfg.weightDecay, clipNorm: cfg.clipNorm });
  const pad = spec.padTokenId ?? spec.eosTokenIds[0] ?? 0;
  const firstLayer = Math.min(...cfg.layers);
  // Where each example's computation first changes: its first edited position
  // (or the first position whose logits the loss reads).
  const starts = train.map((e) => {
    const groups = interventionPositions(parsePositions(cfg.positions), [e.prompt.length], { shareWeights: cfg.shareWeights });
    const edited = groups.flatMap((g) => g[0]).filter((p) => p >= 0);
    return Math.min(e.prompt.length - 1, ...edited);
  });
  const windowFloats = train.reduce((a, e, i) => a + WindowCache.floatsPerExample(spec, firstLayer, e.prompt.length + e.completion.length, starts[i]), 0);
  const mode: ReftResult['cacheMode'] =
    cfg.cache === 'none' ? 'none' : cfg.cache === 'window' || (cfg.cache === 'auto' && windowFloats <= CACHE_BUDGET_FLOATS) ? 'window' : firstLayer > 0 ? 'layers' : 'none';
  const window = mode === 'window' ? new WindowCache(model, firstLayer, train, starts, pad) : undefined;
  const layerCache = mode === 'layers' ? new PrefixCache(model, firstLayer, train, pad) : undefined;
  const cacheLayer = mode === 'none' ? undefined : firstLayer;
  const stepsPerEpoch = Math.ceil(train.length / cfg.batchSize);
  const total = stepsPerEpoch * cfg.epochs;
  const warmup = Math.round(total * cfg.warmupRatio);
  const clock = new ProgressClock(hooks, 'reft', total);
  const result: ReftResult = { interventions: placed, config: cfg, parameters: placed.reduce((a, p) => a + p.intervention.parameterCount(), 0), loss: [], dev: [], bestEpoch: -1, stoppedEarly: false, epochMs: [], cachedPrefixLayer: cacheLayer, cacheMode: mode };
  const tracker = new BestEpoch<ReftResult['dev'][number], TensorState[]>(devImproves, cfg.patience, () => placed.map((p) => p.intervention.state()));
  let step = 0;
  let startEpoch = 0;
  let startBatch = 0;
  let resumedEpochMs = 0;
  let savedAt = 0;
  const save = (epoch: number, batch: number, epochElapsedMs: number) => {
    savedAt = step;
    ckOpts!.save({
      step,
      epoch,
      batch,
      config: { ...cfg },
      interventions: placed.map((p) => ({ key: p.key, state: p.intervention.state() })),
      optimizer: opt.state(),
      loss: result.loss.slice(),
      dev: result.dev.map((d) => ({ ...d })),
      epochMs: result.epochMs.slice(),
      epochElapsedMs,
      best: tracker.best?.accuracy ?? -Infinity,
      bestEpoch: tracker.bestEpoch,
      sinceBest: tracker.sinceBest,
      bestState: tracker.bestState?.map((st) => ({ ...st })),
    });
  };
  try {
    const resume = ckOpts?.resume;
    if (resume) {
      checkResumable(resume, cfg, placed, stepsPerEpoch);
      placed.forEach((p, i) => p.intervention.load(resume.interventions[i].state));
      opt.load(resume.optimizer);
      result.loss = resume.loss.map((l) => ({ ...l }));
      result.dev = resume.dev.map((d) => ({ ...d }));
      result.epochMs = resume.epochMs.slice();
      result.bestEpoch = tracker.bestEpoch = resume.bestEpoch;
      tracker.best = result.dev.find((d) => d.epoch === resume.bestEpoch);
      tracker.sinceBest = resume.sinceBest;
      tracker.bestState = resume.bestState;
      step = savedAt = resume.step;
      startEpoch = resume.epoch;
      startBatch = resume.batch;
      resumedEpochMs = resume.epochElapsedMs;
    }
    for (let epoch = startEpoch; epoch < cfg.epochs; epoch++) {
      const t0 = performance.now() - (epoch === startEpoch ? resumedEpochMs : 0);
      const batches = epochBatches(train.length, cfg.batchSize, cfg.seed, epoch);
      for (let bi = epoch === startEpoch ? startBatch : 0; bi < batches.length; bi++) {
        const idx = batches[bi];
        const b = supervisedBatch(idx.map((i) => train[i]), pad);
        const seed = cfg.seed + step;
        let run: () => tf.Scalar;
        let release = () => {};
        if (window) {
          const w = window.batch(idx);
          const edits = reftEdits(cfg, spec, placed, b.promptLengths, { training: true, seed, shift: w.starts });
          const positions = b.targetPositions.map((row, k) => row.map((p) => (p >= 0 ? p - w.starts[k] : -1)));
          run = () => completionLoss(model.forward({ inputIds: w.ids, attentionMask: w.mask }, { edits, start: { layer: firstLayer, residual: w.residual }, cache: w.cache, cacheReadOnly: true, logits: { positions } }).logits!, b.targets);
          release = w.dispose;
        } else {
          const edits = reftEdits(cfg, spec, placed, b.promptLengths, { training: true, seed });
          const start = layerCache ? { layer: firstLayer, residual: layerCache.batch(idx, b.ids[0].length) } : undefined;
          run = () => completionLoss(model.forward({ inputIds: b.ids, attentionMask: b.mask }, { edits, start, logits: { positions: b.targetPositions } }).logits!, b.targets);
          release = () => start?.residual.dispose();
        }
        const { value, grads } = tf.variableGrads(run, vars);
        release();
        const loss = value.dataSync()[0];
        if (!Number.isFinite(loss)) {
          tf.dispose([value, ...Object.values(grads)]);
          throw new SubspaceError('INTERNAL', `training diverged: the loss became ${loss} at step ${step} (epoch ${epoch}); lower the learning rate (now ${cfg.lr})`, 'lr');
        }
        opt.step(grads, warmupLinear(step, total, warmup, cfg.lr));
        for (const p of placed) p.intervention.afterStep?.();
        tf.dispose([value, ...Object.values(grads)]);
        result.loss.push({ step, value: loss });
        step++;
        clock.tick(step, { loss, epoch });
        // Mid-epoch only: the last batch's checkpoint waits for the epoch's dev evaluation.
        if (ckOpts && step % ckOpts.everySteps === 0 && bi < batches.length - 1) save(epoch, bi + 1, performance.now() - t0);
      }
      result.epochMs.push(performance.now() - t0);
      if (data.dev.length > 0) {
        const r = evaluateReft(model, tok, data.dev, cfg, placed);
        clock.tick(step, { devAccuracy: r.accuracy, epoch });
        if (tracker.recordIn(result, epoch, { epoch, accuracy: r.accuracy, meanLogitDiff: r.meanLogitDiff })) break;
      }
      if (ckOpts && epoch + 1 < cfg.epochs && Math.floor(step / ckOpts.everySteps) > Math.floor(savedAt / ckOpts.everySteps)) save(epoch + 1, 0, 0);
    }
    // Keep the best epoch's weights, as early stopping promises.
    const bestState = tracker.toRestore(result.dev.length);
    if (bestState) placed.forEach((p, i) => p.intervention.load(bestState[i]));
  } catch (e) {
    for (const p of placed) p.intervention.dispose();
    throw e;
  } finally {
    opt.dispose();
    window?.dispose();
    layerCache?.dispose();
  }
  return result;
}

/** Accuracy and logit difference with the interventions applied at the prompt positions. */
export function evaluateReft(model: Transformer, tok: SubspaceTokenizer, examples: TaskExample[], cfg: ReftConfig, placed: PlacedIntervention[], multipleChoice = false): EvalResult {
  return evaluateExamples(model, tok, examples, {
    multipleChoice,
    edits: (promptLengths) => reftEdits(cfg, model.spec, placed, promptLengths),
  });
}
