import { SubspaceError } from '../errors.js';
import type { ModelSpec } from '../model/config.js';
import { alignPositions, type PaddedBatch } from './pairs.js';
import type { PatchableSite } from './sites.js';

/** What a sweep patches: residual stream, attention outputs, MLP outputs or head outputs. */
export const SWEEP_KINDS = ['heads', 'resid', 'attn', 'mlp'] as const;
export type SweepKind = (typeof SWEEP_KINDS)[number];

/**
 * One patch of a sweep: a site, and per pair the base positions it overwrites and
 * the source positions it reads (padded with -1).
 */
export interface Cell {
  site: PatchableSite;
  layer: number;
  head?: number;
  base: number[][];
  source: number[][];
}

/** The sweep's axes and its cells in row-major order of those axes. */
export interface Grid {
  site: PatchableSite;
  layers: number[];
  heads?: number[];
  /** Labels of the position axis: role names or token indices. */
  positions?: string[];
  cells: Cell[];
  /** Shape of the value array: [layers, heads], [layers, heads, positions] or [layers, positions]. */
  shape: number[];
}

export interface GridOptions {
  kind: SweepKind;
  perPosition?: boolean;
  /** The position axis: 'index' (every token index) or role names. */
  positions: 'index' | readonly string[];
  residSite?: 'block_output' | 'block_input';
  layers?: readonly number[];
  heads?: readonly number[];
  taskName?: string;
}

function checkIndices(what: 'layer' | 'head', values: readonly number[] | undefined, count: number): number[] {
  if (values === undefined) return Array.from({ length: count }, (_, i) => i);
  if (values.length === 0) throw new SubspaceError('BAD_ARGUMENT', `the ${what} list is empty`, `${what}s`);
  for (const v of values) {
    if (!Number.isInteger(v) || v < 0 || v >= count) {
      throw new SubspaceError('BAD_ARGUMENT', `${what} ${v} is out of range: the model has ${what}s 0..${count - 1}`, what);
    }
  }
  return [...values];
}

const KIND_SITE: Record<Exclude<SweepKind, 'resid' | 'heads'>, PatchableSite> = { attn: 'attention_output', mlp: 'mlp_output' };

export function buildGrid(spec: ModelSpec, base: PaddedBatch, source: PaddedBatch, opts: GridOptions): Grid {
  if (!SWEEP_KINDS.includes(opts.kind)) {
    throw new SubspaceError('BAD_ARGUMENT', `unknown sweep '${String(opts.kind)}' (known: ${SWEEP_KINDS.join(', ')})`, 'sweep');
  }
  const residSite = opts.residSite ?? 'block_output';
  if (residSite !== 'block_output' && residSite !== 'block_input') {
    throw new SubspaceError('BAD_ARGUMENT', `the residual-stream site must be block_output or block_input (got '${String(residSite)}')`, 'site');
  }
  const site: PatchableSite = opts.kind === 'heads' ? 'head_output' : opts.kind === 'resid' ? residSite : KIND_SITE[opts.kind];
  const layers = checkIndices('layer', opts.layers, spec.nLayers);
  const heads = opts.kind === 'heads' ? checkIndices('head', opts.heads, spec.nHeads) : undefined;
  if (opts.kind !== 'heads' && opts.heads !== undefined) throw new SubspaceError('BAD_ARGUMENT', `heads apply to the heads sweep only (this is '${opts.kind}')`, 'heads');
  const byPosition = opts.kind !== 'heads' || opts.perPosition === true;

  // Position axis: one aligned list per entry (a single position per pair, or -1 where a pair lacks it).
  let labels: string[] | undefined;
  let columns: { base: number[][]; source: number[][] }[] = [];
  if (byPosition) {
    if (opts.positions === 'index') {
      const common = base.lengths.map((lb, i) => Math.min(lb, source.lengths[i]));
      const T = Math.max(...common);
      labels = Array.from({ length: T }, (_, t) => String(t));
      columns = labels.map((_, t) => ({ base: common.map((c) => [t < c ? t : -1]), source: common.map((c) => [t < c ? t : -1]) }));
    } else {
      if (opts.positions.length === 0) throw new SubspaceError('BAD_ARGUMENT', 'the position list is empty', 'positions');
      labels = [...opts.positions];
      columns = labels.map((role) => alignPositions([role], base, source, opts.taskName));
    }
  }
  const all = byPosition ? undefined : alignPositions('all', base, source, opts.taskName);

  const cells: Cell[] = [];
  for (const layer of layers) {
    if (heads) {
      for (const head of heads) {
        if (all) cells.push({ site, layer, head, base: all.base, source: all.source });
        else for (const c of columns) cells.push({ site, layer, head, base: c.base, source: c.source });
      }
    } else {
      for (const c of columns) cells.push({ site, layer, base: c.base, source: c.source });
    }
  }
  const shape = heads ? (byPosition ? [layers.length, heads.length, labels!.length] : [layers.length, heads.length]) : [layers.length, labels!.length];
  return { site, layers, heads, positions: labels, cells, shape };
}

/** Flat values in cell order → nested arrays of the grid's shape. */
export function nest(values: readonly number[], shape: readonly number[]): any[] {
  if (shape.length === 1) return values.slice(0, shape[0]);
  const inner = shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0] }, (_, i) => nest(values.slice(i * inner, (i + 1) * inner), shape.slice(1)));
}
