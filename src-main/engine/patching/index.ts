/**
 * Interchange interventions and activation patching.
 *
 * - `interchangeForward` / `evaluateInterchange`: swap a source run's values into a base run at
 *   any sites (layer, component, positions by index or role, a head, a subspace basis).
 * - `patchSweep`: residual / attention / MLP sweeps over layers × positions and head sweeps over
 *   layers × heads (× positions), denoising or noising; exact (batched), naive or attribution.
 * - `spearman`: how far attribution's ranking follows the exact one.
 *
 * Pairs come from task examples with a `source`: the example's prompt is the clean run and its
 * source prompt the corrupt run. Results are plain JSON-ready objects.
 */
export { preparePairs, padBatch, alignPositions, sides, targets, commonRoles, PATCH_DIRECTIONS } from './pairs.js';
export type { PatchPair, PromptTokens, PatchDirection, PaddedBatch, PositionSpec, AlignedPositions, PairOptions } from './pairs.js';
export { PATCHABLE_SITES, siteWidth, checkPatchSite, resolveSubspace, projectOnto } from './sites.js';
export type { PatchSite, PatchableSite, SubspaceBasis, ResolvedBasis } from './sites.js';
export { PATCH_METRICS, checkMetric, aggregate, AnswerReadout } from './metrics.js';
export type { PatchMetric, AnswerIds, RowScore, Reference } from './metrics.js';
export { interchangeForward, evaluateInterchange, interchangeEdit, resolvePatches, disposePatches, sourceReads, runScores, padIdOf } from './interchange.js';
export type { InterchangeOptions, InterchangeReport, EvaluateInterchangeOptions, MetricSet, ResolvedPatch } from './interchange.js';
export { SWEEP_KINDS, buildGrid } from './grid.js';
export type { SweepKind, Cell, Grid } from './grid.js';
export { patchSweep, patchSweepPairs, SWEEP_METHODS } from './sweep.js';
export type { SweepOptions, SweepResult, SweepMethod } from './sweep.js';
export { attributionValues } from './attribution.js';
export { spearman, ranks, flatValues } from './rank.js';
