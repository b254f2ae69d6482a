/**
 * The 'das' job kind against the engine: a single-site run and a search run as jobs in worker
 * processes record the same IIA (metrics and the result the Interchange view reads back) as
 * trainDas / searchDas called directly here with the same settings and seed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiContext } from '../../src-main/api/context.js';
import { interchangeViewHandlers } from '../../src-main/api/handlers/interchange-view.js';
import { dasTaskFrom, searchDas, trainDas, type DasTask } from '../../src-main/engine/das/index.js';
import { openModel } from '../../src-main/engine/open-model.js';
import { loadTask } from '../../src-main/engine/tasks/registry.js';
import { JobManager } from '../../src-main/jobs/runner.js';
import { useTestBackend } from '../helpers/backend.js';

// wasm: the same kernels in the worker and here, and several times faster than cpu.
const BACKEND = (process.env.SUBSPACE_TEST_BACKEND ?? 'wasm') as 'wasm';
const TASK = 'hierarchical-equality';
const small = { variable: 'w=x', epochs: 1, nTrain: 24, nTest: 16, batchSize: 8, dim: 4, seed: 11 };

let dir: string;
let jobs: JobManager;
let model: Awaited<ReturnType<typeof openModel>>;
let task: DasTask;
const savedDataDir = process.env.SUBSPACE_DATA_DIR;

beforeAll(async () => {
  await useTestBackend(BACKEND);
  dir = mkdtempSync(join(tmpdir(), 'subspace-das-job-'));
  process.env.SUBSPACE_DATA_DIR = dir;
  jobs = new JobManager({ dataDir: dir });
  model = await openModel('demo-gpt2');
  task = dasTaskFrom(await loadTask(TASK));
});

afterAll(async () => {
  await jobs?.close();
  if (savedDataDir === undefined) delete process.env.SUBSPACE_DATA_DIR;
  else process.env.SUBSPACE_DATA_DIR = savedDataDir;
  rmSync(dir, { recursive: true, force: true });
});

/** What the Interchange view's handler returns for a run. */
async function viewResult(runId: string) {
  const h = interchangeViewHandlers({ store: jobs.store } as unknown as ApiContext);
  return await h['interchange.result']({ runId });
}

const lastValue = (runId: string, name: string) => {
  const s = jobs.store.getMetrics(runId)[name];
  expect(s, `metric ${name}`).toBeDefined();
  return s.values.at(-1);
};

describe("the 'das' job kind", () => {
  it('trains one site as a job and records the IIA the engine computes directly', async () => {
    const cfg = { ...small, layer: 2, position: 'END' };
    const id = jobs.submit({ kind: 'das', model: 'demo-gpt2', task: TASK, config: cfg, backend: BACKEND, name: 'das one site' });
    const e = await jobs.wait(id);
    expect(e.type, e.error).toBe('done');

    const direct = trainDas(model.model, model.tokenizer!, task, cfg);
    direct.intervention.dispose();
    const s = direct.summary;
    expect(s.test.n).toBe(16);

    expect(jobs.store.getRun(id)?.status).toBe('succeeded');
    expect(lastValue(id, 'test.iia')).toBe(s.test.iia);
    expect(lastValue(id, 'baseline')).toBe(s.test.baseline);
    expect(lastValue(id, 'test.changedIia')).toBe(s.test.changed.iia);
    // 24 pairs in batches of 8: three steps, the same losses (same seed, same batches).
    const loss = jobs.store.getMetrics(id).loss;
    expect(loss.steps).toEqual([1, 2, 3]);
    loss.values.forEach((v, i) => expect(v).toBeCloseTo(s.loss[i].value, 5));

    const files = jobs.store.listArtifacts(id).map((a) => a.path.split('/').pop()).sort();
    expect(files).toContain('manifest.json');
    expect(files).toContain('weights.safetensors');

    const r = await viewResult(id);
    expect(r.artifact).toBe('das');
    expect(r.result).toMatchObject({ method: 'das', task: TASK, variable: 'w=x', dim: 4, site: { layer: 2, position: 'END', component: 'block_output' } });
    const test = r.result.test as { iia: number; n: number; baseline: number; changed: { iia: number; n: number } };
    expect(test.iia).toBe(s.test.iia);
    expect(test.n).toBe(16);
    expect(test.baseline).toBe(s.test.baseline);
    expect(test.changed).toMatchObject({ iia: s.test.changed.iia, n: s.test.changed.n });
  }, 120_000);

  it('searches layers × positions as a job and records the engine’s IIA heatmap', async () => {
    const cfg = { ...small, search: true, layers: [1, 3], positions: ['X', 'END'] };
    const id = jobs.submit({ kind: 'das', model: 'demo-gpt2', task: TASK, config: cfg, backend: BACKEND, name: 'das search' });
    const e = await jobs.wait(id);
    expect(e.type, e.error).toBe('done');

    const direct = searchDas(model.model, model.tokenizer!, task, cfg);
    const r = await viewResult(id);
    expect(r.artifact).toBe('das-search');
    expect(r.result).toMatchObject({ method: 'das-search', variable: 'w=x', dim: 4, layers: [1, 3], positions: ['X', 'END'], testPairs: 16, trainPairs: 24 });
    expect(r.result.iia).toEqual(direct.iia);
    expect(r.result.best).toEqual(direct.best);
    expect(r.result.baseline).toBe(direct.baseline);
    expect(lastValue(id, 'best.iia')).toBe(direct.best.iia);
    expect(lastValue(id, 'baseline')).toBe(direct.baseline);
  }, 120_000);
});
