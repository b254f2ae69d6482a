/**
 * The engine's one entry to tfjs. tfjs-core's Node build registers neither the
 * gradients (needed by every trained intervention) nor the chained tensor
 * methods; the @tensorflow/tfjs union build does both, for every backend, and
 * is the same instance tfjs-node attaches to.
 */
import '@tensorflow/tfjs';

export * from '@tensorflow/tfjs-core';

import { env } from '@tensorflow/tfjs-core';

// PROD silences tfjs's console banners (the backend report says what runs and why).
env().set('PROD', true);
