import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModelFolder, type LoadedModel } from '../../src-main/engine/io/model-folder.js';
import { parseSafetensors } from '../../src-main/engine/io/safetensors.js';
import { trainReft, type ReftCheckpoint, type ReftConfig } from '../../src-main/engine/methods/reft.js';
import { loadReftCheckpoint, saveReftCheckpoint } from '../../src-main/jobs/checkpoint.js';
import type { JobEvent } from '../../src-main/jobs/protocol.js';
import { JobManager } from '../../src-main/jobs/runner.js';
import { openStore } from '../../src-main/store/index.js';
import { maxAbsDiff, useTestBackend } from '../helpers/backend.js';
import { useJobManager } from '../helpers/jobs.js';
import { toyTask } from '../helpers/toy-task.js';
import { withEnv } from '../../bench/env.js';

const MODEL = join(import.meta.dirname, '..', 'fixtures', 'reference', 'gpt2-tied');
const BACKEND = (process.env.SUBSPACE_TEST_BACKEND ?? 'cpu') as 'cpu';

const train = toyTask(48, 1);
const dev = toyTask(16, 2);
const test = toyTask(8, 3);
// 6 steps per epoch, 24 in all; dropout so that resuming must also reproduce the masks.
const cfg = { layers: [1], epochs: 4, batchSize: 8, lr: 2e-2, rank: 2, seed: 7, dropout: 0.1, positions: 'f1+l1' };
const reftSpec = (over: Record<string, unknown> = {}) => ({ kind: 'reft' as const, model: MODEL, task: { name: 'toy', examples: train, dev, test }, config: cfg, backend: BACKEND, checkpointEvery: 4, ...over });

const env = useJobManager('subspace-jobs-');
const { collect } = env;

/** The tensors of an export's weights file. */
function weightsOf(manifestPath: string): Map<string, Float32Array> {
  const file = join(dirname(manifestPath), 'weights.safetensors');
  const st = parseSafetensors(readFileSync(file), file);
  return new Map([...st.tensors].map(([k, t]) => [k, t.data as Float32Array]));
}

function manifestOf(runId: string): string {
  const a = env.jobs.store.listArtifacts(runId).find((x) => x.path.endsWith('manifest.json'));
  expect(a).toBeDefined();
  return a!.path;
}

describe('trainReft checkpoints', () => {
  let m: LoadedModel;
  beforeAll(async () => {
    await useTestBackend();
    m = await loadModelFolder(MODEL);
  });

  it('resuming from a saved checkpoint ends with the weights and curve of an uninterrupted run', () => {
    const c: Partial<ReftConfig> & { layers: number[] } = { ...cfg, epochs: 3 };
    const saved: ReftCheckpoint[] = [];
    const full = trainReft(m.model, m.tokenizer!, { train, dev }, c, { checkpoint: { everySteps: 5, save: (ck) => saved.push(ck) } });
    // 6 steps an epoch: steps 5, 10 and 15 all fall mid-epoch, at (epoch, next batch) (0,5), (1,4), (2,3).
    expect(saved.map((s) => [s.step, s.epoch, s.batch])).toEqual([
      [5, 0, 5],
      [10, 1, 4],
      [15, 2, 3],
    ]);
    const ckDir = join(env.dir, 'ck-unit');
    saveReftCheckpoint(ckDir, saved[1]);
    const back = loadReftCheckpoint(ckDir);
    expect(back.loss).toEqual(saved[1].loss);
    const resumed = trainReft(m.model, m.tokenizer!, { train, dev }, c, { checkpoint: { everySteps: 5, save: () => {}, resume: back } });
    expect(resumed.loss.map((l) => l.step)).toEqual(full.loss.map((l) => l.step));
    expect(maxAbsDiff(resumed.loss.map((l) => l.value), full.loss.map((l) => l.value))).toBeLessThan(1e-5);
    expect(resumed.dev.map((d) => d.accuracy)).toEqual(full.dev.map((d) => d.accuracy));
    full.interventions.forEach((p, i) => {
      const a = p.intervention.state();
      const b = resumed.interventions[i].intervention.state();
      for (const k of Object.keys(a)) expect(maxAbsDiff(a[k].data, b[k].data)).toBeLessThan(1e-5);
    });
    // Another configuration cannot continue this checkpoint.
    expect(() => trainReft(m.model, m.tokenizer!, { train, dev }, { ...c, lr: 1e-2 }, { checkpoint: { everySteps: 5, save: () => {}, resume: back } })).toThrow(/checkpoint was made with lr = 0.02/);
    for (const p of [...full.interventions, ...resumed.interventions]) p.intervention.dispose();
  });
});

