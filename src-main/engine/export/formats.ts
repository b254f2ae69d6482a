/** The formats a recorded run can be exported in, shared by `subspace export` and the workbench's Runs view. */
export const EXPORT_FORMATS = ['native', 'pyreft', 'lofit-npy', 'merged', 'csv', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** What each method's native export converts to; any other method: native only. */
export const INTERVENTION_FORMATS: Readonly<Record<string, readonly ExportFormat[]>> = {
  reft: ['native', 'pyreft'],
  lofit: ['native', 'lofit-npy', 'merged', 'csv', 'json'],
  iti: ['native', 'lofit-npy', 'merged', 'csv', 'json'],
};

/** A run's formats: its native export's conversions (when it wrote one), and csv/json when it has result tables. */
export function runExportFormats(method: string | undefined, hasTables: boolean): ExportFormat[] {
  const out: ExportFormat[] = method ? [...(INTERVENTION_FORMATS[method] ?? ['native'])] : [];
  if (hasTables) for (const f of ['csv', 'json'] as const) if (!out.includes(f)) out.push(f);
  return out;
}

