/** Pure helpers of the LoFIT view: head sets, run records, the task a run used. */
import type { CellRef } from '../../charts/index.js';
import { topKCells } from '../../charts/index.js';

export type Head = [layer: number, head: number];

export const headKey = ([l, h]: readonly number[]): string => `${l}:${h}`;
export const headName = ([l, h]: readonly number[]): string => `L${l}H${h}`;

/** Null (NaN across the boundary) back to NaN, so the heatmap draws it hatched. */
export function toMatrix(values: readonly (readonly (number | null)[])[]): number[][] {
  return values.map((row) => row.map((v) => (v === null ? NaN : v)));
}

/** Adds the head when absent, removes it when present; keeps (layer, head) order. */
export function toggleHead(selection: readonly CellRef[], cell: CellRef): CellRef[] {
  const k = headKey(cell);
  const next = selection.some((c) => headKey(c) === k) ? selection.filter((c) => headKey(c) !== k) : [...selection, cell];
  return sortHeads(next);
}

export function sortHeads(heads: readonly CellRef[]): CellRef[] {
  return [...heads].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

export function sameHeads(a: readonly CellRef[], b: readonly CellRef[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a.map(headKey));
  return b.every((c) => s.has(headKey(c)));
}

export interface Overlap {
  shared: CellRef[];
  onlyA: CellRef[];
  onlyB: CellRef[];
  /** |A ∩ B| / |A ∪ B|; NaN when both are empty. */
  jaccard: number;
}

export function overlapOf(a: readonly CellRef[], b: readonly CellRef[]): Overlap {
  const inA = new Set(a.map(headKey));
  const inB = new Set(b.map(headKey));
  const shared = sortHeads(a.filter((c) => inB.has(headKey(c))));
  const onlyA = sortHeads(a.filter((c) => !inB.has(headKey(c))));
  const onlyB = sortHeads(b.filter((c) => !inA.has(headKey(c))));
  const union = shared.length + onlyA.length + onlyB.length;
  return { shared, onlyA, onlyB, jaccard: union === 0 ? NaN : shared.length / union };
}

/** The K best heads of a score matrix (NaN never chosen), in (layer, head) order. */
export function topHeads(values: number[][], k: number): CellRef[] {
  return sortHeads(topKCells(values, k, 'value'));
}

/** What the job record keeps of a run's task: a built-in name, or an inline task's name. */
export function taskKeyOf(config: Record<string, unknown>): string | undefined {
  const job = config.job as { task?: { builtin?: string; name?: string } } | undefined;
  return job?.task?.builtin ?? job?.task?.name;
}

export function modelOf(config: Record<string, unknown>): string | undefined {
  return (config.job as { model?: string } | undefined)?.model;
}

/** The head list a run was given (step 1 skipped), if any. */
export function givenHeadsOf(config: Record<string, unknown>): CellRef[] | undefined {
  const h = config.heads;
  return Array.isArray(h) ? (h as CellRef[]) : undefined;
}

/** The LoFIT settings of a run, without the job record and the head list, to start a sibling run. */
export function tuningConfigOf(config: Record<string, unknown>): Record<string, unknown> {
  const { job: _job, heads: _heads, ...rest } = config;
  return rest;
}

/** An inline task made of the first examples of a built-in task is named `<task> · first <n>`. */
export function inlineTaskName(task: string, limit: number): string {
  return `${task} · first ${limit}`;
}

export function parseTaskKey(key: string): { task: string; limit?: number } {
  const m = /^([a-z0-9-]+) · first (\d+)$/.exec(key);
  return m ? { task: m[1], limit: Number(m[2]) } : { task: key };
}
