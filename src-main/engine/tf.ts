/**
 * The engine's one entry to tfjs-core. Importing tfjs-core alone registers
 * neither the gradients (needed by every trained intervention) nor the chained
 * tensor methods; this module does both, once, for every backend.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';

export * from '@tensorflow/tfjs-core';
