import { placeholderView } from '../Placeholder.js';

export const view = placeholderView('reft', 'ReFT', 'Train low-rank representation interventions', [
  'a ReFT job form: layers, component, rank, positions, epochs, learning rate',
  'live loss and dev-accuracy curves with progress, elapsed time, an estimate and cancel',
  'the learned directions and the tokens they promote',
  'exports for pyreft and the native format',
]);
