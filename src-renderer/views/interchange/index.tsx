import { placeholderView } from '../Placeholder.js';

export const view = placeholderView('interchange', 'Interchange', 'Activation patching and distributed alignment search', [
  'activation patching over layers × positions (signed effect, red–white–blue centred at 0)',
  'per-head patching effects (x = head, y = layer)',
  'DAS: interchange-intervention accuracy per layer and position (0 to 1)',
]);
