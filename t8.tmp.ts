import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from './src-main/engine/backend/index.js';
await initBackend({ prefer: 'wasm' });
for (const [V, N, D] of [[1000, 128, 768], [5000, 128, 768], [50257, 128, 768]]) {
  for (const be of ['wasm', 'cpu']) {
    if (be === 'cpu' && V > 5000) continue;
    await tf.setBackend(be);
    const x = tf.randomNormal([N, D]); const ids = tf.randomUniform([N], 0, V, 'int32');
    const t0 = performance.now(); const o = tf.unsortedSegmentSum(x, ids, V); o.dataSync(); const ms = performance.now() - t0;
    console.log(be, `V=${V} N=${N} D=${D}`, ms.toFixed(1), 'ms'); tf.dispose([x, ids, o]);
  }
}
