/**
 * Distributed alignment search at one site: train a DAS intervention so that interchanging the
 * learned subspace from a source run into a base run makes the model give the causal model's
 * counterfactual answer, and measure how often it does (interchange intervention accuracy, IIA).
 *
 * Frozen work is done once: the source values at the site (one forward per source prompt, read
 * from `forward`'s `read`), and the base residual entering the site's layer (`stopBefore`), from
 * which every training step resumes (`start`). Only the layers from the site on run per step.
 */
import * as tf from '../tf.js';
import { SubspaceError } from '../errors.js';
import type { SubspaceTokenizer } from '../io/tokenizer.js';
import type { ModelSpec } from '../model/config.js';
import { siteKey, type SiteName } from '../model/sites.js';
import type { SiteEdit, Transformer } from '../model/transformer.js';
import { resolveComponent } from '../methods/reft.js';
import { padIdOf } from '../patching/interchange.js';
import { padSequences } from '../patching/pairs.js';
import { ProgressClock, type RunHooks } from '../methods/progress.js';
import { AdamW, warmupLinear } from '../train/optim.js';
import { completionLoss, epochBatches, supervisedBatch, targetLogProbs } from '../train/supervised.js';
import { DAS_CACHE_MODES, DasBaseCache, type DasCacheMode } from './cache.js';
import { checkRole, checkVariable, prepareDasItems, type DasItem, type DasTask } from './data.js';
import { checkDim, DasIntervention, dasParameterCount, PYVENE_CLASS, resolveVariant, type BoundaryReport, type DasVariant } from './interventions.js';

export interface DasConfig {
  /** The causal variable whose counterfactual labels supervise training (e.g. "w=x"). */
  variable: string;
  layer: number;
  /** block_output (default), block_input, attention_output, mlp_output, attention_input, mlp_input, mlp_hidden, head_output.<h>. */
  component: string;
  /** A role of the task (e.g. W, X, Y, Z, END) or first / last; the base and source positions of that role are aligned. */
  position: string;
  variant: DasVariant;
  /** k: the interchanged dims (rotated), the rank (lowrank), the initial width (boundless). */
  dim: number;
  epochs: number;
  /** Peak learning rate of the rotation (AdamW, 10% linear warm-up, linear decay). */
  lr: number;
  batchSize: number;
  seed: number;
  /** Use the first n pairs of the train / test split (0: all). */
  nTrain: number;
  nTest: number;
  warmupRatio: number;
  /** Boundless: learning rate of the boundary (pyvene's tutorial: 1e-2). */
  boundaryLr: number;
  /** Boundless: weight of the boundary b ∈ [0, 1] added to the loss (pyvene's tutorial: 1). */
  boundaryPenalty: number;
  /** Boundless: the mask temperature goes linearly from start to end over training (pyvene: 50 → 0.1). */
  temperatureStart: number;
  temperatureEnd: number;
  /**
   * Frozen base computation reused across steps (see cache.ts): 'window' resumes at the layer and
   * runs only positions from the interchanged one on; 'layers' resumes at the layer over every
   * position; 'none' runs the whole model each step. Falls back to a smaller mode past a memory budget.
   */
  cache: DasCacheMode;
}

export const DAS_DEFAULTS: Omit<DasConfig, 'variable' | 'layer' | 'position'> = {
  component: 'block_output',
  variant: 'rotated',
  dim: 8,
  epochs: 5,
  lr: 1e-2,
  batchSize: 32,
  seed: 42,
  nTrain: 0,
  nTest: 0,
  warmupRatio: 0.1,
  boundaryLr: 1e-2,
  boundaryPenalty: 1,
  temperatureStart: 50,
  temperatureEnd: 0.1,
  cache: 'window',
};

export type DasConfigInput = Partial<DasConfig> & Pick<DasConfig, 'variable' | 'layer' | 'position'>;

/** Where a DAS intervention sits. */
export interface DasSite {
  layer: number;
  component: string;
  site: SiteName;
  head?: number;
  /** The task role (base role ↔ the same role in the source). */
  position: string;
  /** d: the width of the site's vectors. */
  width: number;
}

