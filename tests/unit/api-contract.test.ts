import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { apiEventSchema, METHOD_NAMES, methods, type ApiEvent } from '../../src-main/api/contract.js';
import { createDispatcher, type Handlers } from '../../src-main/api/dispatch.js';
import { EventHub } from '../../src-main/api/events.js';
import { SubspaceError } from '../../src-main/engine/errors.js';
import type { JobEvent, JobManager } from '../../src-main/jobs/index.js';

/** A handler table where every method fails loudly unless the test gives it. */
function handlers(over: Partial<Record<keyof Handlers, (req: any) => unknown>>): Handlers {
  return new Proxy({} as Handlers, {
    get: (_t, name: string) => over[name as keyof Handlers] ?? (() => Promise.reject(new Error(`unexpected call of ${name}`))),
  });
}

describe('API contract validation', () => {
  it('rejects a request with a missing field, naming the field', async () => {
    const d = createDispatcher(handlers({ 'models.open': () => ({}) }));
    const r = await d.call('models.open', {});
    expect(r).toEqual({ ok: false, error: { code: 'BAD_ARGUMENT', message: 'models.open: path: is required', field: 'path' } });
  });

  it('names nested fields, including inside the per-kind job config', async () => {
    const d = createDispatcher(handlers({}));
    const missingLayers = await d.call('jobs.start', { kind: 'reft', model: 'demo-gpt2', task: 'ioi', config: {} });
    expect(missingLayers.ok).toBe(false);
    if (!missingLayers.ok) {
      expect(missingLayers.error.field).toBe('config.layers');
      expect(missingLayers.error.message).toMatch(/^jobs\.start: config\.layers: /);
    }
    const badLr = await d.call('jobs.start', { kind: 'lofit', model: 'demo-gpt2', task: 'ioi', config: { lrTune: -1 } });
    expect(!badLr.ok && badLr.error).toMatchObject({ code: 'BAD_ARGUMENT', field: 'config.lrTune' });
    const tooMany = await d.call('tasks.examples', { task: 'ioi', limit: 501 });
    expect(!tooMany.ok && tooMany.error).toMatchObject({ field: 'limit', message: 'tasks.examples: limit: must be at most 500' });
    const typo = await d.call('playground.nextToken', { model: 'demo-gpt2', prompt: 'a', topk: 3 });
    expect(!typo.ok && typo.error.field).toBe('topk');
  });

  it('fills defaults before the handler sees the request', async () => {
    let seen: unknown;
    const d = createDispatcher(handlers({ 'tasks.examples': (req) => ((seen = req), { task: 'ioi', split: 'train', total: 0, offset: 0, examples: [] }) }));
    expect((await d.call('tasks.examples', { task: 'ioi' })).ok).toBe(true);
    expect(seen).toEqual({ task: 'ioi', split: 'train', offset: 0, limit: 50 });
  });

  it('answers an unknown method with NOT_FOUND instead of throwing', async () => {
    const r = await createDispatcher(handlers({})).call('models.delete', {});
    expect(r).toMatchObject({ ok: false, error: { code: 'NOT_FOUND', field: 'method' } });
  });

  it('turns engine errors into { ok: false, error } with code, message and field', async () => {
    const d = createDispatcher(
      handlers({
        'models.open': () => {
          throw new SubspaceError('BAD_FILE', '/m/config.json: not valid JSON', 'path');
        },
        'models.list': () => {
          throw new TypeError('x is undefined');
        },
      }),
    );
    expect(await d.call('models.open', { path: '/m' })).toEqual({ ok: false, error: { code: 'BAD_FILE', message: '/m/config.json: not valid JSON', field: 'path' } });
    expect(await d.call('models.list', {})).toEqual({ ok: false, error: { code: 'INTERNAL', message: 'x is undefined' } });
  });

  it('refuses a handler answer that is outside the contract', async () => {
    const internal: string[] = [];
    const d = createDispatcher(handlers({ 'datasets.list': () => ({ datasets: [{ id: 'x' }] }) }), { onInternalError: (m) => internal.push(m) });
    const r = await d.call('datasets.list', {});
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('INTERNAL');
      expect(r.error.message).toContain('datasets.0.name');
    }
    expect(internal).toEqual(['datasets.list']);
  });

  it('every method has a documented request and response schema', () => {
    expect(METHOD_NAMES.length).toBeGreaterThan(25);
    for (const name of METHOD_NAMES) {
      expect(methods[name].doc.length, name).toBeGreaterThan(10);
      expect(typeof methods[name].request.safeParse, name).toBe('function');
    }
  });
});

