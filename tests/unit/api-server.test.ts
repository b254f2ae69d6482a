/**
 * The HTTP + WebSocket transport over the real API (store, job manager, compute
 * process) on a temporary data folder.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiError, ApiEvent } from '../../src-main/api/contract.js';
import { openApi, type Api } from '../../src-main/api/runtime.js';
import { startHttpServer, type HttpServer } from '../../src-main/api/transports/http.js';
import { toyTask } from '../helpers/toy-task.js';

const TOY_MODEL = join(import.meta.dirname, '..', 'fixtures', 'reference', 'gpt2-tied');

/** A result as the tests read it (ApiResult with both branches' fields optional). */
type Loose = { ok: boolean; result?: any; error?: ApiError };

let dir: string;
let api: Api;
let server: HttpServer;
const savedDataDir = process.env.SUBSPACE_DATA_DIR;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'subspace-api-'));
  process.env.SUBSPACE_DATA_DIR = dir;
  api = openApi({ mode: 'browser', dataDir: dir, compute: { env: { SUBSPACE_BACKEND: 'cpu' } }, jobs: { env: { SUBSPACE_BACKEND: 'cpu' }, cancelGraceMs: 20_000 }, log: () => {} });
  server = await startHttpServer(api, {});
});

afterAll(async () => {
  await server?.close();
  await api?.close();
  if (savedDataDir === undefined) delete process.env.SUBSPACE_DATA_DIR;
  else process.env.SUBSPACE_DATA_DIR = savedDataDir;
  rmSync(dir, { recursive: true, force: true });
});