/** Interchange intervention accuracy on one split. */
export interface IiaResult {
  n: number;
  /** Fraction of pairs where the intervened model's best candidate answer is the counterfactual label. */
  iia: number;
  /**
   * The same over the pairs whose counterfactual label differs from the base input's own answer
   * (`baseline`: how often the model gives that label there with no intervention, i.e. errs on the base).
   */
  changed: { n: number; iia: number; baseline: number };
  /** The fraction the model gets "right" with no intervention at all (its own answer equals the label). */
  baseline: number;
}

/** IIA with no intervention: what the model scores against the counterfactual labels unaided. */
export interface IiaBaseline {
  iia: number;
  changedIia: number;
}

export interface DasSummary {
  method: 'das';
  task: string;
  variable: string;
  variant: DasVariant;
  /** The pyvene intervention class this variant mirrors. */
  pyveneClass: string;
  site: DasSite;
  dim: number;
  parameters: number;
  config: DasConfig;
  trainPairs: number;
  test: IiaResult;
  loss: { step: number; value: number }[];
  /** Boundless: the learned boundary. */
  boundary?: BoundaryReport;
  /** max |WᵀW − I| of the trained rotation. */
  orthonormalityError: number;
  epochMs: number[];
  /** The frozen computation actually reused (the configured mode, or a smaller one past the memory budget). */
  cacheMode: DasCacheMode;
}

export interface DasRun {
  summary: DasSummary;
  /** The trained intervention; the caller disposes it. */
  intervention: DasIntervention;
}

/** Fills defaults and checks every setting against the model and the task. */
export function resolveDasConfig(spec: ModelSpec, task: Pick<DasTask, 'name' | 'variables' | 'roles'>, cfgIn: DasConfigInput): { config: DasConfig; site: DasSite } {
  const config: DasConfig = { ...DAS_DEFAULTS, ...cfgIn };
  config.variant = resolveVariant(config.variant);
  checkVariable(task, config.variable);
  checkRole(task, config.position);
  checkLayer(spec, config.layer);
  const s = resolveComponent(spec, config.component);
  checkDim(config.dim, s.width);
  const positive = (name: keyof DasConfig, v: number, int: boolean, min: number) => {
    if (!Number.isFinite(v) || v < min || (int && !Number.isInteger(v))) {
      throw new SubspaceError('BAD_ARGUMENT', `${name} must be ${int ? 'a whole number' : 'a number'} ≥ ${min} (got ${v})`, name);
    }
  };
  positive('epochs', config.epochs, true, 1);
  positive('batchSize', config.batchSize, true, 1);
  positive('nTrain', config.nTrain, true, 0);
  positive('nTest', config.nTest, true, 0);
  positive('seed', config.seed, true, 0);
  if (!(config.lr > 0)) throw new SubspaceError('BAD_ARGUMENT', `learning rate must be positive (got ${config.lr})`, 'lr');
  if (!(config.boundaryLr > 0)) throw new SubspaceError('BAD_ARGUMENT', `boundary learning rate must be positive (got ${config.boundaryLr})`, 'boundaryLr');
  if (!(config.temperatureStart > 0 && config.temperatureEnd > 0)) throw new SubspaceError('BAD_ARGUMENT', 'mask temperatures must be positive', 'temperature');
  if (!DAS_CACHE_MODES.includes(config.cache)) throw new SubspaceError('BAD_ARGUMENT', `cache mode '${config.cache}' is not one of ${DAS_CACHE_MODES.join(', ')}`, 'cache');
  if (!(config.warmupRatio >= 0 && config.warmupRatio < 1)) throw new SubspaceError('BAD_ARGUMENT', `warmupRatio must be in [0, 1) (got ${config.warmupRatio})`, 'warmupRatio');
  return { config, site: { layer: config.layer, component: config.component, site: s.site, head: s.head, position: config.position, width: s.width } };
}

export function checkLayer(spec: ModelSpec, layer: number): void {
  if (!Number.isInteger(layer) || layer < 0 || layer >= spec.nLayers) {
    throw new SubspaceError('BAD_ARGUMENT', `layer ${layer} is out of range: the model has layers 0..${spec.nLayers - 1}`, 'layer');
  }
}

