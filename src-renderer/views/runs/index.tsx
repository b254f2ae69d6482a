import { placeholderView } from '../Placeholder.js';

export const view = placeholderView('runs', 'Runs', 'Every recorded run: filter, compare, export', [
  'runs filtered by kind, status and model, sorted by time or name',
  'one run: its config, metric curves, artifacts and head scores',
  'two or more runs side by side: config differences and final metrics',
  'export to pyreft, LoFIT .npy, merged checkpoints, CSV and JSON',
]);
