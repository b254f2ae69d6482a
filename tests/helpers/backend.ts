import * as tf from '../../src-main/engine/tf.js';
import '@tensorflow/tfjs-backend-cpu';

/**
 * Tests run on the pure-JS `cpu` backend unless SUBSPACE_TEST_BACKEND names
 * another (e.g. wasm); the engine's code path is the same on every backend.
 */
export async function useTestBackend(name = process.env.SUBSPACE_TEST_BACKEND ?? 'cpu'): Promise<string> {
  if (name !== 'cpu') {
    const { initBackend } = await import('../../src-main/engine/backend/index.js');
    await initBackend({ prefer: name });
  } else {
    await tf.setBackend('cpu');
    await tf.ready();
  }
  return tf.getBackend();
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