const firstN = <T>(xs: T[], n: number) => (n > 0 ? xs.slice(0, n) : xs);

/** The tokenised pairs of a split, limited to n (0: all). */
export function dasItems(tok: SubspaceTokenizer, task: DasTask, split: 'train' | 'test', variable: string, roles: readonly string[], n = 0): DasItem[] {
  return prepareDasItems(tok, firstN(task[split], n), variable, roles, `the ${split} split of '${task.name}'`);
}

/**
 * The source values at a site for every pair, at several layers and roles in one pass:
 * `layer|role` → [N, d]. One forward per batch of source prompts, stopping after the last layer read.
 */
export function sourceValues(model: Transformer, items: DasItem[], site: Pick<DasSite, 'site' | 'head'>, layers: number[], roles: string[], batchSize = 64): Map<string, tf.Tensor2D> {
  const parts = new Map<string, tf.Tensor2D[]>();
  const pad = padIdOf(model);
  const stop = Math.max(...layers) + 1;
  for (let i = 0; i < items.length; i += batchSize) {
    const chunk = items.slice(i, i + batchSize);
    const { ids, mask, T } = padSequences(chunk.map((x) => x.source), pad);
    const reads = layers.map((layer) => ({ site: site.site, layer, head: site.head }));
    const r = model.forward({ inputIds: ids, attentionMask: mask }, { read: reads, stopBefore: stop });
    tf.tidy(() => {
      layers.forEach((layer) => {
        const v = r.sites[siteKey({ site: site.site, layer, head: site.head })];
        const width = v.shape[v.rank - 1]!;
        const flat = tf.reshape(v, [chunk.length * T, width]);
        for (const role of roles) {
          const rows = tf.gather(flat, tf.tensor1d(chunk.map((x, b) => b * T + x.sourcePositions[role]), 'int32')) as tf.Tensor2D;
          const k = `${layer}|${role}`;
          parts.set(k, [...(parts.get(k) ?? []), tf.keep(rows)]);
        }
      });
    });
    tf.dispose([...Object.values(r.sites), r.residual!]);
  }
  const out = new Map<string, tf.Tensor2D>();
  for (const [k, xs] of parts) {
    out.set(k, xs.length === 1 ? xs[0] : (tf.concat(xs, 0) as tf.Tensor2D));
    if (xs.length > 1) tf.dispose(xs);
  }
  return out;
}

/** What one site's training and scoring read: the pairs, their source values there, the frozen base computation. */
export interface DasSplit {
  items: DasItem[];
  /** [N, d] source values at the site (row i for pair i). */
  source: tf.Tensor2D;
  /** Frozen base computation over `baseSequence` of each pair, holding at least the site's layer. */
  cache?: DasBaseCache;
}

/** What the base run reads: the prompt and every label token but the last (whose prediction nothing uses). */
export function baseSequence(item: DasItem): number[] {
  return [...item.base, ...item.label.slice(0, -1)];
}

/** Frozen computation below 256 Mi floats (1 GiB). */
const CACHE_BUDGET_FLOATS = 256 * 1024 * 1024;

/** The largest cache mode up to `mode` that fits the memory budget. */
export function fittingCacheMode(spec: ModelSpec, mode: DasCacheMode, layers: number[], items: DasItem[][]): DasCacheMode {
  const lengths = items.flat().map((x) => baseSequence(x).length);
  const order: DasCacheMode[] = ['window', 'layers', 'none'];
  for (const m of order.slice(order.indexOf(mode))) if (DasBaseCache.floats(spec, m, layers, lengths) <= CACHE_BUDGET_FLOATS) return m;
  return 'none';
}

/** The base cache for these pairs at these layers, or undefined for mode 'none'. */
export function baseCache(model: Transformer, items: DasItem[], layers: number[], mode: DasCacheMode): DasBaseCache | undefined {
  if (mode === 'none') return undefined;
  return new DasBaseCache(model, items.map(baseSequence), layers, mode, padIdOf(model));
}

