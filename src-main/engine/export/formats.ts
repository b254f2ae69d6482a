/** What each method's native export converts to (`subspace export` and the workbench's Runs view); any other method: native only. */
export const INTERVENTION_FORMATS: Readonly<Record<string, readonly ('native' | 'pyreft' | 'lofit-npy' | 'merged' | 'csv' | 'json')[]>> = {
  reft: ['native', 'pyreft'],
  lofit: ['native', 'lofit-npy', 'merged', 'csv', 'json'],
  iti: ['native', 'lofit-npy', 'merged', 'csv', 'json'],
};