describe('job events for the UI', () => {
  const base = { jobId: 'j1', runId: 'j1', kind: 'reft' as const, at: 0, step: 0, total: 10, elapsedMs: 0, etaMs: 0, metrics: {} };

  function relay(events: JobEvent[]): { out: ApiEvent[]; hub: EventHub } {
    const manager = new EventEmitter();
    const hub = new EventHub((id) => (id === 'j1' ? 'reft ioi on demo-gpt2' : undefined));
    hub.attach(manager as unknown as JobManager);
    const out: ApiEvent[] = [];
    hub.subscribe((e) => out.push(e));
    for (const e of events) manager.emit('event', e);
    return { out, hub };
  }

  it('maps the lifecycle to contract events with progress, metrics and an ETA', () => {
    const { out, hub } = relay([
      { ...base, type: 'queued' },
      { ...base, type: 'started', pid: 1 },
      { ...base, type: 'progress', phase: 'reft', step: 3, elapsedMs: 300, etaMs: 700, metrics: { loss: 0.5, epoch: 1, gradNorm: NaN } },
      { ...base, type: 'metrics', step: 10, metrics: { loss: 0.4, 'test.accuracy': 0.75 } },
      { ...base, type: 'done', step: 10, elapsedMs: 1000 },
    ]);
    for (const e of out) expect(apiEventSchema.safeParse(e).success, JSON.stringify(e)).toBe(true);
    expect(out.map((e) => e.type)).toEqual(['job.queued', 'job.started', 'job.progress', 'job.metric', 'job.metric', 'job.metric', 'job.done']);
    expect(out[0]).toMatchObject({ name: 'reft ioi on demo-gpt2' });
    expect(out[2]).toMatchObject({ step: 3, total: 10, elapsedMs: 300, etaMs: 700, message: 'reft 3/10 · epoch 1 · loss 0.500 · gradNorm NaN' });
    // NaN cannot cross JSON: it arrives as null. The epoch counter is a label, not a metric.
    expect(out.filter((e) => e.type === 'job.metric')).toEqual([
      { type: 'job.metric', jobId: 'j1', runId: 'j1', kind: 'reft', name: 'loss', step: 3, value: 0.5 },
      { type: 'job.metric', jobId: 'j1', runId: 'j1', kind: 'reft', name: 'gradNorm', step: 3, value: null },
      // The stored batch repeats 'loss' (already sent with its progress step); only the new series goes out.
      { type: 'job.metric', jobId: 'j1', runId: 'j1', kind: 'reft', name: 'test.accuracy', step: 10, value: 0.75 },
    ]);
    expect(hub.list()).toEqual([{ jobId: 'j1', runId: 'j1', kind: 'reft', name: 'reft ioi on demo-gpt2', state: 'ended', outcome: 'done', phase: 'reft', step: 10, total: 10, elapsedMs: 1000, etaMs: 0 }]);
  });

  it('reports failures and cancellations with their reason', () => {
    const { out } = relay([
      { ...base, type: 'queued' },
      { ...base, type: 'failed', error: 'the worker ran out of memory' },
      { ...base, jobId: 'j2', runId: 'j2', type: 'cancelled', error: 'cancelled before it started' },
    ]);
    expect(out.slice(1)).toEqual([
      { type: 'job.failed', jobId: 'j1', runId: 'j1', kind: 'reft', error: 'the worker ran out of memory' },
      { type: 'job.cancelled', jobId: 'j2', runId: 'j2', kind: 'reft', error: 'cancelled before it started' },
    ]);
  });
});
