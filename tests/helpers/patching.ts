import { expect } from 'vitest';
import * as tf from '../../src-main/engine/tf.js';
import type { LoadedModel } from '../../src-main/engine/io/model-folder.js';
import { flatValues, patchSweep, type SweepOptions, type SweepResult } from '../../src-main/engine/patching/index.js';
import type { TaskExample } from '../../src-main/engine/tasks/schema.js';

/**
 * The batched ('exact') sweep against one forward per patch ('naive'), value by value; `label`
 * names the case in the failure message.
 */
export function compareWithNaive(m: LoadedModel, ex: TaskExample[], opts: SweepOptions, label = JSON.stringify(opts)): { exact: SweepResult; naive: SweepResult } {
  const before = tf.memory().numTensors;
  const exact = patchSweep(m.model, m.tokenizer!, ex, { ...opts, method: 'exact' });
  const naive = patchSweep(m.model, m.tokenizer!, ex, { ...opts, method: 'naive' });
  expect(tf.memory().numTensors).toBe(before);
  const a = flatValues(exact.values);
  const b = flatValues(naive.values);
  expect(a).toHaveLength(b.length);
  expect(a.every(Number.isFinite)).toBe(true);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  expect(worst, label).toBeLessThan(1e-4);
  for (const k of ['unpatched', 'clean', 'corrupt'] as const) expect(exact[k]).toBeCloseTo(naive[k], 5);
  // Not a flat sweep: some patch moves the metric.
  expect(Math.max(...a.map((v) => Math.abs(v - exact.unpatched)))).toBeGreaterThan(1e-4);
  // Fewer token positions run through a layer than one forward per patch.
  expect(exact.stats.tokenLayers!).toBeLessThan(naive.stats.tokenLayers!);
  return { exact, naive };
}
