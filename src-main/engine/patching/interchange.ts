import * as tf from '../tf.js';
import { SubspaceError } from '../errors.js';
import type { SubspaceTokenizer } from '../io/tokenizer.js';
import { gatherPositions, selectionMatrix } from '../model/ops.js';
import { siteKey, type SiteRef } from '../model/sites.js';
import type { ForwardResult, KVCache, LogitsRequest, SiteEdit, Transformer } from '../model/transformer.js';
import type { TaskExample } from '../tasks/schema.js';
import { AnswerReadout, aggregate, type Reference, type RowScore } from './metrics.js';
import {
  alignPositions,
  padBatch,
  preparePairs,
  sides,
  targets,
  type AlignedPositions,
  type PaddedBatch,
  type PatchDirection,
  type PatchPair,
  type PromptTokens,
} from './pairs.js';
import { checkPatchSite, projectOnto, resolveSubspace, type PatchSite, type ResolvedBasis } from './sites.js';

/** One site of an interchange, checked against the model and aligned between base and source. */
export interface ResolvedPatch {
  site: PatchSite;
  /** The key the source run's value is read under (`head_output:2.5`). */
  key: string;
  aligned: AlignedPositions;
  basis?: ResolvedBasis;
}

export function padIdOf(model: Transformer): number {
  return model.spec.padTokenId ?? model.spec.eosTokenIds[0] ?? 0;
}

/** Checks every site and aligns its positions; the bases it returns are tensors to free with `disposePatches`. */
export function resolvePatches(model: Transformer, sites: readonly PatchSite[], base: PaddedBatch, source: PaddedBatch, taskName?: string): ResolvedPatch[] {
  if (sites.length === 0) throw new SubspaceError('BAD_ARGUMENT', 'no sites to patch', 'sites');
  const out: ResolvedPatch[] = [];
  try {
    for (const s of sites) {
      checkPatchSite(model.spec, s);
      const aligned = alignPositions(s.positions ?? 'all', base, source, taskName);
      out.push({ site: s, key: siteKey({ site: s.site, layer: s.layer, head: s.head }), aligned, basis: resolveSubspace(model.spec, s) });
    }
  } catch (e) {
    disposePatches(out);
    throw e;
  }
  return out;
}

export function disposePatches(patches: readonly ResolvedPatch[]): void {
  for (const p of patches) {
    p.basis?.basis.dispose();
    p.basis?.basisT.dispose();
  }
}

/** The reads a source run needs for these patches. */
export function sourceReads(patches: readonly ResolvedPatch[]): SiteRef[] {
  const seen = new Map<string, SiteRef>();
  for (const p of patches) seen.set(p.key, { site: p.site.site, layer: p.site.layer, head: p.site.head });
  return [...seen.values()];
}

/**
 * The edit that swaps a site's value at the aligned positions for the source
 * run's value there (or only its projection onto the subspace):
 * h' = h + (h_src − h)·B·Bᵀ, which is h_src without a subspace.
 */
export function interchangeEdit(p: ResolvedPatch, sourceValue: tf.Tensor): SiteEdit {
  const Ts = sourceValue.shape[1]!;
  return {
    site: p.site.site,
    layer: p.site.layer,
    head: p.site.head,
    positions: p.aligned.base,
    apply: (picked) => {
      const src = gatherPositions(sourceValue, selectionMatrix(p.aligned.source, Ts));
      if (!p.basis) return src;
      return tf.add(picked, projectOnto(tf.sub(src, picked), p.basis));
    },
  };
}

function checkSameSize(base: readonly unknown[], source: readonly unknown[]): void {
  if (base.length !== source.length) {
    throw new SubspaceError('BAD_ARGUMENT', `base batch has ${base.length} inputs but source batch has ${source.length}: they must be the same size, one source per base`, 'source');
  }
  if (base.length === 0) throw new SubspaceError('BAD_ARGUMENT', 'empty batch: no base inputs given', 'base');
}

export interface InterchangeOptions {
  /** Logits of the patched base run; default 'last' (each base prompt's last token, where its answer is predicted). */
  logits?: LogitsRequest;
  /** Sites to read in the patched base run. */
  read?: SiteRef[];
  /** Named in error messages about roles. */
  taskName?: string;
}

/**
 * An interchange intervention: runs the source inputs, then the base inputs with
 * the source's values swapped in at every site. Base and source may differ in
 * length (positions align by index or by role). The caller disposes the result's tensors.
 */
export function interchangeForward(model: Transformer, base: readonly PromptTokens[], source: readonly PromptTokens[], sites: readonly PatchSite[], opts: InterchangeOptions = {}): ForwardResult {
  checkSameSize(base, source);
  const pad = padIdOf(model);
  const b = padBatch(base, pad);
  const s = padBatch(source, pad);
  const patches = resolvePatches(model, sites, b, s, opts.taskName);
  let src: ForwardResult | undefined;
  try {
    src = model.forward({ inputIds: s.ids, attentionMask: s.mask }, { read: sourceReads(patches), logits: 'none' });
    const edits = patches.map((p) => interchangeEdit(p, src!.sites[p.key]));
    return model.forward({ inputIds: b.ids, attentionMask: b.mask }, { edits, read: opts.read, logits: opts.logits ?? 'last' });
  } finally {
    if (src) tf.dispose(Object.values(src.sites));
    disposePatches(patches);
  }
}

