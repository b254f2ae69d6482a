/**
 * Activation-patching sweeps: every (layer, position) of the residual stream,
 * attention or MLP outputs, or every (layer, head) of head outputs, in either
 * direction, scored by one metric.
 *
 * method 'exact' (exact.ts) puts many patched copies of the batch into one forward
 * (chunked by a memory budget) and reruns only what a patch can change: from the
 * patched layer on, from the patched position on, with the base run's residual and
 * its keys and values of the earlier positions reused; the last layer at the answer
 * position only; only the answer tokens' logits (final norm at the answer position,
 * then the unembedding rows of the answers alone).
 * method 'naive' is one plain forward per patch with full logits: the check and
 * the baseline. method 'attribution' is the first-order estimate of attribution.ts.
 */
import * as tf from '../tf.js';
import { SubspaceError } from '../errors.js';
import type { SubspaceTokenizer } from '../io/tokenizer.js';
import type { SiteEdit, Transformer } from '../model/transformer.js';
import { ProgressClock, type RunHooks } from '../methods/progress.js';
import type { TaskExample } from '../tasks/schema.js';
import { attributionValues } from './attribution.js';
import { exactPatch, groupKey, groupReads } from './exact.js';
import { buildGrid, nest, type Grid, type SweepKind } from './grid.js';
import { interchangeEdit, padIdOf, runScores } from './interchange.js';
import { AnswerReadout, aggregate, checkMetric, type PatchMetric, type Reference, type RowScore } from './metrics.js';
import { PATCH_DIRECTIONS, commonRoles, padBatch, preparePairs, sides, targets, type PaddedBatch, type PatchDirection, type PatchPair } from './pairs.js';

export const SWEEP_METHODS = ['exact', 'naive', 'attribution'] as const;
export type SweepMethod = (typeof SWEEP_METHODS)[number];

export interface SweepOptions {
  kind: SweepKind;
  /** Default 'denoise'. */
  direction?: PatchDirection;
  /** Default 'exact'. */
  method?: SweepMethod;
  /** Default 'logit-diff'. */
  metric?: PatchMetric;
  /** Heads sweep: one value per (layer, head, position) instead of patching all positions at once. */
  perPosition?: boolean;
  /** The position axis: 'index' or role names; default the roles every pair defines (task roles first), else 'index'. */
  positions?: 'index' | readonly string[];
  /** The residual-stream site of the resid sweep; default block_output. */
  residSite?: 'block_output' | 'block_input';
  layers?: readonly number[];
  heads?: readonly number[];
  /** A causal variable: probability and accuracy then target its counterfactual label (direction noise). */
  variable?: string;
  taskName?: string;
  /** Preferred order of roles on the position axis (a task manifest's roles). */
  taskRoles?: readonly string[];
  /** Budget for one batched forward's activations, in MiB (bounds the patched copies per forward); default 512. */
  memoryMiB?: number;
}

/** A sweep's figures, JSON-ready (NaN, where a metric is undefined, serialises as null). */
export interface SweepResult {
  kind: SweepKind;
  site: string;
  method: SweepMethod;
  direction: PatchDirection;
  metric: PatchMetric;
  perPosition: boolean;
  variable?: string;
  /** Pairs patched. */
  n: number;
  layers: number[];
  heads?: number[];
  positions?: string[];
  /**
   * The metric of the patched run per patch: [layer][head] (heads), [layer][head][position]
   * (heads per position) or [layer][position]. Attribution gives its estimate of the same.
   */
  values: any[];
  /** The metric without any patch, on the run that is patched (corrupt for denoise, clean for noise). */
  unpatched: number;
  /** The metric on the clean and on the corrupt run. */
  clean: number;
  corrupt: number;
  /**
   * forwards: model forward calls (one may run only some layers, or some positions);
   * tokenLayers: token positions run through a layer, over every row of every forward (padding
   * included), the measure of the work done; each layer costs about the same per token.
   */
  stats: { patches: number; forwards: number; backwards: number; maxRowsPerForward: number; ms: number; tokenLayers?: number };
  warnings: string[];
}

interface Context {
  model: Transformer;
  pairs: PatchPair[];
  direction: PatchDirection;
  metric: PatchMetric;
  base: PaddedBatch;
  source: PaddedBatch;
  readout: AnswerReadout;
  full: boolean;
}

