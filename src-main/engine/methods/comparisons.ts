/**
 * The comparisons that say whether LoFIT's localisation matters, each with LoFIT's step 2 unchanged
 * (same K, same tuning settings, only the head list differs):
 * - head sources: LoFIT's step 1, random heads (several seeds), ITI's probe ranking, all heads;
 * - cross-task transfer: step 2 on task A with the heads selected on task B, for every pair;
 * - accuracy against K: step 2 on the top K of one step-1 ranking, for a list of K.
 * Scores are on the test split: accuracy for completion tasks, MC1 (the correct answer outscores
 * every wrong one) for multiple-choice tasks.
 */
import { SubspaceError } from '../errors.js';
import type { SubspaceTokenizer } from '../io/tokenizer.js';
import type { ModelSpec } from '../model/config.js';
import type { Transformer } from '../model/transformer.js';
import type { TaskExample } from '../tasks/schema.js';
import { seededRandom } from '../random.js';
import type { EvalResult } from '../eval/evaluate.js';
import { evaluateLofit, lofitTune, type LofitTuneConfig, type LofitTuneResult } from './lofit.js';
import { resolveK, totalHeads, validateHeads, type HeadRef, type KSpec } from './heads.js';
import type { RunHooks } from './progress.js';

export interface TaskData {
  train: TaskExample[];
  dev: TaskExample[];
  test: TaskExample[];
}

/** The number a comparison reports: MC1 for multiple-choice tasks, accuracy otherwise. */
export function taskMetric(r: EvalResult, multipleChoice: boolean): number {
  return multipleChoice ? r.preferCorrect : r.accuracy;
}

/** K heads drawn uniformly without replacement (seeded), listed in (layer, head) order. */
export function randomHeads(spec: Pick<ModelSpec, 'nLayers' | 'nHeads'>, k: KSpec, seed: number): HeadRef[] {
  const kk = resolveK(k, spec);
  if (!Number.isFinite(seed)) throw new SubspaceError('BAD_ARGUMENT', `seed must be a finite number (got ${seed})`, 'seed');
  const N = totalHeads(spec);
  const rand = seededRandom(Math.trunc(seed) >>> 0);
  const order = Array.from({ length: N }, (_, i) => i);
  for (let i = 0; i < kk; i++) {
    const j = i + Math.floor(rand() * (N - i));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order
    .slice(0, kk)
    .sort((a, b) => a - b)
    .map((i) => [Math.floor(i / spec.nHeads), i % spec.nHeads] as HeadRef);
}

/** Every head of the model, (layer, head) order. */
export function allHeads(spec: Pick<ModelSpec, 'nLayers' | 'nHeads'>): HeadRef[] {
  return Array.from({ length: totalHeads(spec) }, (_, i) => [Math.floor(i / spec.nHeads), i % spec.nHeads] as HeadRef);
}

export interface TunedScore {
  label: string;
  heads: HeadRef[];
  /** K · d_head. */
  parameters: number;
  test: EvalResult;
  /** taskMetric of `test`. */
  metric: number;
  bestEpoch: number;
  seconds: number;
  /** The trained offsets, one per head of `heads` (to score them on other examples). */
  offsets: Float32Array[];
}

/** LoFIT's step 2 on the given heads, scored on the test split. */
export function tuneAndScore(model: Transformer, tok: SubspaceTokenizer, data: TaskData, heads: HeadRef[], label: string, cfg: Partial<LofitTuneConfig> = {}, hooks: RunHooks = {}): TunedScore & { tune: LofitTuneResult } {
  validateHeads(heads, model.spec);
  const mc = cfg.multipleChoice ?? false;
  const t0 = performance.now();
  const tune = lofitTune(model, tok, { train: data.train, dev: data.dev }, heads, cfg, hooks);
  const test = evaluateLofit(model, tok, data.test, tune, mc);
  return { label, heads, parameters: tune.parameters, test, metric: taskMetric(test, mc), bestEpoch: tune.bestEpoch, seconds: (performance.now() - t0) / 1000, offsets: tune.offsets, tune };
}

export function meanSd(xs: number[]): { mean: number; sd: number } {
  if (xs.length === 0) return { mean: NaN, sd: NaN };
  const mean = xs.reduce((a, v) => a + v, 0) / xs.length;
  // Sample standard deviation (n − 1); 0 for a single value.
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, v) => a + (v - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, sd };
}

export interface SelectionComparison {
  k: number;
  rows: TunedScore[];
  /** The random-head rows summarised over seeds. */
  random: { seeds: number[]; mean: number; sd: number };
}

/**
 * Step 2 with the same K and settings on each head list: the given named lists (e.g. LoFIT's and
 * ITI's top K), random heads for each seed, and optionally all heads.
 */
