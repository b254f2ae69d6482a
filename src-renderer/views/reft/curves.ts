/** A run's metric curves, kept as the stored series plus the live points that arrived after them. */
export type Curves = Record<string, { x: number[]; y: number[] }>;

export function fromSeries(series: Record<string, { steps: number[]; values: (number | null)[] }>): Curves {
  const out: Curves = {};
  for (const [name, s] of Object.entries(series)) out[name] = { x: [...s.steps], y: s.values.map((v) => (v === null ? NaN : v)) };
  return out;
}

/** Appends one point; points at or before the curve's last step are already there (the stored series overlaps the live events). */
export function addPoint(curves: Curves, name: string, step: number, value: number | null): Curves {
  const c = curves[name] ?? { x: [], y: [] };
  if (c.x.length && step <= c.x[c.x.length - 1]) return curves;
  return { ...curves, [name]: { x: [...c.x, step], y: [...c.y, value === null ? NaN : value] } };
}
