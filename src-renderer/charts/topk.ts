/** A cell of a matrix: [row, col] (for per-head charts, [layer, head]). */
export type CellRef = readonly [row: number, col: number];

export function cellKey(row: number, col: number): string {
  return `${row}:${col}`;
}

/**
 * The K cells with the largest score (or largest |score| with `by: 'abs'`), best first. NaN cells
 * are never chosen; ties go to the earlier cell in row-major order, so the choice is stable.
 */
export function topKCells(values: readonly (readonly number[])[], k: number, by: 'value' | 'abs' = 'value'): CellRef[] {
  const cells: { row: number; col: number; score: number }[] = [];
  values.forEach((row, r) =>
    row.forEach((v, c) => {
      if (!Number.isNaN(v)) cells.push({ row: r, col: c, score: by === 'abs' ? Math.abs(v) : v });
    }),
  );
  // Array.prototype.sort is stable, so equal scores keep row-major order.
  cells.sort((a, b) => (b.score > a.score ? 1 : b.score < a.score ? -1 : 0));
  const n = Math.max(0, Math.min(Math.floor(k), cells.length));
  return cells.slice(0, n).map((c) => [c.row, c.col] as const);
}
