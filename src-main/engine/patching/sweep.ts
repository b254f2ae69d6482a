/**
 * Activation-patching sweeps: every (layer, position) of the residual stream,
 * attention or MLP outputs, or every (layer, head) of head outputs, in either
 * direction, scored by one metric.
 *
 * method 'exact' puts many patched copies of the batch into one forward (chunked
 * by a memory budget), starts each chunk from the base run's residual at the
 * chunk's first patched layer (the layers before it are unchanged by the patch,
 * so they run once), runs the last layer at the answer position only (no other
 * position of it reaches an answer logit), and reads only the answer tokens'
 * logits (final norm at the answer position, then the unembedding rows of the
 * answers alone).
 * method 'naive' is one plain forward per patch with full logits: the check and
 * the baseline. method 'attribution' is the first-order estimate of attribution.ts.
 */
import * as tf from '../tf.js';
import { SubspaceError } from '../errors.js';
import type { SubspaceTokenizer } from '../io/tokenizer.js';
import { siteKey, type SiteRef } from '../model/sites.js';
import { KVCache, type SiteEdit, type Transformer } from '../model/transformer.js';
import { applyRope, gatherPositions, linear, norm, ropeInvFreq, ropeTables, selectionMatrix } from '../model/ops.js';
import { ProgressClock, type RunHooks } from '../methods/progress.js';
import type { TaskExample } from '../tasks/schema.js';
import { attributionValues } from './attribution.js';
import { buildGrid, nest, type Cell, type Grid, type SweepKind } from './grid.js';
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
  stats: { patches: number; forwards: number; backwards: number; maxRowsPerForward: number; ms: number };
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

/** Reads grouped by site and layer: one edit per group serves every patch of that group in a batched forward. */
function groupKey(c: Cell): string {
  return siteKey({ site: c.site, layer: c.layer });
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
      stats: { patches: grid.cells.length, forwards: r.forwards, backwards: r.backwards, maxRowsPerForward: r.maxRows, ms: performance.now() - t0 },
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
  backwards: number;
  maxRows: number;
}

function reference(ctx: Context, baseRows: RowScore[], sourceRows: RowScore[]): Reference {
  const m = (rows: RowScore[]) => rows.reduce((a, r) => a + r.logitDiff, 0) / rows.length;
  return ctx.direction === 'denoise'
    ? { cleanLogitDiff: m(sourceRows), corruptLogitDiff: m(baseRows) }
    : { cleanLogitDiff: m(baseRows), corruptLogitDiff: m(sourceRows) };
}

/** The source run's reads: whole sites (all heads) per patched layer. */
function groupReads(cells: readonly Cell[]): SiteRef[] {
  const m = new Map<string, SiteRef>();
  for (const c of cells) m.set(groupKey(c), { site: c.site, layer: c.layer });
  return [...m.values()];
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
  return { values, baseRows: unpatched.scores, sourceRows: src.scores, ref, forwards: grid.cells.length + 2, backwards: 0, maxRows: rows.length };
}

// ---- exact: batched copies, shared prefix, answer-only unembedding -----------------------------

/** Bytes of activations one row keeps alive per layer of a forward (tfjs frees a forward's intermediates only at its end). */
function bytesPerRowLayer(ctx: Context): number {
  const s = ctx.model.spec;
  const T = ctx.base.T;
  return 4 * T * (14 * s.dModel + 4 * s.dMlp + 3 * s.nHeads * T);
}

/** Consecutive cells (sorted by layer) per forward, within the memory budget. */
function chunks(ctx: Context, cells: readonly { cell: Cell; index: number }[], memoryMiB: number): { cell: Cell; index: number }[][] {
  const N = ctx.base.lengths.length;
  const L = ctx.model.spec.nLayers;
  const budget = memoryMiB * 2 ** 20;
  const per = bytesPerRowLayer(ctx);
  const out: { cell: Cell; index: number }[][] = [];
  let cur: { cell: Cell; index: number }[] = [];
  let start = L;
  for (const c of cells) {
    const s = Math.min(start, c.cell.layer);
    // Patches inside the last layer get their own chunks, so the others can run that layer at the answer only.
    const crossesLast = cur.length > 0 && c.cell.layer === L - 1 && start < L - 1;
    if (crossesLast || (cur.length > 0 && (cur.length + 1) * N * (L - s) * per > budget)) {
      out.push(cur);
      cur = [];
      start = L;
    }
    cur.push(c);
    start = Math.min(start, c.cell.layer);
  }
  if (cur.length) out.push(cur);
  return out;
}

