/**
 * A patching sweep split by layer across worker processes (pool.ts): each worker
 * loads the model once and sweeps its share of the layers; the results are put
 * back together in layer order, as one sweep over all of them would give.
 */
import { SubspaceError } from '../errors.js';
import type { PatchPair, SweepOptions, SweepResult } from '../patching/index.js';
import { startPool, type Pool, type PoolOptions } from './pool.js';
import type { SweepInit, SweepJob } from './sweep-task.js';

/**
 * Layers dealt out so that each share costs about the same: a patch at layer l
 * reruns layers l.. (the exact method starts from the residual entering its
 * first patched layer), so early layers cost more. Snake order over `shares`.
 */
export function splitLayers(layers: readonly number[], shares: number): number[][] {
  const out: number[][] = Array.from({ length: Math.min(shares, layers.length) }, () => []);
  const sorted = [...layers].sort((a, b) => a - b);
  sorted.forEach((l, i) => {
    const round = Math.floor(i / out.length);
    const k = i % out.length;
    out[round % 2 === 0 ? k : out.length - 1 - k].push(l);
  });
  return out.filter((s) => s.length > 0);
}

/** Merges per-layer-share results of one sweep into the result of the whole sweep. */
export function mergeSweeps(parts: SweepResult[], ms: number): SweepResult {
  if (parts.length === 0) throw new SubspaceError('BAD_ARGUMENT', 'no sweep results to merge', 'parts');
  const rows = parts.flatMap((p) => p.layers.map((l, i) => ({ l, v: p.values[i] as unknown })));
  rows.sort((a, b) => a.l - b.l);
  const first = parts[0];
  const sum = (k: 'patches' | 'forwards' | 'backwards') => parts.reduce((a, p) => a + p.stats[k], 0);
  return {
    ...first,
    layers: rows.map((r) => r.l),
    values: rows.map((r) => r.v),
    stats: {
      patches: sum('patches'),
      forwards: sum('forwards'),
      backwards: sum('backwards'),
      maxRowsPerForward: Math.max(...parts.map((p) => p.stats.maxRowsPerForward)),
      ...(parts.every((p) => p.stats.tokenLayers !== undefined) && { tokenLayers: parts.reduce((a, p) => a + p.stats.tokenLayers!, 0) }),
      ms,
    },
    warnings: [...new Set(parts.flatMap((p) => p.warnings))],
  };
}

export interface ParallelSweep {
  /** Runs one sweep across the pool's workers. */
  sweep(opts: SweepOptions, layers: readonly number[]): Promise<SweepResult>;
  close(): Promise<void>;
  readonly workers: number;
}

/** Starts workers holding the model at `folder` and these pairs. */
export async function startParallelSweep(folder: string, pairs: PatchPair[], poolOpts: PoolOptions = {}): Promise<ParallelSweep> {
  const pool: Pool<SweepJob, SweepResult> = await startPool<SweepInit, SweepJob, SweepResult>(new URL(import.meta.url.endsWith('.ts') ? './sweep-task.ts' : './sweep-task.js', import.meta.url), { folder, pairs }, poolOpts);
  return {
    workers: pool.size,
    async sweep(opts, layers) {
      const t0 = performance.now();
      const parts = await pool.map(splitLayers(layers, pool.size).map((share) => ({ opts, layers: share })));
      return mergeSweeps(parts, performance.now() - t0);
    },
    close: () => pool.close(),
  };
}