/** The edit that interchanges the source rows into the base at each pair's role position. */
export function dasEdit(site: DasSite, basePositions: number[], source: tf.Tensor, intervention: DasIntervention): SiteEdit {
  return {
    site: site.site,
    layer: site.layer,
    head: site.head,
    positions: basePositions.map((p) => [p]),
    apply: (v: tf.Tensor) => {
      if (v.shape[0] !== source.shape[0]) {
        throw new SubspaceError('SHAPE_MISMATCH', `base and source batches differ in size: ${v.shape[0]} base sequences but ${source.shape[0]} source values`, 'source');
      }
      return intervention.apply(v, tf.reshape(source, v.shape));
    },
  };
}

/**
 * Several sites of one layer trained or scored together: the pairs are the same for every site,
 * each site has its own source values, and one forward carries one block of rows per site. The
 * sites' interventions touch disjoint rows, so each one's loss, gradient and predictions are
 * those of training it alone; the number of forwards drops by the number of sites.
 */
export interface DasCells {
  items: DasItem[];
  /** Frozen base computation over `baseSequence` of each pair, holding the sites' layer. */
  cache?: DasBaseCache;
  /** All at one layer. */
  sites: DasSite[];
  /** Per site, [N, d] source values (row i for pair i). */
  sources: tf.Tensor2D[];
}

function checkCells(data: DasCells): void {
  const n = data.items.length;
  if (data.sites.length === 0 || data.sites.length !== data.sources.length) {
    throw new SubspaceError('BAD_ARGUMENT', `give one source tensor per site (${data.sites.length} sites, ${data.sources.length} sources)`, 'sources');
  }
  if (data.sites.some((s) => s.layer !== data.sites[0].layer)) throw new SubspaceError('BAD_ARGUMENT', 'sites trained together must share a layer', 'layer');
  for (const src of data.sources) {
    if (src.shape[0] !== n) throw new SubspaceError('SHAPE_MISMATCH', `base and source batches differ in size: ${n} base pairs but ${src.shape[0]} source values`, 'source');
  }
}

/**
 * One forward's inputs for these pairs, one block of rows per site (row c·B + k is pair idx[k] for
 * site c): from the cache when there is one, each row shifted by its window's start.
 */
function cellsBatch(model: Transformer, data: DasCells, idx: number[]) {
  const layer = data.sites[0].layer;
  const rowsIdx = data.sites.flatMap(() => idx);
  const items = rowsIdx.map((i) => data.items[i]);
  const edited = data.sites.flatMap((site) => idx.map((i) => data.items[i].basePositions[site.position]));
  if (data.cache) {
    const b = data.cache.batch(rowsIdx, layer, edited);
    return { ids: b.ids, mask: b.mask, start: { layer, residual: b.residual }, cache: b.cache, shift: b.starts, edited, items, dispose: b.dispose };
  }
  const { ids, mask } = padSequences(items.map(baseSequence), padIdOf(model));
  return {
    ids,
    mask,
    start: undefined,
    cache: undefined,
    shift: items.map(() => 0),
    edited,
    items,
    dispose: () => {},
  };
}

/** Per site, the edit over its own block of rows (position −1, no edit, on the other blocks). */
function cellEdits(data: DasCells, interventions: DasIntervention[], idx: number[], b: { edited: number[]; shift: number[] }): { edits: SiteEdit[]; dispose(): void } {
  const B = idx.length;
  const C = data.sites.length;
  const R = B * C;
  const sources = data.sources.map((src) => tf.tidy(() => tf.gather(src, tf.tensor1d(idx, 'int32'))));
  const edits = data.sites.map((site, c): SiteEdit => ({
    site: site.site,
    layer: site.layer,
    head: site.head,
    positions: Array.from({ length: R }, (_, r) => [Math.floor(r / B) === c ? b.edited[r] - b.shift[r] : -1]),
    apply: (v: tf.Tensor) => {
      const width = v.shape[v.rank - 1]!;
      if (C === 1) return interventions[c].apply(v, tf.reshape(sources[c], v.shape));
      const block = interventions[c].apply(tf.slice(v, [c * B, 0, 0], [B, 1, width]), tf.reshape(sources[c], [B, 1, width]));
      const parts: tf.Tensor[] = [];
      if (c > 0) parts.push(tf.slice(v, [0, 0, 0], [c * B, 1, width]));
      parts.push(block);
      if (c < C - 1) parts.push(tf.slice(v, [(c + 1) * B, 0, 0], [R - (c + 1) * B, 1, width]));
      return tf.concat(parts, 0);
    },
  }));
  return { edits, dispose: () => tf.dispose(sources) };
}

