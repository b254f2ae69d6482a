/** A sweep's result as a heatmap (effect = value − unpatched) and the patch site of one cell. */

export interface SweepDoc {
  kind: 'heads' | 'resid' | 'attn' | 'mlp';
  site: string;
  method: string;
  direction: 'denoise' | 'noise';
  metric: string;
  perPosition: boolean;
  n: number;
  layers: number[];
  heads?: number[];
  positions?: string[];
  values: unknown[];
  unpatched: number;
  clean: number;
  corrupt: number;
  model: string;
  task: string;
  split: 'train' | 'dev' | 'test';
  warnings?: string[];
}

export interface CellSite {
  site: 'block_input' | 'attention_input' | 'head_output' | 'attention_output' | 'mlp_input' | 'mlp_hidden' | 'mlp_output' | 'block_output';
  layer: number;
  head?: number;
  positions: 'all' | (number | string)[];
}

const num = (v: unknown) => (typeof v === 'number' ? v : NaN);

/** Rows = layers; columns = heads, or positions (for a per-position heads sweep: of head `head`). */
export function sweepMatrix(d: SweepDoc, head: number): { values: number[][]; cols: string[] } {
  const eff = (v: unknown) => num(v) - d.unpatched;
  if (d.kind === 'heads' && !d.perPosition) return { values: d.values.map((row) => (row as unknown[]).map(eff)), cols: (d.heads ?? []).map((h) => `H${h}`) };
  if (d.kind === 'heads') return { values: d.values.map((row) => ((row as unknown[][])[head] ?? []).map(eff)), cols: d.positions ?? [] };
  return { values: d.values.map((row) => (row as unknown[]).map(eff)), cols: d.positions ?? [] };
}

/** The position of a column label: a token index, or a role name. */
function position(label: string): number | string {
  return /^\d+$/.test(label) ? Number(label) : label;
}

export function cellSite(d: SweepDoc, row: number, col: number, head: number): CellSite {
  const layer = d.layers[row];
  if (d.kind === 'heads' && !d.perPosition) return { site: 'head_output', layer, head: d.heads![col], positions: 'all' };
  if (d.kind === 'heads') return { site: 'head_output', layer, head: d.heads![head], positions: [position(d.positions![col])] };
  return { site: d.site as CellSite['site'], layer, positions: [position(d.positions![col])] };
}

export function cellLabel(d: SweepDoc, row: number, col: number, head: number): string {
  const s = cellSite(d, row, col, head);
  const where = s.positions === 'all' ? 'all positions' : `position ${String(s.positions[0])}`;
  return s.head !== undefined ? `L${s.layer}H${s.head}, ${where}` : `${s.site} L${s.layer}, ${where}`;
}
