import * as tf from '@tensorflow/tfjs-core';
import { initBackend, formatBackendReport } from './src-main/engine/backend/index.js';
tf.env().set('PROD', true);
try { const r = await initBackend(); console.log(formatBackendReport(r)); } catch (e) { console.log('ERR', (e as Error).message); }