describe('JobManager', () => {
  let reference: { runId: string; weights: Map<string, Float32Array>; loss: number[] };

  it('runs a ReFT job in a worker: streams progress, ends succeeded with artifacts, metrics and a checkpoint', async () => {
    const id = env.jobs.submit(reftSpec());
    expect(env.jobs.store.getRun(id)!.status).toMatch(/queued|running/);
    const events = await collect(id);
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('queued');
    expect(types[1]).toBe('started');
    expect(types.at(-1)).toBe('done');
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.length).toBeGreaterThanOrEqual(24);
    const steps = progress.map((e) => e.step);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(progress.at(-1)).toMatchObject({ step: 24, total: 24, phase: 'reft' });
    expect(progress.every((e) => e.runId === id && e.elapsedMs >= 0 && e.etaMs >= 0)).toBe(true);
    expect(progress.some((e) => typeof e.metrics.loss === 'number')).toBe(true);
    expect(types).toContain('metrics');
    expect(types).toContain('checkpoint');

    const run = env.jobs.store.getRun(id)!;
    expect(run).toMatchObject({ status: 'succeeded', kind: 'reft', backend: BACKEND, error: null });
    expect(run.checkpointPath).toBe(join(env.jobs.store.runDir(id), 'checkpoint'));
    expect(env.jobs.store.countMetrics(id)).toMatchObject({ loss: 24, devAccuracy: 4 });
    expect(env.jobs.store.listMetricNames(id)).toContain('test.accuracy');
    const kinds = env.jobs.store.listArtifacts(id).map((a) => `${a.kind}:${a.path.split('/').pop()}`);
    expect(kinds).toEqual(expect.arrayContaining(['reft:manifest.json', 'reft:weights.safetensors']));
    const done = events.at(-1)!;
    expect(done.summary?.steps).toBe(24);
    reference = { runId: id, weights: weightsOf(manifestOf(id)), loss: (done.summary!.loss as { value: number }[]).map((l) => l.value) };
  });

  it('refuses a malformed job spec with an error naming the field, and records nothing', () => {
    const before = env.jobs.store.countRuns();
    const bad = (over: Record<string, unknown>) => () => env.jobs.submit({ ...reftSpec(), ...over });
    expect(bad({ config: { ...cfg, lr: -1 } })).toThrow(/submit: config\.lr: must be positive/);
    expect(bad({ config: { ...cfg, epochz: 3 } })).toThrow(/config\.epochz/);
    expect(bad({ config: { rank: 2 } })).toThrow(/config\.layers/);
    expect(bad({ kind: 'sft' })).toThrow(/submit: kind: /);
    expect(bad({ model: '' })).toThrow(/submit: model: /);
    expect(bad({ model: join(env.dir, 'no-such-model') })).toThrow(/submit: model: .*does not exist/);
    expect(bad({ task: { examples: [{ id: 'a', completion: ' b', wrong: [' c'] }] } })).toThrow(/task\.examples\.0\.prompt/);
    expect(bad({ task: 'no-such-task' })).toThrow(/submit: task: no built-in task 'no-such-task'/);
    expect(bad({ checkpointEvery: 0 })).toThrow(/checkpointEvery: must be at least 1/);
    try {
      bad({ config: { ...cfg, batchSize: 'eight' } })();
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string; subject: string }).code).toBe('BAD_ARGUMENT');
      expect((e as { subject: string }).subject).toBe('config.batchSize');
    }
    expect(() => env.jobs.cancel('nope')).toThrow(/no job with id "nope"/);
    expect(env.jobs.store.countRuns()).toBe(before);
  });

  it('queues jobs one at a time, cancels a queued job at once and a running one between steps', async () => {
    expect(env.jobs.concurrency).toBe(1);
    const all: JobEvent[] = [];
    const listener = (e: JobEvent) => all.push(e);
    env.jobs.on('event', listener);
    try {
      const a = env.jobs.submit(reftSpec({ config: { ...cfg, epochs: 1 }, name: 'first' }));
      const b = env.jobs.submit(reftSpec({ config: { ...cfg, epochs: 50 }, name: 'second' }));
      const c = env.jobs.submit(reftSpec({ name: 'third' }));
      expect(env.jobs.get(b)!.state).toBe('queued');
      expect(env.jobs.cancel(c)).toBe(true);
      expect((await env.jobs.wait(c)).type).toBe('cancelled');
      expect(env.jobs.store.getRun(c)).toMatchObject({ status: 'cancelled', startedAt: null });
      // Cancel b as soon as it reports its first step.
      const onB = (e: JobEvent) => {
        if (e.jobId === b && e.type === 'progress') env.jobs.cancel(b);
      };
      env.jobs.on('event', onB);
      const [ea, eb] = await Promise.all([env.jobs.wait(a), env.jobs.wait(b)]);
      env.jobs.off('event', onB);
      expect(ea.type).toBe('done');
      expect(eb.type).toBe('cancelled');
      expect(eb.error).toBe('cancelled');
      const at = (id: string, type: string) => all.findIndex((e) => e.jobId === id && e.type === type);
      expect(at(b, 'queued')).toBeLessThan(at(a, 'done'));
      expect(at(b, 'started')).toBeGreaterThan(at(a, 'done'));
      expect(at(c, 'started')).toBe(-1);
      const runA = env.jobs.store.getRun(a)!;
      const runB = env.jobs.store.getRun(b)!;
      expect(runB.startedAt!).toBeGreaterThanOrEqual(runA.endedAt!);
      expect(runB).toMatchObject({ status: 'cancelled', error: 'cancelled' });
      expect(eb.step).toBeLessThan(300);
    } finally {
      env.jobs.off('event', listener);
    }
  });

  it('a worker SIGKILLed mid-training leaves a failed run with its metrics; resume continues to the uninterrupted result', async () => {
    expect(reference).toBeDefined();
    let killedAt = -1;
    let pid = 0;
    const id = env.jobs.submit(reftSpec({ name: 'to be killed' }));
    for await (const e of env.jobs.events({ jobId: id })) {
      if (e.type === 'started') pid = e.pid!;
      // Kill right after the step-8 checkpoint (mid-epoch 1), before the run can finish.
      if (e.type === 'checkpoint' && e.step === 8 && killedAt < 0) {
        killedAt = e.step;
        process.kill(pid, 'SIGKILL');
      }
    }
    expect(killedAt).toBe(8);
    const failed = env.jobs.store.getRun(id)!;
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/killed by SIGKILL/);
    expect(failed.checkpointPath).toBe(join(env.jobs.store.runDir(id), 'checkpoint'));
    const counts = env.jobs.store.countMetrics(id);
    expect(counts.loss).toBeGreaterThanOrEqual(8);
    expect(counts.loss).toBeLessThan(24);
    expect(env.jobs.store.listArtifacts(id).filter((a) => a.kind === 'reft')).toHaveLength(0);
    // A second connection opens the database cleanly.
    const other = openStore({ dataDir: env.dir });
    try {
      expect(other.checkIntegrity()).toEqual({ ok: true, problems: [] });
      expect(other.getRun(id)!.status).toBe('failed');
    } finally {
      other.close();
    }
    expect(() => env.jobs.resume(reference.runId)).toThrow(/is succeeded; only a failed or cancelled run can be resumed/);

    const next = env.jobs.resume(id);
    expect(next).not.toBe(id);
    const done = await env.jobs.wait(next);
    expect(done.type).toBe('done');
    expect(done.parentRunId).toBe(id);
    const run = env.jobs.store.getRun(next)!;
    expect(run).toMatchObject({ status: 'succeeded', parentRunId: id, kind: 'reft' });
    expect(done.summary!.resumedFrom).toBeGreaterThanOrEqual(8);
    // The whole curve: the parent's steps up to the checkpoint plus the rest.
    expect(env.jobs.store.countMetrics(next)).toMatchObject({ loss: 24, devAccuracy: 4 });
    const loss = (done.summary!.loss as { value: number }[]).map((l) => l.value);
    expect(maxAbsDiff(loss, reference.loss)).toBeLessThan(1e-5);
    const weights = weightsOf(manifestOf(next));
    expect([...weights.keys()].sort()).toEqual([...reference.weights.keys()].sort());
    for (const [k, v] of reference.weights) expect(maxAbsDiff(weights.get(k)!, v)).toBeLessThan(1e-5);
  });

  it('kills a worker that does not stop within the grace period; the run is cancelled', async () => {
    // A second manager on the same store, with a grace period shorter than a worker's start-up.
    const impatient = new JobManager({ store: env.jobs.store, cancelGraceMs: 50 });
    try {
      const id = impatient.submit(reftSpec({ config: { ...cfg, epochs: 50 }, name: 'stubborn' }));
      const pid = impatient.get(id)!.pid!;
      expect(pid).toBeGreaterThan(0);
      impatient.cancel(id);
      const e = await impatient.wait(id);
      expect(e.type).toBe('cancelled');
      expect(e.error).toBe('cancelled: the worker did not stop within 50 ms and was killed');
      expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
      expect(env.jobs.store.getRun(id)).toMatchObject({ status: 'cancelled' });
    } finally {
      await impatient.close();
    }
    expect(env.jobs.store.isOpen).toBe(true);
  });

  it('runs LoFIT and ITI jobs two at a time, then evaluates an export', async () => {
    env.jobs.concurrency = 2;
    try {
      const task = { name: 'toy', examples: train.slice(0, 32), dev: dev.slice(0, 8), test };
      const l = env.jobs.submit({ kind: 'lofit', model: MODEL, task, config: { epochs: 1, k: 2 }, backend: BACKEND });
      const i = env.jobs.submit({ kind: 'iti', model: MODEL, task, config: { k: 2 }, backend: BACKEND });
      expect([env.jobs.get(l)!.state, env.jobs.get(i)!.state]).toEqual(['running', 'running']);
      const [el, ei] = await Promise.all([env.jobs.wait(l), env.jobs.wait(i)]);
      expect([el.type, ei.type, el.error, ei.error]).toEqual(['done', 'done', undefined, undefined]);
      expect(env.jobs.store.listHeadScoreNames(l)).toEqual(['lofit-scores']);
      expect(env.jobs.store.getHeadSelection(i, 'iti-top-k')!.heads).toHaveLength(2);
      expect(env.jobs.store.listMetricNames(l)).toEqual(expect.arrayContaining(['select.loss', 'tune.loss', 'test.accuracy']));
      const lofitOut = dirname(manifestOf(l));
      const e = env.jobs.submit({ kind: 'eval', model: MODEL, task, config: { intervention: lofitOut }, backend: BACKEND });
      const ee = await env.jobs.wait(e);
      expect(ee.type).toBe('done');
      expect(ee.summary).toMatchObject({ method: 'lofit', examples: test.length });
      expect(env.jobs.store.getRun(e)!.kind).toBe('eval');
      expect(env.jobs.store.listMetricNames(e)).toEqual(expect.arrayContaining(['base.accuracy', 'lofit.accuracy']));
    } finally {
      env.jobs.concurrency = 1;
    }
  });

  it("reports the whole job's elapsed time across phases, not the current phase's", async () => {
    const task = { name: 'toy', examples: train.slice(0, 16), dev: dev.slice(0, 4), test: test.slice(0, 4) };
    const id = env.jobs.submit({ kind: 'lofit', model: MODEL, task, config: { epochs: 1, k: 2, batchSize: 8 }, backend: BACKEND });
    const events = await collect(id);
    const done = events.at(-1)!;
    expect(done.type).toBe('done');
    const progress = events.filter((e) => e.type === 'progress');
    const select = progress.filter((e) => e.phase === 'lofit-select');
    const tune = progress.filter((e) => e.phase === 'lofit-tune');
    expect(select.length).toBeGreaterThan(0);
    expect(tune.length).toBeGreaterThan(0);
    // One clock for the job: it never goes back when the tune phase starts, nor at the end.
    const elapsed = events.map((e) => e.elapsedMs);
    expect(elapsed).toEqual([...elapsed].sort((a, b) => a - b));
    expect(tune[0].elapsedMs).toBeGreaterThanOrEqual(select.at(-1)!.elapsedMs);
    // The job has run at least as long as its first phase took by this process's own clock
    // (`at` is whole milliseconds, hence the 1 ms of slack).
    const started = events.find((e) => e.type === 'started')!;
    expect(done.elapsedMs + 1).toBeGreaterThanOrEqual(select.at(-1)!.at - started.at);
    expect(done.elapsedMs + 1).toBeGreaterThanOrEqual(tune.at(-1)!.at - started.at);
    expect(env.jobs.get(id)!.final!.elapsedMs).toBe(done.elapsedMs);
  });

  it('a LoFIT job splits its batches with the training helper thread where asked, and says so', async () => {
    const task = { name: 'toy', examples: train.slice(0, 16), dev: dev.slice(0, 4), test: test.slice(0, 4) };
    const run = (shards: string) =>
      withEnv('SUBSPACE_TRAIN_SHARDS', shards, async () => {
        const id = env.jobs.submit({ kind: 'lofit', model: MODEL, task, config: { epochs: 1, k: 2, batchSize: 8 }, backend: BACKEND });
        const e = await env.jobs.wait(id);
        expect([e.type, e.error]).toEqual(['done', undefined]);
        return e.summary as { trainingThreads: number; trainingThreadsNote?: string; tuneLoss: number; selectLoss: number };
      });
    const one = await run('1');
    const two = await run('2');
    expect(one.trainingThreads).toBe(1);
    expect(one.trainingThreadsNote).toMatch(/SUBSPACE_TRAIN_SHARDS/);
    expect(two.trainingThreads).toBe(2);
    expect(two.trainingThreadsNote).toBeUndefined();
    // The same training either way (same seed, same data).
    expect(two.selectLoss).toBeCloseTo(one.selectLoss, 4);
    expect(two.tuneLoss).toBeCloseTo(one.tuneLoss, 4);
  });

  it('a worker that runs out of memory fails its run with a message that says so', async () => {
    const id = env.jobs.submit(reftSpec({ maxMemoryMb: 16, name: 'starved' }));
    const e = await env.jobs.wait(id);
    expect(e.type).toBe('failed');
    expect(e.error).toMatch(/ran out of memory \(heap limit 16 MiB\)/);
    expect(env.jobs.store.getRun(id)).toMatchObject({ status: 'failed' });
    expect(env.jobs.store.checkIntegrity().ok).toBe(true);
  });
});