/** Scores of one run (unpatched, or with `edits`) at each row's last token; with an empty `cache`, it keeps the run's keys and values. */
export function runScores(
  model: Transformer,
  batch: PaddedBatch,
  readout: AnswerReadout,
  full: boolean,
  read: SiteRef[] = [],
  edits?: SiteEdit[],
  cache?: KVCache,
): { scores: RowScore[]; sites: Record<string, tf.Tensor> } {
  const r = model.forward({ inputIds: batch.ids, attentionMask: batch.mask }, { read, edits, cache, stopBefore: model.spec.nLayers });
  try {
    const rows = batch.lengths.map((_, b) => b);
    const { picked, lse } = readout.logits(r.residual!, batch.lengths.map((l) => l - 1), rows, full);
    const scores = readout.scores(picked.dataSync(), lse?.dataSync(), rows.length);
    tf.dispose([picked, lse]);
    return { scores, sites: r.sites };
  } finally {
    // The residual is also the last block_output when that site was read.
    if (!Object.values(r.sites).includes(r.residual!)) r.residual!.dispose();
  }
}

/** Metrics of one set of runs, JSON-ready. */
export interface MetricSet {
  logitDiff: number;
  normalised: number | null;
  prob: number;
  accuracy: number;
}

function metricSet(rows: RowScore[], ref: Reference): MetricSet {
  const n = aggregate('normalised', rows, ref);
  return { logitDiff: aggregate('logit-diff', rows, ref), normalised: Number.isFinite(n) ? n : null, prob: aggregate('prob', rows, ref), accuracy: aggregate('accuracy', rows, ref) };
}

export interface InterchangeReport {
  direction: PatchDirection;
  variable?: string;
  n: number;
  sites: { site: string; layer: number; head?: number; positions: 'all' | (number | string)[]; subspaceDim?: number }[];
  /** The patched base runs. */
  patched: MetricSet;
  /** The runs without a patch: clean (example prompts) and corrupt (source prompts). */
  clean: MetricSet;
  corrupt: MetricSet;
  /** Per pair: the patched logit difference, p(target) and whether the target won (interchange-intervention accuracy). */
  pairs: { id: string; logitDiff: number; probTarget: number; hit: boolean }[];
}

export interface EvaluateInterchangeOptions {
  /** Default 'noise': the example's prompt is the base and takes values from its source prompt (the DAS convention). */
  direction?: PatchDirection;
  variable?: string;
  taskName?: string;
  batchSize?: number;
}

/**
 * Interchange interventions on task examples at fixed sites, with every metric:
 * logit difference (clean answer − wrong answer), normalised effect, p(target)
 * and accuracy against the target (the causal model's counterfactual with a variable).
 */
export function evaluateInterchange(model: Transformer, tok: SubspaceTokenizer, examples: readonly TaskExample[], sites: readonly PatchSite[], opts: EvaluateInterchangeOptions = {}): InterchangeReport {
  const direction = opts.direction ?? 'noise';
  const pairs = preparePairs(tok, examples, { variable: opts.variable, taskName: opts.taskName });
  const bs = opts.batchSize ?? 32;
  const patched: RowScore[] = [];
  const clean: RowScore[] = [];
  const corrupt: RowScore[] = [];
  for (let i = 0; i < pairs.length; i += bs) {
    const chunk = pairs.slice(i, i + bs);
    const r = interchangeScores(model, chunk, sites, direction, opts.taskName);
    patched.push(...r.patched);
    clean.push(...r.clean);
    corrupt.push(...r.corrupt);
  }
  const ref = { cleanLogitDiff: mean(clean), corruptLogitDiff: mean(corrupt) };
  return {
    direction,
    variable: opts.variable,
    n: pairs.length,
    sites: sites.map((s) => ({
      site: s.site,
      layer: s.layer,
      head: s.head,
      positions: s.positions === undefined || s.positions === 'all' ? 'all' : [...s.positions],
      subspaceDim: s.subspace === undefined ? undefined : s.subspace instanceof tf.Tensor ? s.subspace.shape[1] : s.subspace[0].length,
    })),
    patched: metricSet(patched, ref),
    clean: metricSet(clean, ref),
    corrupt: metricSet(corrupt, ref),
    pairs: pairs.map((p, k) => ({ id: p.id, logitDiff: patched[k].logitDiff, probTarget: Math.exp(patched[k].logpTarget), hit: patched[k].hit })),
  };
}

function mean(rows: RowScore[]): number {
  return rows.reduce((a, r) => a + r.logitDiff, 0) / rows.length;
}

function interchangeScores(model: Transformer, pairs: PatchPair[], sites: readonly PatchSite[], direction: PatchDirection, taskName?: string) {
  const { base, source } = sides(pairs, direction);
  const readout = new AnswerReadout(model, {
    correct: pairs.map((p) => p.answer),
    wrong: pairs.map((p) => p.wrong),
    target: targets(pairs, direction),
    candidates: pairs.map((p) => p.candidates),
  });
  const pad = padIdOf(model);
  const b = padBatch(base, pad);
  const s = padBatch(source, pad);
  const patches = resolvePatches(model, sites, b, s, taskName);
  try {
    const src = runScores(model, s, readout, true, sourceReads(patches));
    const unpatched = runScores(model, b, readout, true);
    try {
      const edits = patches.map((p) => interchangeEdit(p, src.sites[p.key]));
      const patched = runScores(model, b, readout, true, [], edits).scores;
      return direction === 'denoise' ? { patched, clean: src.scores, corrupt: unpatched.scores } : { patched, clean: unpatched.scores, corrupt: src.scores };
    } finally {
      tf.dispose(Object.values(src.sites));
    }
  } finally {
    disposePatches(patches);
    readout.dispose();
  }
}