/** pyvene's schedule: linear from the start to the end temperature over the training steps (exact at both ends). */
export function annealedTemperature(cfg: Pick<DasConfig, 'temperatureStart' | 'temperatureEnd'>, step: number, total: number): number {
  if (step >= total - 1) return cfg.temperatureEnd;
  return cfg.temperatureStart + ((cfg.temperatureEnd - cfg.temperatureStart) * step) / (total - 1);
}

interface FitState {
  clock?: ProgressClock;
  /** Added to the step reported in progress (a search reports one step count over all its sites). */
  stepOffset?: number;
}

export interface DasFit {
  intervention: DasIntervention;
  /** Per step: the cross-entropy of the counterfactual label (plus, for boundless, the boundary penalty). */
  loss: { step: number; value: number }[];
  epochMs: number[];
}

/**
 * Trains one intervention per site (all at one layer, on the same pairs in the same seeded
 * batches). Progress ticks count one step per site.
 */
export function fitDasCells(model: Transformer, cfg: DasConfig, data: DasCells, state: FitState = {}): DasFit[] {
  checkCells(data);
  const C = data.sites.length;
  const interventions: DasIntervention[] = [];
  const optimizers: { opt: AdamW; boundary: boolean }[] = [];
  const fits: DasFit[] = [];
  const stepsPerEpoch = Math.ceil(data.items.length / cfg.batchSize);
  const total = stepsPerEpoch * cfg.epochs;
  const warmup = Math.round(total * cfg.warmupRatio);
  let step = 0;
  try {
    for (const site of data.sites) {
      const iv = new DasIntervention(cfg.variant, { width: site.width, dim: cfg.dim, seed: cfg.seed });
      interventions.push(iv);
      optimizers.push({ opt: new AdamW([iv.rotation]), boundary: false });
      if (iv.boundary) optimizers.push({ opt: new AdamW([iv.boundary]), boundary: true });
      fits.push({ intervention: iv, loss: [], epochMs: [] });
    }
    const vars = interventions.flatMap((iv) => iv.variables);
    for (let epoch = 0; epoch < cfg.epochs; epoch++) {
      const t0 = performance.now();
      for (const idx of epochBatches(data.items.length, cfg.batchSize, cfg.seed, epoch)) {
        for (const iv of interventions) if (iv.boundary) iv.temperature = annealedTemperature(cfg, step, total);
        const B = idx.length;
        const b = cellsBatch(model, data, idx);
        const e = cellEdits(data, interventions, idx, b);
        const P = Math.max(...b.items.map((x) => x.label.length));
        const positions = b.items.map((x, r) => Array.from({ length: P }, (_, j) => (j < x.label.length ? x.base.length - 1 + j - b.shift[r] : -1)));
        const targets = b.items.map((x) => Array.from({ length: P }, (_, j) => (j < x.label.length ? x.label[j] : -1)));
        const perSite: tf.Scalar[] = [];
        const run = () => {
          const r = model.forward({ inputIds: b.ids, attentionMask: b.mask }, { edits: e.edits, start: b.start, cache: b.cache, cacheReadOnly: true, logits: { positions } });
          const parts = interventions.map((iv, c) => {
            let loss = completionLoss(C === 1 ? r.logits! : tf.slice(r.logits!, [c * B, 0, 0], [B, -1, -1]), targets.slice(c * B, (c + 1) * B));
            if (iv.boundary && cfg.boundaryPenalty !== 0) loss = tf.add(loss, tf.mul(tf.sum(tf.clipByValue(iv.boundary, 1e-3, 1)), cfg.boundaryPenalty));
            perSite.push(tf.keep(loss));
            return loss;
          });
          return (parts.length === 1 ? parts[0] : tf.addN(parts)) as tf.Scalar;
        };
        let value: tf.Scalar;
        let grads: tf.NamedTensorMap;
        try {
          ({ value, grads } = tf.variableGrads(run, vars));
        } finally {
          e.dispose();
          b.dispose();
        }
        const v = value.dataSync()[0];
        const values = perSite.map((x) => x.dataSync()[0]);
        tf.dispose(perSite);
        if (!Number.isFinite(v)) {
          tf.dispose([value, ...Object.values(grads)]);
          throw new SubspaceError('INTERNAL', `DAS training diverged: the loss became ${v} at step ${step}; lower the learning rate (now ${cfg.lr})`, 'lr');
        }
        const lr = warmupLinear(step, total, warmup, cfg.lr);
        const boundaryLr = warmupLinear(step, total, warmup, cfg.boundaryLr);
        for (const o of optimizers) o.opt.step(grads, o.boundary ? boundaryLr : lr);
        tf.dispose([value, ...Object.values(grads)]);
        for (const iv of interventions) iv.afterStep();
        fits.forEach((f, c) => f.loss.push({ step, value: values[c] }));
        step++;
        state.clock?.tick((state.stepOffset ?? 0) + step * C, { loss: values.reduce((a, x) => a + x, 0) / C });
      }
      const ms = performance.now() - t0;
      for (const f of fits) f.epochMs.push(ms / C);
    }
  } catch (e) {
    for (const iv of interventions) iv.dispose();
    throw e;
  } finally {
    for (const o of optimizers) o.opt.dispose();
  }
  return fits;
}

