/**
 * Tensor growth: the tfjs tensor count through a long training run. A step that
 * leaves one tensor behind shows up as (steps − 1) extra tensors at the end.
 */
import * as tf from '../src-main/engine/tf.js';
import type { LoadedModel } from '../src-main/engine/io/model-folder.js';
import { trainReft } from '../src-main/engine/methods/reft.js';
import { lofitTune } from '../src-main/engine/methods/lofit.js';
import type { RunHooks } from '../src-main/engine/methods/progress.js';
import type { TaskExample } from '../src-main/engine/tasks/schema.js';
import { withEnv } from './env.js';

export interface GrowthFigures {
  method: string;
  steps: number;
  /** Before the run, after its first step, after its last step, after it returned and was disposed. */
  before: number;
  afterFirstStep: number;
  afterLastStep: number;
  after: number;
  /** afterLastStep − afterFirstStep: must be 0. */
  growth: number;
  ms: number;
}

function watch(): { hooks: RunHooks; first: () => number; last: () => number; steps: () => number } {
  let first = -1;
  let last = -1;
  let steps = 0;
  return {
    hooks: {
      onProgress: (p) => {
        // Progress fires after each step (and after dev evaluations, which these runs skip).
        if (p.step === 1 && first < 0) first = tf.memory().numTensors;
        if (p.step > steps) {
          steps = p.step;
          last = tf.memory().numTensors;
        }
      },
    },
    first: () => first,
    last: () => last,
    steps: () => steps,
  };
}

function run(method: string, f: (hooks: RunHooks) => void): GrowthFigures {
  const before = tf.memory().numTensors;
  const w = watch();
  const t0 = performance.now();
  f(w.hooks);
  const ms = performance.now() - t0;
  const after = tf.memory().numTensors;
  return { method, steps: w.steps(), before, afterFirstStep: w.first(), afterLastStep: w.last(), after, growth: w.last() - w.first(), ms };
}

/** `steps` steps of ReFT (window cache) and of LoFIT step 2 (prefix cache), one batch per epoch. */
export function benchGrowth(m: LoadedModel, train: TaskExample[], steps: number): GrowthFigures[] {
  const tok = m.tokenizer!;
  const data = { train: train.slice(0, 8), dev: [] };
  const layer = Math.floor(m.spec.nLayers / 2);
  return [
    run('reft', (hooks) => {
      const r = trainReft(m.model, tok, data, { layers: [layer], rank: 4, epochs: steps, batchSize: 8, warmupRatio: 0 }, hooks);
      for (const p of r.interventions) p.intervention.dispose();
    }),
    // With the training helper, as LoFIT jobs run (its thread's tensors are its own; this counts the loop's).
    run('lofit-tune', (hooks) => {
      withEnv('SUBSPACE_TRAIN_SHARDS', '2', () => lofitTune(m.model, tok, data, [[layer, 0], [layer, 1]], { epochs: steps, batchSize: 8, warmupRatio: 0 }, hooks));
    }),
  ];
}
