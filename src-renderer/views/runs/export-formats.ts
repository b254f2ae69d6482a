/** The export formats a run's kind allows (mirrors the conversions of the compute process's exportRun). */
import type { RunSummary } from '../../../src-main/api/contract.js';

type Format = 'native' | 'pyreft' | 'lofit-npy' | 'merged' | 'csv' | 'json';

export const EXPORT_FORMATS: Record<RunSummary['kind'], { format: Format; label: string }[]> = {
  reft: [
    { format: 'native', label: 'native (Subspace)' },
    { format: 'pyreft', label: 'pyreft' },
  ],
  lofit: [
    { format: 'native', label: 'native (Subspace)' },
    { format: 'lofit-npy', label: 'LoFIT .npy heads' },
    { format: 'merged', label: 'merged checkpoint' },
    { format: 'csv', label: 'head scores CSV' },
    { format: 'json', label: 'head scores JSON' },
  ],
  iti: [
    { format: 'native', label: 'native (Subspace)' },
    { format: 'lofit-npy', label: 'LoFIT .npy heads' },
    { format: 'merged', label: 'merged checkpoint' },
    { format: 'csv', label: 'head scores CSV' },
    { format: 'json', label: 'head scores JSON' },
  ],
  das: [{ format: 'native', label: 'native (Subspace)' }],
  patch: [],
  eval: [],
  transfer: [],
  baseline: [],
  ablate: [],
};