/** Trains one intervention on prepared data. */
export function fitDas(model: Transformer, site: DasSite, cfg: DasConfig, train: DasSplit, state: FitState = {}): DasFit {
  return fitDasCells(model, cfg, { items: train.items, cache: train.cache, sites: [site], sources: [train.source] }, state)[0];
}

/** Per pair, the index of the best-scoring candidate (summed log-probability) with no intervention. */
function ownChoices(model: Transformer, items: DasItem[], batchSize: number): number[] {
  const pad = padIdOf(model);
  const chosen: number[] = [];
  for (let i = 0; i < items.length; i += batchSize) {
    const chunk = items.slice(i, i + batchSize);
    const rows = chunk.flatMap((x, j) => x.candidates.map((_, ci) => ({ j, ci })));
    const b = supervisedBatch(rows.map(({ j, ci }) => ({ prompt: chunk[j].base, completion: chunk[j].candidates[ci] })), pad);
    const r = model.forward({ inputIds: b.ids, attentionMask: b.mask }, { logits: { positions: b.targetPositions } });
    const lp = tf.tidy(() => targetLogProbs(r.logits!, b.targets));
    const scores = lp.dataSync();
    tf.dispose([lp, r.logits!]);
    chosen.push(...bestPerPair(rows, scores, chunk.length));
  }
  return chosen;
}

function bestPerPair(rows: { j: number; ci: number }[], scores: ArrayLike<number>, n: number): number[] {
  const best = new Array<number>(n).fill(-1);
  const top = new Array<number>(n).fill(-Infinity);
  rows.forEach(({ j, ci }, k) => {
    if (scores[k] > top[j]) {
      top[j] = scores[k];
      best[j] = ci;
    }
  });
  return best;
}

function iiaOf(items: DasItem[], chosen: number[], baseline: IiaBaseline): IiaResult {
  let hit = 0;
  let changed = 0;
  let changedHit = 0;
  items.forEach((x, j) => {
    const ok = chosen[j] === x.labelIndex;
    hit += ok ? 1 : 0;
    if (x.labelIndex !== x.baseIndex) {
      changed++;
      changedHit += ok ? 1 : 0;
    }
  });
  return { n: items.length, iia: hit / items.length, changed: { n: changed, iia: changed ? changedHit / changed : 0, baseline: baseline.changedIia }, baseline: baseline.iia };
}

/** IIA with no intervention, overall and on the pairs whose label differs from the base answer. */
export function noInterventionIia(model: Transformer, items: DasItem[], batchSize = 64): IiaBaseline {
  const r = iiaOf(items, ownChoices(model, items, batchSize), { iia: 0, changedIia: 0 });
  return { iia: r.iia, changedIia: r.changed.iia };
}

