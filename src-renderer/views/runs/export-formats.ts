/** How the Runs view names each export format; which formats a run has comes from runs.exportFormats. */
import type { EXPORT_FORMAT_NAMES } from '../../../src-main/api/contract.js';

export type ExportFormat = (typeof EXPORT_FORMAT_NAMES)[number];

const LABELS: Record<ExportFormat, string> = {
  native: 'native (Subspace)',
  pyreft: 'pyreft',
  'lofit-npy': 'LoFIT .npy heads',
  merged: 'merged checkpoint',
  csv: 'result tables CSV',
  json: 'result tables JSON',
};

/** The label of a format; csv and json of a LoFIT or ITI export are its head score matrix. */
export function formatLabel(format: ExportFormat, tables: readonly string[]): string {
  const headScores = tables.length === 1 && tables[0] === 'head-scores';
  if (format === 'csv') return headScores ? 'head scores CSV' : LABELS.csv;
  if (format === 'json') return headScores ? 'head scores JSON' : LABELS.json;
  return LABELS[format];
}

/** Whether a format writes tables (so the view lists them before and after). */
export const writesTables = (format: ExportFormat) => format === 'csv' || format === 'json';