async function call(method: string, payload: unknown, headers: Record<string, string> = { 'x-subspace-token': server.token }): Promise<{ status: number; body: Loose }> {
  const res = await fetch(`${server.url}/api/${method}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(payload) });
  return { status: res.status, body: (await res.json()) as Loose };
}

/** A raw request, so the Host header can be what a DNS-rebinding page would send. */
function rawStatus(path: string, host: string): Promise<number> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method: 'GET', headers: { host } }, (res) => {
      res.resume();
      done(res.statusCode ?? 0);
    });
    req.on('error', fail);
    req.end();
  });
}

describe('HTTP transport', () => {
  it('refuses requests without the token', async () => {
    const none = await call('app.info', {}, {});
    expect(none.status).toBe(403);
    expect(none.body).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect((await call('app.info', {}, { 'x-subspace-token': server.token.slice(0, -1) + (server.token.endsWith('0') ? '1' : '0') })).status).toBe(403);
    expect((await fetch(`${server.url}/api/app.info?token=${server.token}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).status).toBe(200);
    // Right token, but addressed to another host name (DNS rebinding).
    expect(await rawStatus(`/?token=${server.token}`, `evil.example:${server.port}`)).toBe(403);
  });

  it('answers with the contract: info, models, validation errors by field', async () => {
    const info = await call('app.info', {});
    expect(info.status).toBe(200);
    expect(info.body.ok && info.body.result).toMatchObject({ mode: 'browser', dataDir: dir, backend: { backend: 'cpu' } });
    const models = await call('models.list', {});
    const names = models.body.ok ? models.body.result.models.map((m: { name: string }) => m.name) : [];
    expect(names).toEqual(expect.arrayContaining(['demo-gpt2', 'demo-llama']));
    const bad = await call('tasks.examples', { split: 'train' });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ ok: false, error: { code: 'BAD_ARGUMENT', message: 'tasks.examples: task: is required', field: 'task' } });
    const notJson = await fetch(`${server.url}/api/app.info`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'x-subspace-token': server.token }, body: '{' });
    expect(notJson.status).toBe(400);
  });

  it('returns an engine error as { ok: false, error } and keeps serving', async () => {
    const missing = await call('playground.nextToken', { model: 'no-such-model', prompt: 'hello' });
    expect(missing.body.ok).toBe(false);
    expect(missing.body.error?.code).toBe('NOT_FOUND');
    expect(missing.body.error?.message).toContain('no-such-model');
    const badLayer = await call('playground.attention', { model: 'demo-gpt2', prompt: 'a b c', layer: 9 });
    expect(badLayer.body).toEqual({ ok: false, error: { code: 'BAD_ARGUMENT', message: 'layer: demo-gpt2 has layers 0-3 (got 9)', field: 'layer' } });
    // The same compute process and server answer the next request.
    const att = await call('playground.attention', { model: 'demo-gpt2', prompt: 'a b c', layer: 1 });
    expect(att.body.ok).toBe(true);
    const r = att.body.ok ? att.body.result : undefined;
    expect(r.patterns.length).toBe(8);
    const T = r.tokens.length;
    for (const head of r.patterns) {
      expect(head.length).toBe(T);
      // Causal softmax rows: each sums to 1 and puts nothing on later tokens.
      head.forEach((row: number[], q: number) => {
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        for (let k = q + 1; k < T; k++) expect(row[k]).toBe(0);
      });
    }
    expect((await call('app.info', {})).body.ok).toBe(true);
  });

  it('measures head patterns, naming a bad field and a length the model cannot hold', async () => {
    const noModel = await call('models.headPatterns', { length: 4 });
    expect(noModel.body).toEqual({ ok: false, error: { code: 'BAD_ARGUMENT', message: 'models.headPatterns: model: is required', field: 'model' } });
    const short = await call('models.headPatterns', { model: 'demo-gpt2', length: 1 });
    expect(short.body).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT', field: 'length' } });
    const long = await call('models.headPatterns', { model: 'demo-gpt2', length: 40 });
    expect(long.body).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT', message: "length 40 repeated twice after BOS is 81 tokens, more than the model's 64 positions", field: 'length' } });
    const r = await call('models.headPatterns', { model: 'demo-gpt2', sequences: 4 });
    expect(r.body.ok, JSON.stringify(r.body)).toBe(true);
    const p = r.body.result;
    expect(p).toMatchObject({ model: 'demo-gpt2', sequences: 4, length: 8, seed: 0 });
    for (const m of [p.previousToken, p.duplicateToken, p.induction]) {
      expect(m).toHaveLength(4);
      for (const row of m) expect(row).toHaveLength(8);
    }
    expect(p).toMatchObject({ tokensFrom: 'vocabulary' });
    const fromTask = await call('models.headPatterns', { model: 'demo-gpt2', sequences: 2, task: 'induction' });
    expect(fromTask.body.ok && fromTask.body.result).toMatchObject({ tokensFrom: 'induction', poolSize: 50 });
    const noTask = await call('models.headPatterns', { model: 'demo-gpt2', task: 'no-such-task' });
    expect(noTask.body).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(noTask.body.error?.message).toContain('no-such-task');
  });

  it('imports a dataset only when every row is good, listing the bad rows', async () => {
    const csv = 'prompt,completion,wrong\n"The sky is", blue, green\n,missing prompt, x\n"Two plus two is", four,\n';
    const bad = await call('datasets.import', { text: csv, name: 'bad.csv' });
    expect(bad.body.ok).toBe(true);
    const r = bad.body.ok ? bad.body.result : undefined;
    expect(r.ok).toBe(false);
    expect(r.errors.map((e: { line: number }) => e.line)).toEqual([3]);
    expect(r.errors[0].column).toBe('prompt');
    expect((await call('datasets.list', {})).body.result.datasets).toEqual([]);
    const file = join(dir, 'good.csv');
    writeFileSync(file, 'prompt,completion,wrong\n"The sky is", blue, green\n"Grass is", green, blue\n');
    const good = await call('datasets.import', { path: file });
    expect(good.body.result).toMatchObject({ ok: true, rows: 2, format: 'csv', errors: [], dataset: { name: 'good.csv', rowCount: 2, source: 'imported' } });
    const id = good.body.result.dataset.id;
    const page = await call('datasets.examples', { datasetId: id, offset: 1, limit: 5 });
    expect(page.body.result).toMatchObject({ total: 2, offset: 1, examples: [{ prompt: 'Grass is', completion: ' green', wrong: [' blue'] }] });
  });

  it('stays responsive while the compute process is busy, and streams job events over the WebSocket', async () => {
    await api.ctx.compute.backend();
    const order: string[] = [];
    const busy = api.ctx.compute.call('sleep', { ms: 4000 }).then(() => order.push('compute'));
    const info = call('app.info', {}).then((r) => {
      order.push('app.info');
      return r;
    });
    expect((await info).body.ok).toBe(true);
    await busy;
    expect(order).toEqual(['app.info', 'compute']);

    const events: ApiEvent[] = [];
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/events?token=${server.token}`);
    await new Promise((ok, fail) => ws.once('open', ok).once('error', fail));
    ws.on('message', (m) => events.push(JSON.parse(String(m)) as ApiEvent));
    const waitFor = async (pred: (e: ApiEvent) => boolean, what: string) => {
      for (let i = 0; i < 1200; i++) {
        const e = events.find(pred);
        if (e) return e;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no ${what} event; got ${events.map((e) => e.type).join(', ')}`);
    };
    // Long enough that it is still running when cancelled.
    const task = { name: 'toy', examples: toyTask(32, 1) };
    const started = await call('jobs.start', { kind: 'reft', model: TOY_MODEL, task, config: { layers: [1], epochs: 500, batchSize: 8 }, name: 'long reft' });
    expect(started.body.ok).toBe(true);
    const { jobId } = started.body.result;
    await waitFor((e) => e.type === 'job.progress' && e.jobId === jobId, 'job.progress');
    const list = await call('jobs.list', {});
    expect(list.body.result.jobs).toEqual([expect.objectContaining({ jobId, name: 'long reft', state: 'running' })]);
    // The main process answers while the job trains.
    expect((await call('app.info', {})).body.ok).toBe(true);
    expect((await call('jobs.cancel', { jobId })).body.result).toEqual({ cancelled: true });
    await waitFor((e) => e.type === 'job.cancelled' && e.jobId === jobId, 'job.cancelled');
    const types = events.filter((e) => 'jobId' in e && e.jobId === jobId).map((e) => e.type);
    expect(types[0]).toBe('job.queued');
    expect(types).toContain('job.started');
    expect(types.at(-1)).toBe('job.cancelled');
    const run = await call('runs.get', { runId: jobId });
    expect(run.body.result.run.status).toBe('cancelled');
    ws.close();
  });
});

