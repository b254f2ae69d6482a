import type { ModelSpec } from '../config.js';
import type { ModelWeights, WeightSource } from '../weights.js';
import { mapGpt2Weights } from './gpt2.js';
import { mapLlamaWeights } from './llama.js';

/** The one place that knows which checkpoint layout each family uses. */
export function mapWeights(spec: ModelSpec, src: WeightSource): ModelWeights {
  return spec.family === 'gpt2' ? mapGpt2Weights(spec, src) : mapLlamaWeights(spec, src);
}