/** A sweep on task examples (each needs a `source`). Synchronous; progress and cancellation through `hooks`. */
export function patchSweep(model: Transformer, tok: SubspaceTokenizer, examples: readonly TaskExample[], opts: SweepOptions, hooks: RunHooks = {}): SweepResult {
  const pairs = preparePairs(tok, examples, { variable: opts.variable, taskName: opts.taskName });
  return patchSweepPairs(model, pairs, opts, hooks);
}

/** A sweep on prepared pairs. */
export function patchSweepPairs(model: Transformer, pairs: PatchPair[], opts: SweepOptions, hooks: RunHooks = {}): SweepResult {
  const t0 = performance.now();
  const direction = opts.direction ?? 'denoise';
  if (!PATCH_DIRECTIONS.includes(direction)) throw new SubspaceError('BAD_ARGUMENT', `direction must be denoise or noise (got '${String(direction)}')`, 'direction');
  const method = opts.method ?? 'exact';
  if (!(SWEEP_METHODS as readonly string[]).includes(method)) throw new SubspaceError('BAD_ARGUMENT', `unknown method '${String(method)}' (known: ${SWEEP_METHODS.join(', ')})`, 'method');
  const metric = checkMetric(opts.metric ?? 'logit-diff');
  if (method === 'attribution' && metric === 'accuracy') {
    throw new SubspaceError('BAD_ARGUMENT', 'attribution needs a differentiable metric: use logit-diff, normalised or prob, not accuracy', 'metric');
  }
  if (opts.perPosition && opts.kind !== 'heads') throw new SubspaceError('BAD_ARGUMENT', `per-position applies to the heads sweep (${opts.kind} is always per position)`, 'perPosition');
  const { base: baseTokens, source: sourceTokens } = sides(pairs, direction);
  const tgt = targets(pairs, direction);
  const pad = padIdOf(model);
  const base = padBatch(baseTokens, pad);
  const source = padBatch(sourceTokens, pad);
  const warnings: string[] = [];
  const unequal = base.lengths.filter((l, i) => l !== source.lengths[i]).length;
  if (unequal > 0 && (opts.positions === 'index' || (opts.kind === 'heads' && !opts.perPosition))) {
    warnings.push(`${unequal} of ${pairs.length} pairs differ in length: positions align by index up to the shorter prompt`);
  }
  let positions = opts.positions;
  if (positions === undefined) {
    const roles = commonRoles(pairs, opts.taskRoles ?? []).filter((r) => r !== 'first' && r !== 'last');
    positions = roles.length ? roles : 'index';
  }
  const grid = buildGrid(model.spec, base, source, { ...opts, positions, taskName: opts.taskName });
  const full = metric === 'prob';
  const readout = new AnswerReadout(model, { correct: pairs.map((p) => p.answer), wrong: pairs.map((p) => p.wrong), target: tgt, candidates: pairs.map((p) => p.candidates) });
  const ctx: Context = { model, pairs, direction, metric, base, source, readout, full };
  try {
    const run = method === 'naive' ? naiveSweep : method === 'exact' ? exactSweep : attributionSweep;
    const r = run(ctx, grid, opts, hooks);
    const value = (rows: RowScore[]) => aggregate(metric, rows, r.ref);
    const clean = value(direction === 'denoise' ? r.sourceRows : r.baseRows);
    const corrupt = value(direction === 'denoise' ? r.baseRows : r.sourceRows);
    if (metric === 'normalised' && !Number.isFinite(clean)) warnings.push('the clean and corrupt runs have the same mean logit difference: the normalised effect is undefined');
    return {
      kind: opts.kind,
      site: grid.site,
      method,
      direction,
      metric,
      perPosition: opts.kind === 'heads' ? opts.perPosition === true : true,
      variable: opts.variable,
      n: pairs.length,
      layers: grid.layers,
      heads: grid.heads,
      positions: grid.positions,
      values: nest(r.values, grid.shape),
      unpatched: value(r.baseRows),
      clean,
      corrupt,
      stats: { patches: grid.cells.length, forwards: r.forwards, backwards: r.backwards, maxRowsPerForward: r.maxRows, ms: performance.now() - t0, tokenLayers: r.tokenLayers },
      warnings,
    };
  } finally {
    readout.dispose();
  }
}

interface RunOut {
  values: number[];
  baseRows: RowScore[];
  sourceRows: RowScore[];
  ref: Reference;
  forwards: number;
  tokenLayers: number;
  backwards: number;
  maxRows: number;
}