describe('runs, heads and exports through the API', () => {
  it('records a finished LoFIT job and answers for its run, heads, directions and exports', async () => {
    const task = { name: 'toy', examples: toyTask(24, 4), test: toyTask(8, 5) };
    const started = await call('jobs.start', { kind: 'lofit', model: TOY_MODEL, task, config: { k: 3, epochs: 1, batchSize: 8 } });
    expect(started.body.ok).toBe(true);
    const { runId } = started.body.result;
    const final = await api.ctx.jobs.wait(runId);
    expect(final.type).toBe('done');

    const listed = await call('runs.list', { filters: { kind: ['lofit'], status: ['succeeded'] } });
    expect(listed.body.result.runs.map((r: { id: string }) => r.id)).toEqual([runId]);
    expect(listed.body.result.total).toBe(1);
    const got = await call('runs.get', { runId });
    expect(got.body.result.run).toMatchObject({ id: runId, kind: 'lofit', status: 'succeeded' });
    expect(got.body.result.headScoreNames).toEqual(['lofit-scores']);
    const metrics = await call('runs.metrics', { runId });
    expect(Object.keys(metrics.body.result.series)).toEqual(expect.arrayContaining(['test.accuracy']));

    // The fixture has 2 layers of 4 heads: a 2 × 4 score matrix, and the top 3 of it selected.
    const heads = await call('heads.get', { runId });
    const scores = heads.body.result.scores[0];
    expect(scores).toMatchObject({ name: 'lofit-scores', layers: 2, heads: 4 });
    expect(scores.values.map((row: number[]) => row.length)).toEqual([4, 4]);
    const selection = heads.body.result.selections.find((s: { name: string }) => s.name === 'lofit-top-k');
    expect(selection.heads).toHaveLength(3);
    const flat = scores.values.flat() as number[];
    const top3 = [...flat].sort((a, b) => b - a).slice(0, 3);
    for (const h of selection.heads) expect(top3).toContain(scores.values[h.layer][h.head]);

    const dirs = await call('directions.get', { runId });
    expect(dirs.body.error).toBeUndefined();
    expect(dirs.body.result.method).toBe('lofit');
    expect(dirs.body.result.directions).toHaveLength(3);
    // Head width = 32 / 4.
    for (const d of dirs.body.result.directions) expect(d.vector).toHaveLength(8);

    const out = join(dir, 'export-csv');
    const exported = await call('runs.export', { runId, format: 'csv', dir: out });
    expect(exported.body.result).toEqual({ runId, format: 'csv', method: 'lofit', out: join(out, 'head-scores.csv') });
    expect(readFileSync(join(out, 'head-scores.csv'), 'utf8').trim().split('\n')).toHaveLength(3);
    const refused = await call('runs.export', { runId, format: 'pyreft', dir: out });
    expect(refused.body.error).toMatchObject({ code: 'UNSUPPORTED', field: 'format' });

    const gen = await call('playground.generate', { model: TOY_MODEL, prompt: 't3 t4 t5', maxTokens: 4, intervention: runId });
    expect(gen.body.result.without.tokens).toHaveLength(4);
    expect(gen.body.result.with).toMatchObject({ method: 'lofit', source: `run ${runId}` });

    const compare = await call('runs.compare', { runIds: [runId, runId] });
    expect(compare.body.result.differingConfig).toEqual([]);
    expect(compare.body.result.sharedMetrics).toEqual(expect.arrayContaining(['test.accuracy']));

    const deleted = await call('runs.delete', { runId });
    expect(deleted.body.result.deleted).toBe(true);
    expect(deleted.body.result.removedFiles).toBeGreaterThan(0);
    expect((await call('runs.get', { runId })).body.error).toMatchObject({ code: 'NOT_FOUND', field: 'runId' });
  });
});
