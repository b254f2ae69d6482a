/**
 * Alignment search over sites: DAS trained and scored at every layer × position role for one
 * causal variable, giving an IIA heatmap and the best site. The source values at every searched
 * layer and role come from one pass over the source prompts, the frozen base computation of every
 * searched layer from one pass over the base prompts, and all roles of a layer train together in
 * one forward per step (`DasCells`).
 */
import type { SubspaceTokenizer } from '../io/tokenizer.js';
import type { Transformer } from '../model/transformer.js';
import { ProgressClock, type RunHooks } from '../methods/progress.js';
import { SubspaceError } from '../errors.js';
import { BUILTIN_ROLES } from '../tasks/roles.js';
import type { DasCacheMode } from './cache.js';
import type { DasTask } from './data.js';
import { PYVENE_CLASS, type BoundaryReport, type DasVariant } from './interventions.js';
import { baseCache, dasItems, fittingCacheMode, fitDasCells, interchangeAccuracyCells, noInterventionIia, resolveDasConfig, sourceValues, type DasCells, type DasConfig, type DasSite, type IiaBaseline } from './train.js';

export interface DasSearchConfig extends Omit<DasConfig, 'layer' | 'position'> {
  layers: number[];
  /** Task roles (and first / last) to try. */
  positions: string[];
}

/** Omitted layers: every layer; omitted positions: every role the task defines. */
export type DasSearchInput = Partial<DasSearchConfig> & Pick<DasSearchConfig, 'variable'>;

export interface DasSearchCell {
  layer: number;
  position: string;
  iia: number;
  /** IIA over the test pairs whose counterfactual label differs from the base answer. */
  changedIia: number;
  /** Mean training loss over the last epoch. */
  loss: number;
  boundary?: BoundaryReport;
  ms: number;
}

export interface DasSearchResult {
  method: 'das-search';
  task: string;
  variable: string;
  variant: DasVariant;
  pyveneClass: string;
  component: string;
  dim: number;
  /** d: the width of the searched site. */
  width: number;
  layers: number[];
  positions: string[];
  /** IIA per layer (rows, in `layers` order) and position (columns, in `positions` order). */
  iia: number[][];
  changedIia: number[][];
  /** Test pairs whose counterfactual label the model already gives with no intervention. */
  baseline: number;
  /** The same over the pairs whose label differs from the base answer (the model errs on the base there). */
  changedBaseline: number;
  best: { layer: number; position: string; iia: number; changedIia: number };
  cells: DasSearchCell[];
  trainPairs: number;
  testPairs: number;
  /** Test pairs whose counterfactual label differs from the base answer. */
  changedPairs: number;
  config: DasSearchConfig;
  /** The frozen computation actually reused. */
  cacheMode: DasCacheMode;
  ms: number;
}

function lastEpochLoss(loss: { value: number }[], perEpoch: number): number {
  const last = loss.slice(-perEpoch);
  return last.reduce((a, l) => a + l.value, 0) / Math.max(last.length, 1);
}

export interface DasSearchHooks extends RunHooks {
  /** Called for each site as its layer is done, in search order (layer-major), for live heatmaps. */
  onCell?: (cell: DasSearchCell) => void;
}

/**
 * Trains and scores DAS at every (layer, role); progress reports phase 'das-search' over all sites'
 * steps, with each layer's best IIA as it completes.
 */