function exactSweep(ctx: Context, grid: Grid, opts: SweepOptions, hooks: RunHooks): RunOut {
  const { model, base, source, readout } = ctx;
  const N = base.lengths.length;
  const H = model.spec.nHeads;
  const clock = new ProgressClock(hooks, 'patch', grid.cells.length);
  clock.tick(0);
  const startLayers = [...new Set(grid.cells.map((c) => c.layer))];
  const src = runScores(model, source, readout, ctx.full, groupReads(grid.cells));
  const unpatched = runScores(model, base, readout, ctx.full, startLayers.map((layer) => ({ site: 'block_input', layer })));
  const ref = reference(ctx, unpatched.scores, src.scores);
  // Source values flattened to [N·Ts, width] so one gather serves rows of any copy.
  const flatSource = new Map<string, tf.Tensor2D>();
  for (const [k, v] of Object.entries(src.sites)) flatSource.set(k, tf.reshape(v, [N * source.T, -1]) as tf.Tensor2D);
  tf.dispose(Object.values(src.sites));
  const values = new Array<number>(grid.cells.length).fill(NaN);
  const order = grid.cells.map((cell, index) => ({ cell, index })).sort((a, b) => a.cell.layer - b.cell.layer || a.index - b.index);
  let forwards = 2;
  let maxRows = N;
  let done = 0;
  try {
    for (const chunk of chunks(ctx, order, opts.memoryMiB ?? 512)) {
      const C = chunk.length;
      const R = C * N;
      maxRows = Math.max(maxRows, R);
      const startLayer = Math.min(...chunk.map((c) => c.cell.layer));
      const rowPair = Array.from({ length: R }, (_, r) => r % N);
      const edits = groupEdits(chunk.map((c) => c.cell), N, H, source.T, flatSource);
      const residual = tf.tile(unpatched.sites[siteKey({ site: 'block_input', layer: startLayer })], [C, 1, 1]);
      let scores: RowScore[];
      try {
        const L = model.spec.nLayers;
        const ids = rowPair.map((b) => base.ids[b]);
        const mask = rowPair.map((b) => base.mask[b]);
        const answer = rowPair.map((b) => base.lengths[b] - 1);
        const atAnswerOnly = startLayer < L - 1 && base.T > 1 && chunk.every((c) => c.cell.layer < L - 1);
        const out = model.forward({ inputIds: ids, attentionMask: mask }, { start: { layer: startLayer, residual }, stopBefore: atAnswerOnly ? L - 1 : L, edits: edits.edits });
        const final = atAnswerOnly ? lastLayerAtAnswer(model, out.residual!, ids, mask, answer) : out.residual!;
        const { picked, lse } = readout.logits(final, atAnswerOnly ? answer.map(() => 0) : answer, rowPair, ctx.full);
        scores = readout.scores(picked.dataSync(), lse?.dataSync(), R);
        tf.dispose([out.residual!, final, picked, lse, ...Object.values(out.sites)]);
      } finally {
        residual.dispose();
        edits.dispose();
      }
      forwards++;
      chunk.forEach((c, k) => {
        values[c.index] = aggregate(ctx.metric, scores.slice(k * N, (k + 1) * N), ref);
      });
      done += C;
      clock.tick(done);
    }
  } finally {
    for (const t of flatSource.values()) t.dispose();
    tf.dispose(Object.values(unpatched.sites));
  }
  return { values, baseRows: unpatched.scores, sourceRows: src.scores, ref, forwards, backwards: 0, maxRows };
}

/**
 * The last layer at each row's answer position only (only that row reaches the answer logits):
 * the keys and values of the earlier positions are computed here, as the runtime computes them,
 * and handed to the forward as a read-only cache, so the forward runs the last layer on one token.
 * Returns the residual after the last layer [R, 1, d]. The batched-equals-naive tests hold it to the runtime.
 */
