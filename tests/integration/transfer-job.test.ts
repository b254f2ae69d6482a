/**
 * The 'transfer' job kind on demo-gpt2: step 1 on two built-in tasks and step 2 on every pair, in a
 * worker. Its matrix and head lists must equal LoFIT step 1 and transferMatrix called here with the
 * same settings and seed; progress counts one step per selection and per cell; cancelling stops it;
 * bad settings are refused with the field named (by the job protocol and by the API handler).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { methods } from '../../src-main/api/contract.js';
import type { ApiContext } from '../../src-main/api/context.js';
import { transferViewHandlers } from '../../src-main/api/handlers/transfer-view.js';
import { transferMatrix } from '../../src-main/engine/methods/comparisons.js';
import { lofitSelect } from '../../src-main/engine/methods/lofit.js';
import { openModel } from '../../src-main/engine/open-model.js';
import { loadTask } from '../../src-main/engine/tasks/registry.js';
import type { JobEvent } from '../../src-main/jobs/protocol.js';
import { useTestBackend } from '../helpers/backend.js';
import { useJobManager } from '../helpers/jobs.js';

// demo-gpt2 on the pure-JS backend takes minutes here; wasm (as das-job.test.ts) takes seconds.
const BACKEND = (process.env.SUBSPACE_TEST_BACKEND ?? 'wasm') as 'wasm';
// A task the demo model lacks (fact-edit) beside one it solves (induction), with enough step-2
// training that the head list moves the scores: the cells differ, so a wrong head list or setting shows.
const TASKS = ['fact-edit', 'induction'];
const LIMIT = 12;
const settings = { k: 4, epochs: 2, seed: 5, batchSize: 4, lrTune: 0.2 };
/** A submission as the API handler makes it: the job's own task is the first of the matrix's tasks. */
const spec = (config: { tasks: string[] } & Record<string, unknown>) => ({ kind: 'transfer' as const, model: 'demo-gpt2', task: config.tasks[0], backend: BACKEND, config });

const env = useJobManager('subspace-transfer-');
const { collect } = env;