function reference(ctx: Context, baseRows: RowScore[], sourceRows: RowScore[]): Reference {
  const m = (rows: RowScore[]) => rows.reduce((a, r) => a + r.logitDiff, 0) / rows.length;
  return ctx.direction === 'denoise'
    ? { cleanLogitDiff: m(sourceRows), corruptLogitDiff: m(baseRows) }
    : { cleanLogitDiff: m(baseRows), corruptLogitDiff: m(sourceRows) };
}

// ---- naive: one plain forward per patch --------------------------------------------------------

function naiveSweep(ctx: Context, grid: Grid, _opts: SweepOptions, hooks: RunHooks): RunOut {
  const { model, base, source, readout } = ctx;
  const clock = new ProgressClock(hooks, 'patch (naive)', grid.cells.length);
  clock.tick(0);
  const src = runScores(model, source, readout, true, groupReads(grid.cells));
  const unpatched = runScores(model, base, readout, true);
  const ref = reference(ctx, unpatched.scores, src.scores);
  const values: number[] = [];
  const V = model.spec.vocabSize;
  const rows = base.lengths.map((_, b) => b);
  try {
    grid.cells.forEach((c, i) => {
      let sourceValue = src.sites[groupKey(c)];
      if (c.head !== undefined) sourceValue = tf.tidy(() => tf.squeeze(tf.slice(sourceValue, [0, 0, c.head!, 0], [-1, -1, 1, -1]), [2]));
      const edit: SiteEdit = interchangeEdit({ site: { site: c.site, layer: c.layer, head: c.head }, key: '', aligned: { base: c.base, source: c.source } }, sourceValue);
      const r = model.forward({ inputIds: base.ids, attentionMask: base.mask }, { edits: [edit], logits: 'all' });
      const all = r.logits!.dataSync();
      const T = base.T;
      const atAnswer = new Float32Array(rows.length * V);
      rows.forEach((b) => atAnswer.set(all.subarray((b * T + base.lengths[b] - 1) * V, (b * T + base.lengths[b]) * V), b * V));
      tf.dispose([r.logits!, ...Object.values(r.sites)]);
      if (c.head !== undefined) sourceValue.dispose();
      values.push(aggregate(ctx.metric, readout.scoresFromFullLogits(atAnswer, rows), ref));
      clock.tick(i + 1);
    });
  } finally {
    tf.dispose(Object.values(src.sites));
  }
  const L = model.spec.nLayers;
  const tokenLayers = (grid.cells.length + 1) * rows.length * base.T * L + rows.length * source.T * L;
  return { values, baseRows: unpatched.scores, sourceRows: src.scores, ref, forwards: grid.cells.length + 2, tokenLayers, backwards: 0, maxRows: rows.length };
}

// ---- exact: batched copies, shared prefix, answer-only unembedding (exact.ts) ---------------

function exactSweep(ctx: Context, grid: Grid, opts: SweepOptions, hooks: RunHooks): RunOut {
  const r = exactPatch(ctx.model, ctx.base, ctx.source, ctx.readout, ctx.full, grid.cells, opts.memoryMiB ?? 512, hooks);
  const ref = reference(ctx, r.baseRows, r.sourceRows);
  const values = r.rows.map((rows) => aggregate(ctx.metric, rows, ref));
  return { values, baseRows: r.baseRows, sourceRows: r.sourceRows, ref, forwards: r.forwards, tokenLayers: r.tokenLayers, backwards: 0, maxRows: r.maxRows };
}

// ---- attribution -----------------------------------------------------------------------------

function attributionSweep(ctx: Context, grid: Grid, _opts: SweepOptions, hooks: RunHooks): RunOut {
  const clock = new ProgressClock(hooks, 'patch (attribution)', 1);
  clock.tick(0);
  const r = attributionValues(ctx.model, ctx.base, ctx.source, grid.cells, ctx.readout, ctx.metric === 'prob' ? 'prob' : 'logit-diff');
  const ref = reference(ctx, r.baseRows, r.sourceRows);
  // The estimate is linear in the metric: normalise the logit-difference estimate like the metric itself.
  const base = aggregate(ctx.metric, r.baseRows, ref);
  const scale = ctx.metric === 'normalised' ? 1 / (ref.cleanLogitDiff - ref.corruptLogitDiff) : 1;
  const values = r.deltas.map((d) => base + d * scale);
  clock.tick(1);
  const N = ctx.base.lengths.length;
  const tokenLayers = N * (ctx.base.T + ctx.source.T) * ctx.model.spec.nLayers;
  return { values, baseRows: r.baseRows, sourceRows: r.sourceRows, ref, forwards: 2, tokenLayers, backwards: 1, maxRows: N };
}