function lastLayerAtAnswer(model: Transformer, x: tf.Tensor, ids: number[][], mask: number[][], answer: number[]): tf.Tensor {
  const spec = model.spec;
  const L = spec.nLayers;
  const w = model.weights.layers[L - 1];
  const [R, T] = x.shape;
  const S = T - 1;
  const cache = new KVCache(L);
  // Only the positions before each row's answer are its past; later columns (its answer, padding) are masked.
  cache.mask = mask.map((row, r) => row.slice(0, S).map((v, j) => (v && j < answer[r] ? 1 : 0)));
  const kv = tf.tidy(() => {
    const h = norm(tf.slice(x, [0, 0, 0], [R, S, spec.dModel]), w.ln1, spec.norm, spec.normEps);
    const split = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [R, S, spec.nKvHeads, spec.dHead]), [0, 2, 1, 3]) as tf.Tensor4D;
    let k = split(linear(h, w.wk, w.bk));
    const v = split(linear(h, w.wv, w.bv));
    if (spec.rope) {
      // Position ids as the runtime derives them from the mask: the count of real tokens so far, minus one.
      const positions = mask.map((row) => {
        let c = 0;
        return row.slice(0, S).map((m) => Math.max((c += m) - 1, 0));
      });
      const { cos, sin } = ropeTables(ropeInvFreq(spec.rope), positions);
      k = applyRope(k, cos, sin);
    }
    return { k, v };
  });
  cache.keys[L - 1] = kv.k;
  cache.values[L - 1] = kv.v;
  const current = tf.tidy(() => gatherPositions(x, selectionMatrix(answer.map((a) => [a]), T)));
  try {
    const out = model.forward(
      { inputIds: ids.map((row, r) => [row[answer[r]]]), attentionMask: ids.map(() => [1]) },
      { cache, cacheReadOnly: true, start: { layer: L - 1, residual: current }, stopBefore: L },
    );
    return out.residual!;
  } finally {
    current.dispose();
    cache.dispose();
  }
}

/**
 * One edit per (site, layer) for a batch of C copies × N pairs: copy c's rows
 * take the source values at cell c's positions (and only its head, for head
 * outputs); rows of copies patched elsewhere list no positions and stay as they are.
 */
function groupEdits(cells: readonly Cell[], N: number, H: number, Ts: number, flatSource: Map<string, tf.Tensor2D>): { edits: SiteEdit[]; dispose: () => void } {
  const groups = new Map<string, { copies: number[]; cell: Cell }>();
  cells.forEach((c, k) => {
    const g = groups.get(groupKey(c)) ?? { copies: [], cell: c };
    g.copies.push(k);
    groups.set(groupKey(c), g);
  });
  const R = cells.length * N;
  const owned: tf.Tensor[] = [];
  const edits: SiteEdit[] = [];
  for (const [key, g] of groups) {
    const P = Math.max(...g.copies.map((k) => cells[k].base[0].length));
    const basePos: number[][] = Array.from({ length: R }, () => new Array(P).fill(-1));
    const srcIndex = new Int32Array(R * P);
    const headMask = g.cell.site === 'head_output' ? new Float32Array(R * H) : undefined;
    for (const k of g.copies) {
      const c = cells[k];
      for (let b = 0; b < N; b++) {
        const r = k * N + b;
        c.base[b].forEach((p, j) => {
          basePos[r][j] = p;
          // Padding entries gather any row: the runtime adds nothing at a -1 position.
          srcIndex[r * P + j] = c.source[b][j] >= 0 ? b * Ts + c.source[b][j] : 0;
        });
        if (headMask) headMask[r * H + c.head!] = 1;
      }
    }
    const idx = tf.tensor1d(srcIndex, 'int32');
    const mask = headMask ? tf.tensor4d(headMask, [R, 1, H, 1]) : undefined;
    owned.push(idx, ...(mask ? [mask] : []));
    const flat = flatSource.get(key)!;
    edits.push({
      site: g.cell.site,
      layer: g.cell.layer,
      positions: basePos,
      apply: (picked) => {
        const src = tf.reshape(tf.gather(flat, idx), picked.shape);
        const delta = tf.sub(src, picked);
        return tf.add(picked, mask ? tf.mul(delta, mask) : delta);
      },
    });
  }
  return { edits, dispose: () => tf.dispose(owned) };
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
  return { values, baseRows: r.baseRows, sourceRows: r.sourceRows, ref, forwards: 2, backwards: 1, maxRows: ctx.base.lengths.length };
}