describe('transfer job', () => {
  let runId: string;
  let doc: { tasks: string[]; matrix: number[][]; heads: Record<string, [number, number][]>; k: number; metric: Record<string, string>; settings: Record<string, number>; examples: Record<string, { train: number; test: number }> };

  it('runs step 1 per task and every cell, one progress step each, and records matrix, heads and settings', { timeout: 180_000 }, async () => {
    runId = env.jobs.submit(spec({ tasks: TASKS, limit: LIMIT, ...settings }));
    const events = await collect(runId);
    expect(events.at(-1)?.type).toBe('done');
    const progress = events.filter((e) => e.type === 'progress');
    const n = TASKS.length;
    expect(progress.every((e) => e.total === n + n * n)).toBe(true);
    const steps = progress.map((e) => e.step);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    // Every count from 0 to n + n² is reported: the selections in their phase, then the cells.
    expect([...new Set(steps)]).toEqual(Array.from({ length: n + n * n + 1 }, (_, i) => i));
    expect(progress.filter((e) => e.phase === 'transfer-select').every((e) => e.step <= n)).toBe(true);
    expect(progress.filter((e) => e.phase === 'transfer-tune').every((e) => e.step >= n)).toBe(true);

    const run = env.jobs.store.getRun(runId)!;
    expect(run).toMatchObject({ kind: 'transfer', status: 'succeeded', backend: BACKEND });
    expect(run.config).toMatchObject({ tasks: TASKS, limit: LIMIT, ...settings });
    const art = env.jobs.store.listArtifacts(runId).find((a) => a.kind === 'transfer');
    expect(art?.path).toMatch(/transfer-matrix\.json$/);
    doc = JSON.parse(readFileSync(art!.path, 'utf8'));
    expect(doc.tasks).toEqual(TASKS);
    expect(doc.k).toBe(settings.k);
    expect(doc.metric).toEqual({ 'fact-edit': 'accuracy', induction: 'accuracy' });
    expect(doc.settings).toEqual({ limit: LIMIT, ...settings });
    expect(doc.examples.induction).toMatchObject({ train: LIMIT, test: LIMIT });
    expect(doc.matrix).toHaveLength(n);
    for (const row of doc.matrix) for (const v of row) expect(v >= 0 && v <= 1).toBe(true);
    expect(new Set(doc.matrix.flat()).size).toBeGreaterThan(1);

    // Every cell is a metric of the run; each task's top K a head selection, its step-1 scores head scores.
    const m = env.jobs.store.getMetrics(runId);
    TASKS.forEach((a, i) => TASKS.forEach((b, j) => expect(m[`transfer.${a}.${b}`]?.values).toEqual([doc.matrix[i][j]])));
    expect(m['mean.diagonal'].values[0]).toBeCloseTo((doc.matrix[0][0] + doc.matrix[1][1]) / 2, 12);
    expect(m['mean.offDiagonal'].values[0]).toBeCloseTo((doc.matrix[0][1] + doc.matrix[1][0]) / 2, 12);
    for (const t of TASKS) {
      expect(env.jobs.store.getHeadSelection(runId, `lofit-top-k:${t}`)!.heads.map(({ layer, head }) => [layer, head])).toEqual(doc.heads[t]);
      expect(env.jobs.store.getHeadScores(runId, `lofit-scores:${t}`)).toMatchObject({ layers: 4, heads: 8 });
      expect(doc.heads[t]).toHaveLength(settings.k);
    }
  });

  it('equals LoFIT step 1 and transferMatrix run directly with the same settings and seed', { timeout: 180_000 }, async () => {
    expect(doc).toBeDefined();
    await useTestBackend(BACKEND);
    const g = await openModel('demo-gpt2');
    const common = { epochs: settings.epochs, seed: settings.seed, batchSize: settings.batchSize };
    const data = [];
    for (const name of TASKS) {
      const t = await loadTask(name);
      const mc = t.manifest.kind === 'multiple-choice';
      const d = { train: t.splits.train.slice(0, LIMIT), dev: t.splits.dev.slice(0, LIMIT), test: t.splits.test.slice(0, LIMIT) };
      const heads = lofitSelect(g.model, g.tokenizer!, d, { ...common, k: settings.k, multipleChoice: mc }).selected;
      data.push({ name, data: d, multipleChoice: mc, heads });
    }
    for (const t of data) expect(doc.heads[t.name]).toEqual(t.heads);
    const direct = transferMatrix(g.model, g.tokenizer!, data, { ...common, lr: settings.lrTune });
    expect(direct.tasks).toEqual(TASKS);
    expect(doc.matrix).toEqual(direct.metric);
    g.model.dispose();
  });

  it('reads the finished matrix back through the API handler', async () => {
    const h = transferViewHandlers({ store: env.jobs.store, jobs: env.jobs } as unknown as ApiContext);
    const r = await h['transfer.result']({ runId });
    expect(r).toMatchObject({ runId, status: 'succeeded', complete: true, model: 'demo-gpt2', tasks: TASKS, k: settings.k, matrix: doc.matrix, heads: doc.heads, metric: doc.metric, backend: BACKEND });
    expect(r.settings).toEqual({ limit: LIMIT, ...settings });
    expect(methods['transfer.result'].response.safeParse(r).success).toBe(true);
  });

  it('stops when cancelled and keeps the run readable as an incomplete matrix', { timeout: 120_000 }, async () => {
    // Enough work that it cannot finish before the cancel arrives.
    const id = env.jobs.submit(spec({ tasks: ['ioi', 'induction', 'family'], k: 4, epochs: 20, seed: 1 }));
    const cancelOnFirstStep = (e: JobEvent) => {
      if (e.jobId === id && e.type === 'progress') env.jobs.cancel(id);
    };
    env.jobs.on('event', cancelOnFirstStep);
    try {
      const end = await env.jobs.wait(id);
      expect(end.type).toBe('cancelled');
    } finally {
      env.jobs.off('event', cancelOnFirstStep);
    }
    expect(env.jobs.store.getRun(id)).toMatchObject({ status: 'cancelled' });
    expect(env.jobs.store.listArtifacts(id).some((a) => a.kind === 'transfer')).toBe(false);
    const r = await transferViewHandlers({ store: env.jobs.store, jobs: env.jobs } as unknown as ApiContext)['transfer.result']({ runId: id });
    expect(r).toMatchObject({ status: 'cancelled', complete: false, tasks: ['ioi', 'induction', 'family'], k: 4 });
    expect(r.matrix.flat()).toEqual(Array(9).fill(null));
  });

  it('refuses fewer than 2 tasks, a repeated task, an unknown task and K outside the model, naming the field', async () => {
    const before = env.jobs.store.countRuns();
    expect(() => env.jobs.submit(spec({ tasks: ['ioi'] }))).toThrow(/submit: config\.tasks: must name at least 2 tasks/);
    expect(() => env.jobs.submit(spec({ tasks: ['ioi', 'ioi'] }))).toThrow(/config\.tasks: must not name a task twice/);
    expect(() => env.jobs.submit(spec({ tasks: ['ioi', 'induction'], k: 0 }))).toThrow(/config\.k: must be at least 1/);
    expect(env.jobs.store.countRuns()).toBe(before);

    // The request schema of the API says the same before any handler runs.
    const bad = methods['transfer.start'].request.safeParse({ model: 'demo-gpt2', tasks: ['ioi'] });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]).toMatchObject({ path: ['tasks'], message: expect.stringMatching(/at least 2 tasks/) });

    // The handler knows the model and the task folder: K and task names are field errors at once.
    const h = transferViewHandlers({ store: env.jobs.store, jobs: env.jobs } as unknown as ApiContext);
    const start = (over: Record<string, unknown>) => h['transfer.start']({ model: 'demo-gpt2', tasks: ['ioi', 'induction'], ...over } as Parameters<(typeof h)['transfer.start']>[0]);
    await expect(start({ k: 33 })).rejects.toMatchObject({ field: 'k', message: 'transfer.start: k: must be at most 32 (demo-gpt2 has 4 layers × 8 heads)' });
    await expect(start({ tasks: ['ioi', 'no-such-task'] })).rejects.toMatchObject({ field: 'tasks.1', message: expect.stringMatching(/^transfer\.start: tasks\.1: no built-in task 'no-such-task' \(known: .*ioi/) });
    await expect(start({ model: 'no-such-model' })).rejects.toMatchObject({ field: 'model' });
    expect(env.jobs.store.countRuns()).toBe(before);

    // Submitted without the handler, the worker checks before it trains: the job fails with the reason.
    const unknown = env.jobs.submit(spec({ tasks: ['ioi', 'no-such-task'] }));
    expect(await env.jobs.wait(unknown)).toMatchObject({ type: 'failed', error: expect.stringMatching(/config\.tasks\.1: unknown task 'no-such-task'/) });
    const tooMany = env.jobs.submit(spec({ tasks: ['ioi', 'induction'], k: 99 }));
    expect(await env.jobs.wait(tooMany)).toMatchObject({ type: 'failed', error: expect.stringMatching(/config\.k = 99 must be a whole number of heads from 1 to 32/) });
    expect(env.jobs.store.getMetrics(tooMany)).toEqual({});
  }, 120_000);
});
