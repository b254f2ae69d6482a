/**
 * What the Compare panel draws, as pure functions of the runs' records: the curves of one metric
 * family across runs, and the overlap of their head selections.
 */
import type { MetricSeries } from '../../../src-main/api/contract.js';
import type { LineSeries } from '../../charts/index.js';
import { CATEGORY_COLORS } from '../../charts/theme.js';

export interface ComparedRun {
  id: string;
  /** The run's name, as the panel shows it. */
  label: string;
}

type RunMetrics = Record<string, Record<string, MetricSeries>>;

/**
 * The quantity a metric measures, whatever phase recorded it: LoFIT records `select.loss` and
 * `tune.loss` where ReFT records `loss`; all three are the family `loss`.
 */
export function metricFamily(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1);
}

const isCurve = (s: MetricSeries) => s.values.filter((v) => v !== null).length > 1;

/** Families with a curve (a value at more than one step) in at least one run; `loss` first. */
export function curveFamilies(metrics: RunMetrics): string[] {
  const names = new Set<string>();
  for (const byName of Object.values(metrics)) for (const [n, s] of Object.entries(byName)) if (isCurve(s)) names.add(metricFamily(n));
  return [...names].sort((a, b) => Number(b === 'loss') - Number(a === 'loss') || a.localeCompare(b));
}

const DASHES = ['solid', 'dash', 'dot', 'dashdot'] as const;

/**
 * One line per run and series of the family, named "<run> · <series>": a run's lines share its
 * colour and differ by dash (`select.loss` solid, `tune.loss` dashed). Null values are left out.
 */
export function familyCurves(runs: readonly ComparedRun[], metrics: RunMetrics, family: string): LineSeries[] {
  return runs.flatMap((run, r) => {
    const byName = metrics[run.id] ?? {};
    const names = Object.keys(byName)
      .filter((n) => metricFamily(n) === family && isCurve(byName[n]))
      .sort((a, b) => Number(b === family) - Number(a === family) || a.localeCompare(b));
    return names.map((n, i): LineSeries => {
      const s = byName[n];
      const pts = s.steps.map((x, j) => [x, s.values[j]] as const).filter((p): p is readonly [number, number] => p[1] !== null);
      return {
        name: `${run.label} · ${n}`,
        x: pts.map((p) => p[0]),
        y: pts.map((p) => p[1]),
        ...(r < CATEGORY_COLORS.length && { color: CATEGORY_COLORS[r] }),
        dash: DASHES[i % DASHES.length],
      };
    });
  });
}

export interface HeadRef {
  layer: number;
  head: number;
}

export interface RunHeads extends ComparedRun {
  /** The selection's name, when the run has one. */
  selection?: string;
  heads: readonly HeadRef[];
}

export interface HeadOverlap {
  /** Runs that chose heads; the overlap is over these only. */
  withSelection: RunHeads[];
  /** Runs with no head selection (ReFT, DAS, …). */
  without: RunHeads[];
  /** Heads (`layer.head`) every run with a selection chose; empty when fewer than two have one. */
  common: Set<string>;
  union: Set<string>;
  /** |common| / |union| over the runs with a selection; null when fewer than two have one. */
  jaccard: number | null;
  /** counts[layer][head]: how many runs chose the head. */
  counts: number[][];
  layers: number;
  heads: number;
}

export const headKey = (h: HeadRef) => `${h.layer}.${h.head}`;

/** The overlap of the runs' head selections, on a layers × heads grid (from the run's scores, else the heads chosen). */
export function headOverlap(runs: readonly RunHeads[], shape?: { layers: number; heads: number }): HeadOverlap {
  const withSelection = runs.filter((r) => r.heads.length > 0);
  const without = runs.filter((r) => r.heads.length === 0);
  const layers = shape?.layers ?? Math.max(0, ...withSelection.flatMap((r) => r.heads.map((h) => h.layer + 1)));
  const heads = shape?.heads ?? Math.max(0, ...withSelection.flatMap((r) => r.heads.map((h) => h.head + 1)));
  const counts = Array.from({ length: layers }, () => new Array<number>(heads).fill(0));
  for (const r of withSelection) for (const h of new Map(r.heads.map((x) => [headKey(x), x])).values()) if (h.layer < layers && h.head < heads) counts[h.layer][h.head]++;
  const sets = withSelection.map((r) => new Set(r.heads.map(headKey)));
  const union = new Set(sets.flatMap((s) => [...s]));
  const common = sets.length >= 2 ? sets.reduce((a, b) => new Set([...a].filter((x) => b.has(x)))) : new Set<string>();
  const jaccard = sets.length >= 2 && union.size > 0 ? common.size / union.size : null;
  return { withSelection, without, common, union, jaccard, counts, layers, heads };
}

const heads = (n: number) => `${n} head${n === 1 ? '' : 's'}`;
const names = (rs: readonly RunHeads[]) => rs.map((r) => r.label).join(', ');

/** One line saying what the overlap is over, and which runs it leaves out. */
export function overlapSummary(o: HeadOverlap): string {
  const none = o.without.length ? `; no head selection: ${names(o.without)}` : '';
  if (o.withSelection.length === 0) return 'None of these runs chose heads.';
  if (o.withSelection.length === 1) {
    const [only] = o.withSelection;
    return `Only ${only.label} chose heads (${heads(o.union.size)}), so there is no overlap${none}`;
  }
  const over = o.without.length ? `all ${o.withSelection.length} runs with a selection` : 'every run';
  return `${heads(o.common.size)} chosen by ${over}, ${o.union.size} by any (Jaccard ${o.jaccard === null ? '—' : o.jaccard.toFixed(2)})${none}`;
}
