import { placeholderView } from '../Placeholder.js';

export const view = placeholderView('playground', 'Playground', 'Look inside a model on one prompt', [
  'the next-token distribution after a prompt',
  'attention patterns of every head of a layer',
  'the logit lens: the top tokens after every layer at every position',
  'generation with and without a trained intervention',
]);
