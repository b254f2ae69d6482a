import { placeholderView } from '../Placeholder.js';

export const view = placeholderView('lofit', 'LoFIT', 'Find the heads that matter, then tune an offset per head', [
  'a LoFIT (and ITI) job form: model, task, K, learning rates, epochs',
  'the head score heatmap (x = head, y = layer) with the top-K heads outlined and a K slider',
  'live loss curves with progress, elapsed time, an estimate and cancel',
  'accuracy before and after, and exports of the selected heads',
]);
