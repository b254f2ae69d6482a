/** Pure helpers of the cross-task transfer panel: the matrix as the heatmap draws it, and its summary per task. */
import type { ApiResponse } from '../../../src-main/api/contract.js';
import type { CellRef } from '../../charts/index.js';
import { transferCellMetric } from '../../../src-main/jobs/protocol.js';

export type TransferResult = ApiResponse<'transfer.result'>;
export type TransferOptions = ApiResponse<'transfer.options'>;

/** A metric event of a transfer run that is one of its cells. */
export const isCellMetric = (name: string, tasks: readonly string[]): boolean => tasks.some((a) => tasks.some((b) => transferCellMetric(a, b) === name));

/** Step 1 once per task and step 2 once per cell: the job's progress steps. */
export const transferUnits = (n: number): number => n + n * n;

export const metricLabel = (m: 'accuracy' | 'mc1' | undefined): string => (m === 'mc1' ? 'MC1' : 'accuracy');

/** null (not measured yet, or NaN across the boundary) as NaN, which the heatmap hatches. */
export function matrixValues(r: TransferResult): number[][] {
  return r.matrix.map((row) => row.map((v) => (v === null ? NaN : v)));
}

export function diagonalCells(n: number): CellRef[] {
  return Array.from({ length: n }, (_, i) => [i, i] as CellRef);
}

export interface TaskSummary {
  task: string;
  metric: string;
  base: number | null;
  /** The diagonal: step 2 with the task's own heads (ordinary LoFIT). */
  own: number | null;
  /** The best cell of the row with another task's heads. */
  bestOther: { value: number; from: string } | null;
  heads: CellRef[];
}

export function taskSummaries(r: TransferResult): TaskSummary[] {
  return r.tasks.map((task, i) => {
    const row = r.matrix[i] ?? [];
    let bestOther: TaskSummary['bestOther'] = null;
    row.forEach((v, j) => {
      if (j !== i && v !== null && (bestOther === null || v > bestOther.value)) bestOther = { value: v, from: r.tasks[j] };
    });
    return { task, metric: metricLabel(r.metric[task]), base: r.base[task] ?? null, own: row[i] ?? null, bestOther, heads: (r.heads[task] ?? []) as CellRef[] };
  });
}

export const formatScore = (v: number | null | undefined): string => (v === null || v === undefined || Number.isNaN(v) ? '—' : v.toFixed(3));

/** Cells wide enough for task names on a small matrix, narrower as it grows. */
export function cellSize(n: number): { cellWidth: number; cellHeight: number } {
  // 150 px holds the longest built-in task name unrotated.
  if (n <= 3) return { cellWidth: 150, cellHeight: 44 };
  if (n <= 5) return { cellWidth: 88, cellHeight: 40 };
  return { cellWidth: 64, cellHeight: 34 };
}