export function compareHeadSources(
  model: Transformer,
  tok: SubspaceTokenizer,
  data: TaskData,
  opts: { k: KSpec; named: { label: string; heads: HeadRef[] }[]; randomSeeds: number[]; allHeads?: boolean; tune?: Partial<LofitTuneConfig> },
  hooks: RunHooks = {},
): SelectionComparison {
  const k = resolveK(opts.k, model.spec);
  for (const s of opts.named) {
    if (s.heads.length !== k) throw new SubspaceError('BAD_ARGUMENT', `the ${s.label} heads list has ${s.heads.length} heads, the comparison uses K = ${k}`, 'heads');
  }
  const rows: TunedScore[] = [];
  const strip = (x: TunedScore & { tune: LofitTuneResult }): TunedScore => {
    const { tune: _tune, ...rest } = x;
    return rest;
  };
  for (const s of opts.named) rows.push(strip(tuneAndScore(model, tok, data, s.heads, s.label, opts.tune, hooks)));
  const randomMetrics: number[] = [];
  for (const seed of opts.randomSeeds) {
    const r = strip(tuneAndScore(model, tok, data, randomHeads(model.spec, k, seed), `random (seed ${seed})`, opts.tune, hooks));
    rows.push(r);
    randomMetrics.push(r.metric);
  }
  if (opts.allHeads) rows.push(strip(tuneAndScore(model, tok, data, allHeads(model.spec), 'all heads', opts.tune, hooks)));
  return { k, rows, random: { seeds: opts.randomSeeds, ...meanSd(randomMetrics) } };
}

export interface TransferMatrix {
  tasks: string[];
  /** metric[a][b]: step 2 trained and scored on task a with the heads selected on task b. */
  metric: number[][];
  parameters: number;
}

/** Step 2 on every task with every task's head selection (the diagonal is ordinary LoFIT). */
export function transferMatrix(
  model: Transformer,
  tok: SubspaceTokenizer,
  tasks: { name: string; data: TaskData; multipleChoice: boolean; heads: HeadRef[] }[],
  tune: Partial<LofitTuneConfig> = {},
  hooks: RunHooks = {},
  /** Already measured diagonal entries (each task with its own heads), to skip those runs. */
  diagonal?: number[],
): TransferMatrix {
  if (tasks.length === 0) throw new SubspaceError('BAD_ARGUMENT', 'no tasks for the transfer matrix', 'tasks');
  const k = tasks[0].heads.length;
  for (const t of tasks) {
    validateHeads(t.heads, model.spec, `${t.name} heads`);
    if (t.heads.length !== k) throw new SubspaceError('BAD_ARGUMENT', `every task's selection needs the same K (${tasks[0].name}: ${k}, ${t.name}: ${t.heads.length})`, 'heads');
  }
  if (diagonal && diagonal.length !== tasks.length) throw new SubspaceError('BAD_ARGUMENT', `${diagonal.length} diagonal entries for ${tasks.length} tasks`, 'diagonal');
  const metric = tasks.map((a, i) =>
    tasks.map((b, j) => (i === j && diagonal ? diagonal[i] : tuneAndScore(model, tok, a.data, b.heads, `${a.name} ← ${b.name}`, { ...tune, multipleChoice: a.multipleChoice }, hooks).metric)),
  );
  return { tasks: tasks.map((t) => t.name), metric, parameters: k * model.spec.dHead };
}

export interface KSweepRow {
  k: number;
  parameters: number;
  /** Step 2 on the top K of the ranking. */
  metric: number;
  /** Step 2 on K random heads (one seed), when asked for. */
  random?: number;
}

/** Step 2 on the top K of one ranking for each K (the ranking is computed once, by step 1). */
export function accuracyVsK(model: Transformer, tok: SubspaceTokenizer, data: TaskData, ranked: HeadRef[], ks: number[], opts: { tune?: Partial<LofitTuneConfig>; randomSeed?: number } = {}, hooks: RunHooks = {}): KSweepRow[] {
  if (ks.length === 0) throw new SubspaceError('BAD_ARGUMENT', 'no K values to sweep', 'k');
  validateHeads(ranked, model.spec, 'ranking');
  return ks.map((kIn) => {
    const k = resolveK(kIn, model.spec);
    if (k > ranked.length) throw new SubspaceError('BAD_ARGUMENT', `k = ${k} is more than the ${ranked.length} ranked heads`, 'k');
    const row: KSweepRow = { k, parameters: k * model.spec.dHead, metric: tuneAndScore(model, tok, data, ranked.slice(0, k), `top ${k}`, opts.tune, hooks).metric };
    if (opts.randomSeed !== undefined) row.random = tuneAndScore(model, tok, data, randomHeads(model.spec, k, opts.randomSeed), `random ${k}`, opts.tune, hooks).metric;
    return row;
  });
}
