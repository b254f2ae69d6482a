/**
 * Data-parallel training steps on the CPU backends: a training loop splits each batch
 * with one helper thread (shard-thread.ts) that holds a copy of the model. On wasm the
 * many small kernels of a small model run one after another on one core whatever
 * XNNPACK's thread count, so a second copy working on half the rows uses the second
 * core where extra XNNPACK threads do not.
 *
 * SUBSPACE_TRAIN_SHARDS: 'auto' (default: 2 on a machine with 2 or more cores and the cpu
 * backend or a one-thread wasm backend, else 1) or a count; 1 turns the helper off. XNNPACK
 * threads and the helper would compete for the same cores (measured: slower than either
 * alone), so a process that trains starts wasm with one thread (wasmThreadsForTraining). The helper is started
 * once per process and kept (its start and the model copy cost about a second); a
 * loop whose helper fails runs on alone and says why.
 */
import { availableParallelism } from 'node:os';
import * as tf from '../tf.js';
import { errorMessage } from '../errors.js';
import type { Transformer } from '../model/transformer.js';
import { plainModel } from '../model/weights-transfer.js';
import { ShardThread } from './shard-thread.js';
import { wasmKernelThreads } from '../backend/wasm-kernels.js';

/**
 * The wasm thread count for a process about to train with the helper: 1 on a machine with
 * 2 or more cores, unless SUBSPACE_WASM_THREADS or SUBSPACE_TRAIN_SHARDS says otherwise
 * (undefined: leave the usual choice).
 */
export function wasmThreadsForTraining(env: NodeJS.ProcessEnv = process.env): number | undefined {
  if (env.SUBSPACE_WASM_THREADS?.trim()) return undefined;
  const s = env.SUBSPACE_TRAIN_SHARDS?.trim().toLowerCase();
  if (s && s !== 'auto' && !(Number(s) >= 2)) return undefined;
  return availableParallelism() >= 2 ? 1 : undefined;
}

/** How many parts each batch is split into (this thread's included). */
export function trainingShards(setting: string | number | undefined = process.env.SUBSPACE_TRAIN_SHARDS): number {
  const raw = typeof setting === 'string' ? setting.trim().toLowerCase() : setting;
  if (raw === undefined || raw === '' || raw === 'auto') {
    const backend = tf.getBackend();
    const free = backend === 'cpu' || (backend === 'wasm' && wasmKernelThreads() === 1);
    return free && availableParallelism() >= 2 ? 2 : 1;
  }
  const n = Number(raw);
  // Only one helper is kept; larger counts mean the same as 2.
  return Number.isInteger(n) && n >= 2 ? 2 : 1;
}

let helper: ShardThread | undefined;
let failure: string | undefined;
const modelKeys = new WeakMap<Transformer, number>();
let nextKey = 0;
let helperModel: number | undefined;

export interface TrainingHelper {
  thread: ShardThread;
  modelKey: number;
}

/** The helper holding this model, or the reason there is none. */
export function trainingHelper(model: Transformer): TrainingHelper | { none: string } {
  if (trainingShards() < 2) return { none: 'one part per batch (SUBSPACE_TRAIN_SHARDS, one core, or a backend with threads of its own)' };
  if (failure) return { none: failure };
  try {
    if (!helper || helper.isClosed) {
      helper = ShardThread.start({ backend: tf.getBackend() });
      helperModel = undefined;
    }
    let key = modelKeys.get(model);
    if (key === undefined) modelKeys.set(model, (key = ++nextKey));
    if (helperModel !== key) {
      helper.call({ task: 'model', key, model: plainModel(model) });
      helperModel = key;
    }
    return { thread: helper, modelKey: key };
  } catch (e) {
    failure = `the training helper is unavailable: ${errorMessage(e)}`;
    helper?.close();
    helper = undefined;
    return { none: failure };
  }
}

/** Stops the helper (tests; a later loop starts a new one). */
export function closeTrainingHelper(): void {
  helper?.close();
  helper = undefined;
  helperModel = undefined;
  failure = undefined;
}