/**
 * IIA per site: the fraction of pairs where, with that site's intervention, the model's best
 * candidate answer (one-token answers: the highest logit at the last prompt token; longer answers:
 * the highest summed log-probability) is the counterfactual label.
 */
export function interchangeAccuracyCells(model: Transformer, data: DasCells, interventions: DasIntervention[], opts: { batchSize?: number; baseline?: IiaBaseline } = {}): IiaResult[] {
  checkCells(data);
  const { items } = data;
  const batchSize = opts.batchSize ?? 64;
  const C = data.sites.length;
  const chosen = data.sites.map(() => new Array<number>(items.length).fill(-1));
  const oneToken = items.every((x) => x.candidates.every((c) => c.length === 1));
  for (let i = 0; i < items.length; i += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, items.length - i) }, (_, k) => i + k);
    const B = idx.length;
    if (oneToken) {
      const b = cellsBatch(model, data, idx);
      const e = cellEdits(data, interventions, idx, b);
      let r: ReturnType<Transformer['forward']>;
      try {
        r = model.forward({ inputIds: b.ids, attentionMask: b.mask }, { edits: e.edits, start: b.start, cache: b.cache, cacheReadOnly: true, logits: { positions: b.items.map((x, k) => [x.base.length - 1 - b.shift[k]]) } });
      } finally {
        e.dispose();
        b.dispose();
      }
      const V = model.spec.vocabSize;
      const logits = r.logits!.dataSync();
      r.logits!.dispose();
      b.items.forEach((x, row) => {
        const rows = x.candidates.map((_, ci) => ({ j: 0, ci }));
        chosen[Math.floor(row / B)][idx[row % B]] = bestPerPair(rows, x.candidates.map((c) => logits[row * V + c[0]]), 1)[0];
      });
    } else {
      // Every (pair, candidate) as its own sequence, one site at a time; the edit sits inside the prompt.
      const pad = padIdOf(model);
      const rows = idx.flatMap((j, k) => items[j].candidates.map((_, ci) => ({ j: k, ci })));
      const b = supervisedBatch(rows.map(({ j, ci }) => ({ prompt: items[idx[j]].base, completion: items[idx[j]].candidates[ci] })), pad);
      for (let c = 0; c < C; c++) {
        const site = data.sites[c];
        const src = tf.tidy(() => tf.gather(data.sources[c], tf.tensor1d(rows.map((x) => idx[x.j]), 'int32')));
        let lp: tf.Tensor;
        try {
          const edit = dasEdit(site, rows.map((x) => items[idx[x.j]].basePositions[site.position]), src, interventions[c]);
          const r = model.forward({ inputIds: b.ids, attentionMask: b.mask }, { edits: [edit], logits: { positions: b.targetPositions } });
          lp = tf.tidy(() => targetLogProbs(r.logits!, b.targets));
          r.logits!.dispose();
        } finally {
          src.dispose();
        }
        const scores = lp.dataSync();
        lp.dispose();
        bestPerPair(rows, scores, B).forEach((ci, k) => (chosen[c][idx[k]] = ci));
      }
    }
  }
  const baseline = opts.baseline ?? noInterventionIia(model, items, batchSize);
  return chosen.map((ch) => iiaOf(items, ch, baseline));
}

/** IIA of one site's intervention; `intervention` null scores the model as it is. */
export function interchangeAccuracy(model: Transformer, site: DasSite, data: DasSplit, intervention: DasIntervention | null, opts: { batchSize?: number; baseline?: IiaBaseline } = {}): IiaResult {
  const cells: DasCells = { items: data.items, cache: data.cache, sites: [site], sources: [data.source] };
  checkCells(cells);
  if (!intervention) {
    const r = iiaOf(data.items, ownChoices(model, data.items, opts.batchSize ?? 64), { iia: 0, changedIia: 0 });
    return { ...r, changed: { ...r.changed, baseline: r.changed.iia }, baseline: r.iia };
  }
  return interchangeAccuracyCells(model, cells, [intervention], opts)[0];
}