export function searchDas(model: Transformer, tok: SubspaceTokenizer, task: DasTask, cfgIn: DasSearchInput, hooks: DasSearchHooks = {}): DasSearchResult {
  const t0 = performance.now();
  const layers = cfgIn.layers ?? Array.from({ length: model.spec.nLayers }, (_, l) => l);
  const positions = cfgIn.positions ?? (task.roles.length ? [...task.roles] : [...BUILTIN_ROLES]);
  if (layers.length === 0) throw new SubspaceError('BAD_ARGUMENT', 'no layers to search: give at least one', 'layers');
  if (positions.length === 0) throw new SubspaceError('BAD_ARGUMENT', 'no positions to search: give at least one role', 'positions');
  for (const [name, xs] of [['layers', layers], ['positions', positions]] as const) {
    const dup = (xs as readonly (number | string)[]).find((x, i) => xs.indexOf(x as never) !== i);
    if (dup !== undefined) throw new SubspaceError('BAD_ARGUMENT', `${name} lists ${dup} twice`, name);
  }
  const { layers: _layers, positions: _positions, ...rest } = cfgIn;
  // Every site is checked before any work starts.
  const sites = new Map<string, { config: DasConfig; site: DasSite }>();
  for (const layer of layers) for (const position of positions) sites.set(`${layer}|${position}`, resolveDasConfig(model.spec, task, { ...rest, layer, position }));
  const first = sites.values().next().value!;
  const cfg = first.config;
  const config: DasSearchConfig = { ...cfg, layers, positions };
  delete (config as Partial<DasConfig>).layer;
  delete (config as Partial<DasConfig>).position;

  const trainItems = dasItems(tok, task, 'train', cfg.variable, positions, cfg.nTrain);
  const testItems = dasItems(tok, task, 'test', cfg.variable, positions, cfg.nTest);
  const stepsPerSite = Math.ceil(trainItems.length / cfg.batchSize) * cfg.epochs;
  const clock = new ProgressClock(hooks, 'das-search', stepsPerSite * layers.length * positions.length);
  const cells: DasSearchCell[] = [];
  const owned: { dispose(): void }[] = [];
  let baseline: IiaBaseline | undefined;
  let changedPairs = 0;
  let cacheMode: DasCacheMode = 'none';
  try {
    const srcTrain = sourceValues(model, trainItems, first.site, layers, positions);
    owned.push(...srcTrain.values());
    const srcTest = sourceValues(model, testItems, first.site, layers, positions);
    owned.push(...srcTest.values());
    cacheMode = fittingCacheMode(model.spec, cfg.cache, layers, [trainItems, testItems]);
    const trainCache = baseCache(model, trainItems, layers, cacheMode);
    if (trainCache) owned.push(trainCache);
    const testCache = baseCache(model, testItems, layers, cacheMode);
    if (testCache) owned.push(testCache);
    // One training run per layer carries every position's intervention (see DasCells).
    layers.forEach((layer, li) => {
      const c0 = performance.now();
      const cellSites = positions.map((position) => sites.get(`${layer}|${position}`)!.site);
      const train: DasCells = { items: trainItems, cache: trainCache, sites: cellSites, sources: positions.map((p) => srcTrain.get(`${layer}|${p}`)!) };
      const test: DasCells = { items: testItems, cache: testCache, sites: cellSites, sources: positions.map((p) => srcTest.get(`${layer}|${p}`)!) };
      const fits = fitDasCells(model, cfg, train, { clock, stepOffset: li * positions.length * stepsPerSite });
      try {
        baseline ??= noInterventionIia(model, testItems);
        const results = interchangeAccuracyCells(model, test, fits.map((f) => f.intervention), { baseline });
        const ms = (performance.now() - c0) / positions.length;
        positions.forEach((position, pi) => {
          const r = results[pi];
          changedPairs = r.changed.n;
          const cell: DasSearchCell = { layer, position, iia: r.iia, changedIia: r.changed.iia, loss: lastEpochLoss(fits[pi].loss, stepsPerSite / cfg.epochs), ms };
          const boundary = fits[pi].intervention.boundaryReport();
          if (boundary) cell.boundary = boundary;
          cells.push(cell);
        });
        clock.tick((li + 1) * positions.length * stepsPerSite, { iia: Math.max(...results.map((r) => r.iia)) });
        for (const cell of cells.slice(-positions.length)) hooks.onCell?.(cell);
      } finally {
        for (const f of fits) f.intervention.dispose();
      }
    });
  } finally {
    for (const o of owned) o.dispose();
  }
  const grid = (f: (c: DasSearchCell) => number) => layers.map((l) => positions.map((p) => f(cells.find((c) => c.layer === l && c.position === p)!)));
  const best = cells.reduce((a, c) => (c.iia > a.iia ? c : a), cells[0]);
  return {
    method: 'das-search',
    task: task.name,
    variable: cfg.variable,
    variant: cfg.variant,
    pyveneClass: PYVENE_CLASS[cfg.variant],
    component: cfg.component,
    dim: cfg.dim,
    width: first.site.width,
    layers,
    positions,
    iia: grid((c) => c.iia),
    changedIia: grid((c) => c.changedIia),
    baseline: baseline?.iia ?? 0,
    changedBaseline: baseline?.changedIia ?? 0,
    best: { layer: best.layer, position: best.position, iia: best.iia, changedIia: best.changedIia },
    cells,
    trainPairs: trainItems.length,
    testPairs: testItems.length,
    changedPairs,
    config,
    cacheMode,
    ms: performance.now() - t0,
  };
}
