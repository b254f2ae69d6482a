import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestBackend, maxAbsDiff } from '../helpers/backend.js';
import { openModel } from '../../src-main/engine/open-model.js';
import type { LoadedModel } from '../../src-main/engine/io/model-folder.js';
import { loadTask } from '../../src-main/engine/tasks/registry.js';
import { patchSweepPairs, preparePairs, type PatchPair } from '../../src-main/engine/patching/index.js';
import { splitLayers, startParallelSweep, type ParallelSweep } from '../../src-main/engine/parallel/sweep.js';
import { startPool } from '../../src-main/engine/parallel/pool.js';

describe('splitLayers', () => {
  it('deals every layer out once, balancing early (costly) against late layers', () => {
    expect(splitLayers([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 2)).toEqual([
      [0, 3, 4, 7, 8, 11],
      [1, 2, 5, 6, 9, 10],
    ]);
    expect(splitLayers([3, 1], 4)).toEqual([[1], [3]]);
    const shares = splitLayers([0, 1, 2, 3, 4, 5, 6], 3);
    expect(shares.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});

describe('parallel patching sweep', () => {
  let m: LoadedModel;
  let pairs: PatchPair[];
  let parallel: ParallelSweep;
  beforeAll(async () => {
    // wasm on both sides: the pure-JS backend is too slow to keep vitest's own messages flowing.
    await useTestBackend('wasm');
    m = await openModel('demo-gpt2');
    const task = await loadTask('ioi');
    pairs = preparePairs(m.tokenizer!, task.splits.dev.slice(0, 2));
    parallel = await startParallelSweep(m.folder, pairs, { workers: 2, backend: 'wasm' });
  }, 120_000);
  afterAll(async () => {
    await parallel?.close();
    m?.model.dispose();
  });

  it('gives the values of one sweep over all layers, in layer order', async () => {
    const layers = [0, 1, 2, 3];
    for (const method of ['exact', 'attribution'] as const) {
      const whole = patchSweepPairs(m.model, pairs, { kind: 'heads', method, layers });
      const split = await parallel.sweep({ kind: 'heads', method }, layers);
      expect(split.layers).toEqual(layers);
      expect(split.values.length).toBe(4);
      expect(maxAbsDiff((split.values as number[][]).flat(), (whole.values as number[][]).flat()), method).toBeLessThan(1e-4);
      expect(split.stats.patches).toBe(whole.stats.patches);
      // Each worker runs the unpatched base and source itself, so the shares' work adds up to at least the whole's.
      if (method === 'exact') expect(split.stats.tokenLayers).toBeGreaterThanOrEqual(whole.stats.tokenLayers!);
      expect(split.clean).toBeCloseTo(whole.clean, 4);
    }
  });

  it('reports a job that throws, with the worker’s message, and carries on afterwards', async () => {
    await expect(parallel.sweep({ kind: 'heads', method: 'exact' }, [0, 9])).rejects.toThrow(/layer/i);
    const again = await parallel.sweep({ kind: 'heads', method: 'exact' }, [3]);
    expect(again.layers).toEqual([3]);
  });

  it('refuses a task module without run()', async () => {
    await expect(startPool(new URL('../../src-main/engine/parallel/protocol.ts', import.meta.url), {}, { workers: 1, backend: 'wasm' })).rejects.toThrow(/run\(job\)/);
  });
});