/**
 * Trains DAS at one site on the task's train split and scores IIA on its test split.
 * Progress reports phase 'das' with the loss per step, then the test IIA.
 */
export function trainDas(model: Transformer, tok: SubspaceTokenizer, task: DasTask, cfgIn: DasConfigInput, hooks: RunHooks = {}): DasRun {
  const { config: cfg, site } = resolveDasConfig(model.spec, task, cfgIn);
  const trainItems = dasItems(tok, task, 'train', cfg.variable, [cfg.position], cfg.nTrain);
  const testItems = dasItems(tok, task, 'test', cfg.variable, [cfg.position], cfg.nTest);
  const total = Math.ceil(trainItems.length / cfg.batchSize) * cfg.epochs;
  const clock = new ProgressClock(hooks, 'das', total);
  const key = `${cfg.layer}|${cfg.position}`;
  const owned: { dispose(): void }[] = [];
  try {
    const srcTrain = sourceValues(model, trainItems, site, [cfg.layer], [cfg.position]).get(key)!;
    owned.push(srcTrain);
    const srcTest = sourceValues(model, testItems, site, [cfg.layer], [cfg.position]).get(key)!;
    owned.push(srcTest);
    const mode = fittingCacheMode(model.spec, cfg.cache, [cfg.layer], [trainItems, testItems]);
    const train: DasSplit = { items: trainItems, source: srcTrain, cache: baseCache(model, trainItems, [cfg.layer], mode) };
    if (train.cache) owned.push(train.cache);
    const test: DasSplit = { items: testItems, source: srcTest, cache: baseCache(model, testItems, [cfg.layer], mode) };
    if (test.cache) owned.push(test.cache);
    const fit = fitDas(model, site, cfg, train, { clock });
    try {
      const iia = interchangeAccuracy(model, site, test, fit.intervention);
      clock.tick(total, { iia: iia.iia });
      return { summary: summarize(task.name, site, cfg, mode, trainItems.length, iia, fit), intervention: fit.intervention };
    } catch (e) {
      fit.intervention.dispose();
      throw e;
    }
  } finally {
    for (const o of owned) o.dispose();
  }
}

export function summarize(taskName: string, site: DasSite, cfg: DasConfig, cacheMode: DasCacheMode, trainPairs: number, test: IiaResult, fit: { intervention: DasIntervention; loss: { step: number; value: number }[]; epochMs: number[] }): DasSummary {
  const out: DasSummary = {
    method: 'das',
    task: taskName,
    variable: cfg.variable,
    variant: cfg.variant,
    pyveneClass: PYVENE_CLASS[cfg.variant],
    site,
    dim: cfg.dim,
    parameters: dasParameterCount(cfg.variant, site.width, cfg.dim),
    config: { ...cfg },
    trainPairs,
    test,
    loss: fit.loss,
    orthonormalityError: fit.intervention.orthonormalityError(),
    epochMs: fit.epochMs,
    cacheMode,
  };
  const boundary = fit.intervention.boundaryReport();
  if (boundary) out.boundary = boundary;
  return out;
}

/** IIA of an intervention (e.g. one loaded from an export) on a split of the task. */
export function evaluateDas(model: Transformer, tok: SubspaceTokenizer, task: DasTask, cfgIn: DasConfigInput, intervention: DasIntervention, split: 'train' | 'test' = 'test'): IiaResult {
  const { config: cfg, site } = resolveDasConfig(model.spec, task, cfgIn);
  if (intervention.width !== site.width) {
    throw new SubspaceError('SHAPE_MISMATCH', `the intervention edits vectors of width ${intervention.width} but ${cfg.component} has width ${site.width}`, 'component');
  }
  const items = dasItems(tok, task, split, cfg.variable, [cfg.position], split === 'test' ? cfg.nTest : cfg.nTrain);
  const src = sourceValues(model, items, site, [cfg.layer], [cfg.position]).get(`${cfg.layer}|${cfg.position}`)!;
  try {
    return interchangeAccuracy(model, site, { items, source: src }, intervention);
  } finally {
    src.dispose();
  }
}
