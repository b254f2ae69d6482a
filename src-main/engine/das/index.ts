/**
 * Distributed alignment search: DAS interventions (rotated, lowrank, boundless), training on a
 * task's counterfactual labels, interchange intervention accuracy, the layers × positions search,
 * and the native export.
 */
export * from './interventions.js';
export * from './data.js';
export * from './train.js';
export * from './search.js';
export * from './artifact.js';
export * from './cache.js';
