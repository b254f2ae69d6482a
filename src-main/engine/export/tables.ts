/**
 * Tables of results as CSV or JSON: head score matrices [layer][head], activation patching results
 * (layer × position, columns labelled with the position's token), IIA heatmaps, or any labelled
 * matrix.
 *
 * CSV follows RFC 4180: fields holding a comma, a double quote, a line break or leading/trailing
 * whitespace are wrapped in double quotes, with inner quotes doubled; lines end with '\n' (which
 * every CSV reader accepts, and which diffs cleanly). Numbers are written in JavaScript's shortest
 * round-trip form; NaN as `nan` and infinities as `inf`/`-inf` (what Python's float() and pandas
 * read). JSON has no non-finite numbers, so JSON tables write them as null.
 */
import { SubspaceError } from '../errors.js';
import { writeFileAtomic } from './pytorch-zip.js';

export type Matrix = readonly ArrayLike<number>[];

export interface Table {
  /** [rows][cols] values. */
  matrix: Matrix;
  rowLabels: readonly string[];
  colLabels: readonly string[];
  /** The header of the label column (e.g. `layer`); default ''. */
  corner?: string;
  /** What the table holds (e.g. `head_scores`, `patching`, `iia`); JSON only. */
  kind?: string;
  /** Anything else worth keeping with the numbers (metric, model, task); JSON only. */
  meta?: Record<string, unknown>;
}

/** One CSV field, quoted when it must be. */
export function csvField(value: string | number): string {
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'nan';
    if (value === Infinity) return 'inf';
    if (value === -Infinity) return '-inf';
    return String(value);
  }
  const s = String(value);
  if (/[",\r\n]/.test(s) || /^\s|\s$/.test(s)) return `"${s.replace(/"/g, '""')}"`;
  return s;
}

function checkTable(matrix: Matrix, rowLabels: readonly string[], colLabels: readonly string[]): void {
  if (!Array.isArray(matrix)) throw new SubspaceError('BAD_ARGUMENT', 'a table needs a matrix: a list of rows', 'matrix');
  if (rowLabels.length !== matrix.length) {
    throw new SubspaceError('SHAPE_MISMATCH', `${rowLabels.length} row labels for ${matrix.length} rows`, 'rowLabels');
  }
  matrix.forEach((row, i) => {
    if (!row || row.length !== colLabels.length) {
      throw new SubspaceError('SHAPE_MISMATCH', `row ${i} (${rowLabels[i]}) has ${row?.length ?? 0} values for ${colLabels.length} column labels`, 'colLabels');
    }
  });
}

/** A labelled matrix as CSV: a header `corner,col0,col1,…`, then `rowLabel,v0,v1,…` per row. */
export function matrixToCsv(matrix: Matrix, rowLabels: readonly string[], colLabels: readonly string[], opts: { corner?: string } = {}): string {
  checkTable(matrix, rowLabels, colLabels);
  const lines = [[opts.corner ?? '', ...colLabels].map(csvField).join(',')];
  matrix.forEach((row, i) => {
    const cells = [csvField(rowLabels[i])];
    for (let j = 0; j < row.length; j++) cells.push(csvField(row[j]));
    lines.push(cells.join(','));
  });
  return lines.join('\n') + '\n';
}

/** A table as JSON: `{ kind, corner, rows, columns, values, meta }`, non-finite values as null. */
export function tableToJson(t: Table): string {
  checkTable(t.matrix, t.rowLabels, t.colLabels);
  const values = t.matrix.map((row) => Array.from(row, (v) => (Number.isFinite(v) ? v : null)));
  const out: Record<string, unknown> = {};
  if (t.kind !== undefined) out.kind = t.kind;
  out.corner = t.corner ?? '';
  out.rows = [...t.rowLabels];
  out.columns = [...t.colLabels];
  out.values = values;
  if (t.meta !== undefined) out.meta = t.meta;
  return JSON.stringify(out, null, 2) + '\n';
}

/** Writes a table as CSV or JSON, atomically. */
export function writeTable(path: string, t: Table & { format: 'csv' | 'json' }): void {
  if (t.format !== 'csv' && t.format !== 'json') throw new SubspaceError('BAD_ARGUMENT', `table format must be csv or json, got '${String(t.format)}'`, 'format');
  const text = t.format === 'csv' ? matrixToCsv(t.matrix, t.rowLabels, t.colLabels, { corner: t.corner }) : tableToJson(t);
  writeFileAtomic(path, text);
}

/** Head scores [layer][head]: rows `0, 1, …`, columns `h0, h1, …`, corner `layer`. */
export function headScoreTable(scores: Matrix, meta?: Record<string, unknown>): Table {
  const nHeads = scores[0]?.length ?? 0;
  return {
    kind: 'head_scores',
    matrix: scores,
    rowLabels: scores.map((_, l) => String(l)),
    colLabels: Array.from({ length: nHeads }, (_, h) => `h${h}`),
    corner: 'layer',
    meta,
  };
}

/**
 * A layer × position matrix (activation patching, IIA by layer and position): rows `0, 1, …`,
 * columns `<position>:<token>` (the token text kept as is, so quoting handles spaces and commas).
 */
export function layerPositionTable(matrix: Matrix, tokens: readonly string[], opts: { kind?: string; rowLabels?: readonly string[]; corner?: string; meta?: Record<string, unknown> } = {}): Table {
  return {
    kind: opts.kind ?? 'layer_position',
    matrix,
    rowLabels: opts.rowLabels ?? matrix.map((_, l) => String(l)),
    colLabels: tokens.map((t, i) => `${i}:${t}`),
    corner: opts.corner ?? 'layer',
    meta: opts.meta,
  };
}

/**
 * A layer × head matrix over some of the layers and heads (a patching sweep or an ablation):
 * rows are the layer numbers, columns `h<head>`, corner `layer`.
 */
export function layerHeadTable(matrix: Matrix, layers: readonly number[], heads: readonly number[], opts: { kind?: string; meta?: Record<string, unknown> } = {}): Table {
  return {
    kind: opts.kind ?? 'layer_head',
    matrix,
    rowLabels: layers.map(String),
    colLabels: heads.map((h) => `h${h}`),
    corner: 'layer',
    meta: opts.meta,
  };
}
