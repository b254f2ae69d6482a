import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SubspaceError } from '../../src-main/engine/errors.js';
import { dataDir, dbPathIn, runDirIn } from '../../src-main/store/data-dir.js';
import { migrate, openDatabase } from '../../src-main/store/db.js';
import {
  INTERRUPTED_ERROR,
  LATEST_SCHEMA_VERSION,
  openStore,
  type Project,
  type Store,
} from '../../src-main/store/index.js';
import { MIGRATIONS } from '../../src-main/store/migrations.js';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const SHA = 'a'.repeat(64);

let dir: string;
let open: Store[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'subspace-store-'));
  open = [];
});

afterEach(() => {
  for (const s of open) s.close();
  rmSync(dir, { recursive: true, force: true });
});

function store(): Store {
  const s = openStore({ dataDir: dir });
  open.push(s);
  return s;
}

/** A side connection to the same file, for looking at raw rows. */
function raw(): Database.Database {
  return new Database(dbPathIn(dir), { readonly: true });
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** The SubspaceError `fn` throws (failing the test if it throws nothing or something else). */
function caught(fn: () => unknown): SubspaceError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SubspaceError);
    return e as SubspaceError;
  }
  throw new Error('expected a SubspaceError, nothing was thrown');
}

function seed(s: Store): { project: Project } {
  return { project: s.createProject({ name: 'demo' }) };
}

describe('opening and migrations', () => {
  it('creates the schema on an empty folder, with WAL, foreign keys and a busy timeout', () => {
    const s = store();
    expect(s.path).toBe(join(dir, 'subspace.db'));
    expect(existsSync(s.path)).toBe(true);
    expect(s.schemaVersion).toBe(LATEST_SCHEMA_VERSION);
    expect(s.settings()).toMatchObject({ journalMode: 'wal', foreignKeys: true, busyTimeoutMs: 5000, synchronous: 'normal' });
    expect(existsSync(`${s.path}-wal`)).toBe(true);
    const db = raw();
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all();
    const indexes = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND name NOT LIKE 'sqlite_%'").pluck().all();
    db.close();
    expect(tables).toEqual(
      expect.arrayContaining(['projects', 'models', 'datasets', 'runs', 'metric_series', 'metric_points', 'artifacts', 'head_scores', 'head_selections', 'comparisons']),
    );
    expect(indexes).toEqual(expect.arrayContaining(['runs_created', 'runs_project_created']));
  });

  it('rolls back a failing migration whole, leaving the previous version', () => {
    const file = join(dir, 'm.db');
    const db = openDatabase(file);
    const broken = [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: 'broken', sql: 'CREATE TABLE extra (a INTEGER); SELECT no_such_function();' }];
    expect(() => migrate(db, broken)).toThrow(/broken/);
    expect(db.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION);
    expect(db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'extra'").pluck().get()).toBe(0);
    db.close();
  });

  it('keeps data across close and reopen', () => {
    const s1 = openStore({ dataDir: dir });
    const { project } = seed(s1);
    const run = s1.createRun({ projectId: project.id, kind: 'reft', name: 'r', config: { lr: 0.01, layers: [1, 2] } });
    s1.appendMetrics(run.id, [{ step: 1, name: 'loss', value: 0.5 }]);
    s1.close();
    expect(() => s1.listRuns()).toThrow(/closed/);
    const s2 = store();
    expect(s2.getRun(run.id)).toEqual(run);
    expect(s2.getMetrics(run.id)).toEqual({ loss: { steps: [1], values: [0.5] } });
    expect(s2.listProjects()).toEqual([project]);
  });

  it('enforces foreign keys on the connection it opens', () => {
    const db = openDatabase(join(dir, 'fk.db'));
    expect(() => db.prepare("INSERT INTO metric_series (run_id, name) VALUES ('nope', 'loss')").run()).toThrow(/FOREIGN KEY/);
    expect(() =>
      db.prepare("INSERT INTO runs (id, project_id, kind, name, config, created_at) VALUES ('r', 'nope', 'reft', 'x', '{}', 0)").run(),
    ).toThrow(/FOREIGN KEY/);
    db.close();
  });

  it('refuses a database from a newer version and leaves the file untouched', () => {
    const s1 = openStore({ dataDir: dir });
    seed(s1);
    s1.close();
    const file = dbPathIn(dir);
    const w = new Database(file);
    w.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 5}`);
    w.close();
    const before = sha256File(file);
    const e = caught(() => openStore({ dataDir: dir }));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toMatch(/newer version of Subspace/);
    expect(e.message).toContain(String(LATEST_SCHEMA_VERSION + 5));
    expect(sha256File(file)).toBe(before);
    expect(existsSync(`${file}-wal`)).toBe(false);
    expect(existsSync(`${file}-shm`)).toBe(false);
  });

  it('refuses a newer database whose version bump is still only in the WAL, without checkpointing it', () => {
    const src = join(dir, 'src.db');
    const w = new Database(src);
    w.pragma('journal_mode = WAL');
    w.pragma('wal_autocheckpoint = 0');
    w.exec('CREATE TABLE t (a INTEGER)');
    w.pragma('wal_checkpoint(TRUNCATE)');
    w.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 1}`);
    // "Crash": copy the files while the writer still holds them, so the WAL is never merged.
    const copy = join(dir, 'copy.db');
    copyFileSync(src, copy);
    copyFileSync(`${src}-wal`, `${copy}-wal`);
    w.close();
    const mainBefore = sha256File(copy);
    const walBefore = sha256File(`${copy}-wal`);
    const e = caught(() => openStore(copy));
    expect(e.code).toBe('UNSUPPORTED');
    expect(sha256File(copy)).toBe(mainBefore);
    expect(sha256File(`${copy}-wal`)).toBe(walBefore);
  });

  it('refuses files that are not Subspace databases', () => {
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'this is not sqlite, not at all, but it is long enough to have a header of one hundred bytes......');
    expect(caught(() => openStore(junk)).code).toBe('BAD_FILE');
    const other = join(dir, 'other.db');
    const o = new Database(other);
    o.exec('CREATE TABLE someone_elses (x)');
    o.close();
    const e = caught(() => openStore(other));
    expect(e.code).toBe('BAD_FILE');
    expect(e.message).toMatch(/not a Subspace database/);
  });

  it('lets two connections (app and worker) share the file', () => {
    const a = store();
    const b = store();
    const { project } = seed(a);
    const run = a.createRun({ projectId: project.id, kind: 'iti', name: 'shared', config: {} });
    b.appendMetrics(run.id, [{ step: 0, name: 'loss', value: 1 }]);
    expect(a.getMetrics(run.id).loss.values).toEqual([1]);
  });
});

describe('runs', () => {
  it('creates, reads, updates and lists runs without their config', () => {
    const s = store();
    const { project } = seed(s);
    const model = s.registerModel({ name: 'tiny', folder: '/m/tiny', configSummary: { family: 'gpt2', nLayers: 2 }, contentHash: 'h1' });
    const dataset = s.registerDataset({ id: 'builtin-sst2', name: 'sst2', source: 'builtin', contentHash: 'd1', rowCount: 10 });
    const config = { method: 'reft', rank: 4, layers: [0, 1], nested: { lr: 1e-3 } };
    const run = s.createRun({ projectId: project.id, kind: 'reft', name: 'first', config, backend: 'cpu', modelId: model.id, datasetId: dataset.id, createdAt: 1000 });
    expect(run).toMatchObject({ status: 'queued', startedAt: null, endedAt: null, error: null, config, backend: 'cpu', createdAt: 1000 });
    expect(s.getRun(run.id)).toEqual(run);
    expect(s.getRun('missing')).toBeUndefined();

    const started = s.updateRunStatus(run.id, 'running', { startedAt: 2000 });
    expect(started).toMatchObject({ status: 'running', startedAt: 2000, endedAt: null });
    const updated = s.updateRun(run.id, { checkpointPath: 'runs/x/ckpt.safetensors', name: 'renamed' });
    expect(updated).toMatchObject({ checkpointPath: 'runs/x/ckpt.safetensors', name: 'renamed' });
    const done = s.updateRunStatus(run.id, 'succeeded', { endedAt: 3000 });
    expect(done).toMatchObject({ status: 'succeeded', startedAt: 2000, endedAt: 3000 });
    expect(s.getRun(run.id)).toEqual(done);

    const e = caught(() => s.updateRunStatus(run.id, 'running'));
    expect(e.message).toMatch(/cannot go from "succeeded" to "running"/);
    expect(caught(() => s.updateRunStatus('nope', 'running')).code).toBe('NOT_FOUND');

    const [summary] = s.listRuns();
    expect(summary).not.toHaveProperty('config');
    expect(summary).toMatchObject({ id: run.id, name: 'renamed', status: 'succeeded', modelId: model.id, datasetId: dataset.id });

    // a resumed run points at its parent
    const child = s.createRun({ projectId: project.id, kind: 'reft', name: 'resume', config, parentRunId: run.id });
    expect(s.listRuns({ parentRunId: run.id }).map((r) => r.id)).toEqual([child.id]);
  });

  it('records failure text and end time', () => {
    const s = store();
    const { project } = seed(s);
    const run = s.createRun({ projectId: project.id, kind: 'das', name: 'f', config: {}, status: 'running' });
    expect(run.startedAt).toBe(run.createdAt);
    const failed = s.updateRunStatus(run.id, 'failed', { error: 'out of memory' });
    expect(failed.error).toBe('out of memory');
    expect(failed.endedAt).toBeGreaterThanOrEqual(run.createdAt);
    const q = s.createRun({ projectId: project.id, kind: 'das', name: 'q', config: {} });
    const e = caught(() => s.updateRunStatus(q.id, 'running', { error: 'x' }));
    expect(e.subject).toBe('error');
  });

  it('filters, searches, sorts and pages', () => {
    const s = store();
    const p1 = s.createProject({ name: 'one' });
    const p2 = s.createProject({ name: 'two' });
    const spec = [
      { p: p1, kind: 'reft', name: 'Alpha 100%', t: 10, status: 'succeeded' },
      { p: p1, kind: 'lofit', name: 'beta', t: 30, status: 'failed' },
      { p: p2, kind: 'reft', name: 'gamma_1', t: 20, status: 'running' },
      { p: p2, kind: 'iti', name: 'delta', t: 40, status: 'queued' },
      { p: p1, kind: 'patch', name: 'epsilon', t: 20, status: 'cancelled' },
    ] as const;
    const ids: string[] = [];
    for (const r of spec) {
      const run = s.createRun({ projectId: r.p.id, kind: r.kind, name: r.name, config: {}, createdAt: r.t });
      if (r.status !== 'queued') s.updateRunStatus(run.id, r.status === 'cancelled' ? 'cancelled' : 'running', { startedAt: r.t + 1 });
      if (r.status === 'succeeded' || r.status === 'failed') s.updateRunStatus(run.id, r.status, { endedAt: r.t + 5 });
      ids.push(run.id);
    }
    const names = (q: Parameters<Store['listRuns']>[0]) => s.listRuns(q).map((r) => r.name);

    // newest first by default; equal timestamps keep insertion order (newest inserted first)
    expect(names({})).toEqual(['delta', 'beta', 'epsilon', 'gamma_1', 'Alpha 100%']);
    expect(names({ direction: 'asc' })).toEqual(['Alpha 100%', 'gamma_1', 'epsilon', 'beta', 'delta']);
    expect(names({ projectId: p1.id })).toEqual(['beta', 'epsilon', 'Alpha 100%']);
    expect(names({ kind: 'reft' })).toEqual(['gamma_1', 'Alpha 100%']);
    expect(names({ kind: ['reft', 'iti'], projectId: p2.id })).toEqual(['delta', 'gamma_1']);
    expect(names({ status: 'running' })).toEqual(['gamma_1']);
    expect(names({ status: ['failed', 'succeeded'] })).toEqual(['beta', 'Alpha 100%']);
    expect(names({ search: 'ALPHA' })).toEqual(['Alpha 100%']);
    expect(names({ search: '%' })).toEqual(['Alpha 100%']); // a literal %, not a wildcard
    expect(names({ search: '_' })).toEqual(['gamma_1']);
    expect(names({ search: ids[1] })).toEqual(['beta']); // ids are searchable too
    expect(names({ orderBy: 'name' })).toEqual(['Alpha 100%', 'beta', 'delta', 'epsilon', 'gamma_1']);
    expect(names({ orderBy: 'name', direction: 'desc', limit: 2 })).toEqual(['gamma_1', 'epsilon']);
    expect(names({ orderBy: 'name', limit: 2, offset: 2 })).toEqual(['delta', 'epsilon']);
    // ended: Alpha 15, beta 35, epsilon (cancelled, stamped now); running and queued have none and sort last
    expect(names({ orderBy: 'endedAt' })).toEqual(['epsilon', 'beta', 'Alpha 100%', 'delta', 'gamma_1']);
    expect(names({ orderBy: 'endedAt', direction: 'asc' })).toEqual(['Alpha 100%', 'beta', 'epsilon', 'gamma_1', 'delta']);
    expect(s.countRuns()).toBe(5);
    expect(s.countRuns({ projectId: p1.id, status: ['failed', 'cancelled'] })).toBe(2);
  });
});

describe('metrics', () => {
  it('round-trips points grouped by name and ordered by step', () => {
    const s = store();
    const { project } = seed(s);
    const run = s.createRun({ projectId: project.id, kind: 'reft', name: 'm', config: {} });
    const n = s.appendMetrics(run.id, [
      { step: 20, name: 'loss', value: 0.2 },
      { step: 0, name: 'loss', value: 1.0 },
      { step: 10, name: 'loss', value: 0.5 },
      { step: 10, name: 'acc', value: 0.75 },
      { step: 30, name: 'loss', value: NaN },
      { step: 40, name: 'grad_norm', value: Infinity },
    ]);
    expect(n).toBe(6);
    s.appendMetrics(run.id, [{ step: 20, name: 'loss', value: 0.25 }]); // a step logged again replaces the value
    expect(s.getMetrics(run.id)).toEqual({
      acc: { steps: [10], values: [0.75] },
      grad_norm: { steps: [40], values: [Infinity] },
      loss: { steps: [0, 10, 20, 30], values: [1.0, 0.5, 0.25, NaN] },
    });
    expect(s.getMetrics(run.id, { names: ['loss', 'never-logged'] })).toEqual({ loss: { steps: [0, 10, 20, 30], values: [1.0, 0.5, 0.25, NaN] } });
    expect(s.getMetrics(run.id, { names: ['loss'], afterStep: 10 }).loss.steps).toEqual([20, 30]);
    expect(s.listMetricNames(run.id)).toEqual(['acc', 'grad_norm', 'loss']);
    expect(s.countMetrics(run.id)).toEqual({ acc: 1, grad_norm: 1, loss: 4 });
    expect(s.appendMetrics(run.id, [])).toBe(0);
    expect(caught(() => s.getMetrics('nope')).code).toBe('NOT_FOUND');
    expect(caught(() => s.appendMetrics('nope', [{ step: 0, name: 'x', value: 1 }])).code).toBe('NOT_FOUND');
  });

  it('writes a batch all or nothing', () => {
    const s = store();
    const { project } = seed(s);
    const run = s.createRun({ projectId: project.id, kind: 'reft', name: 'm', config: {} });
    const points = Array.from({ length: 10 }, (_, i) => ({ step: i, name: 'loss', value: i }));
    (points[7] as { value: unknown }).value = 'high';
    const e = caught(() => s.appendMetrics(run.id, points));
    expect(e.subject).toBe('points[7].value');
    expect(s.getMetrics(run.id)).toEqual({});
    // inside a store transaction that throws, earlier batches roll back too
    expect(() =>
      s.transaction(() => {
        s.appendMetrics(run.id, [{ step: 1, name: 'loss', value: 1 }]);
        throw new Error('worker blew up');
      }),
    ).toThrow('worker blew up');
    expect(s.getMetrics(run.id)).toEqual({});
  });
});

describe('artifacts, heads, comparisons and deletion', () => {
  it('round-trips head scores as float32 and head selections in rank order', () => {
    const s = store();
    const { project } = seed(s);
    const run = s.createRun({ projectId: project.id, kind: 'iti', name: 'h', config: {} });
    const values = new Float32Array([0.1, -2.5, 3.25e-8, 1e30, -0, 0.999, Number.MAX_VALUE, -Infinity, NaN, 7, 8, 9]);
    const saved = s.saveHeadScores(run.id, 'probe_accuracy', { layers: 3, heads: 4, values });
    const got = s.getHeadScores(run.id, 'probe_accuracy')!;
    expect(got.layers).toBe(3);
    expect(got.heads).toBe(4);
    expect(got.values).toBeInstanceOf(Float32Array);
    expect(Array.from(got.values)).toEqual(Array.from(values));
    expect(got).toEqual(saved);
    const db = raw();
    const blob = db.prepare('SELECT "values" FROM head_scores').pluck().get() as Buffer;
    db.close();
    expect(blob.length).toBe(48);
    expect(blob.readFloatLE(4)).toBe(-2.5);
    // plain numbers are rounded to float32; saving again replaces
    s.saveHeadScores(run.id, 'probe_accuracy', { layers: 1, heads: 2, values: [0.1, 0.2] });
    expect(Array.from(s.getHeadScores(run.id, 'probe_accuracy')!.values)).toEqual([Math.fround(0.1), Math.fround(0.2)]);
    expect(s.getHeadScores(run.id, 'other')).toBeUndefined();
    expect(s.listHeadScoreNames(run.id)).toEqual(['probe_accuracy']);
    expect(caught(() => s.saveHeadScores(run.id, 'x', { layers: 2, heads: 2, values: [1, 2, 3] })).subject).toBe('values');

    const ranked = [
      { layer: 5, head: 2 },
      { layer: 0, head: 7 },
      { layer: 3, head: 3 },
    ];
    s.saveHeadSelection(run.id, 'top3', ranked);
    expect(s.getHeadSelection(run.id, 'top3')!.heads).toEqual(ranked);
    const dup = caught(() => s.saveHeadSelection(run.id, 'bad', [...ranked, { layer: 0, head: 7 }]));
    expect(dup.subject).toBe('heads[3]');
    expect(caught(() => s.saveHeadSelection(run.id, 'bad', [{ layer: -1, head: 0 }])).subject).toBe('heads[0].layer');
  });

  it('deleteRun cascades to metrics, artifacts and heads, and returns the files to delete', () => {
    const s = store();
    const { project } = seed(s);
    const run = s.createRun({ projectId: project.id, kind: 'reft', name: 'doomed', config: {}, checkpointPath: 'runs/x/ckpt' });
    const keep = s.createRun({ projectId: project.id, kind: 'reft', name: 'kept', config: {} });
    const child = s.createRun({ projectId: project.id, kind: 'reft', name: 'resumed', config: {}, parentRunId: run.id });
    s.appendMetrics(run.id, Array.from({ length: 100 }, (_, i) => ({ step: i, name: i % 2 ? 'loss' : 'acc', value: i })));
    s.appendMetrics(keep.id, [{ step: 0, name: 'loss', value: 1 }]);
    const a1 = s.addArtifact({ runId: run.id, kind: 'intervention', path: 'runs/x/intervention.safetensors', sizeBytes: 1234, sha256: SHA });
    s.addArtifact({ runId: run.id, kind: 'report', path: 'runs/x/report.json', sizeBytes: 10, sha256: 'b'.repeat(64) });
    expect(s.addArtifact({ runId: run.id, kind: 'intervention', path: a1.path, sizeBytes: 99, sha256: SHA }).id).toBe(a1.id); // same path: updated
    expect(s.listArtifacts(run.id).map((a) => [a.path, a.sizeBytes])).toEqual([
      ['runs/x/intervention.safetensors', 99],
      ['runs/x/report.json', 10],
    ]);
    s.saveHeadScores(run.id, 's', { layers: 1, heads: 1, values: [1] });
    s.saveHeadSelection(run.id, 's', [{ layer: 0, head: 0 }]);
    const cmp = s.createComparison({ name: 'both', runIds: [run.id, keep.id], notes: 'n' });

    const deleted = s.deleteRun(run.id);
    expect(deleted).toEqual({ id: run.id, artifactPaths: ['runs/x/intervention.safetensors', 'runs/x/report.json'], checkpointPath: 'runs/x/ckpt' });
    expect(s.getRun(run.id)).toBeUndefined();
    expect(s.getRun(child.id)!.parentRunId).toBeNull();
    expect(s.getComparison(cmp.id)!.runIds).toEqual([keep.id]);
    expect(s.getMetrics(keep.id)).toEqual({ loss: { steps: [0], values: [1] } });
    const db = raw();
    const count = (t: string) => db.prepare(`SELECT count(*) FROM ${t}`).pluck().get();
    expect([count('metric_series'), count('metric_points'), count('artifacts'), count('head_scores'), count('head_selections')]).toEqual([1, 1, 0, 0, 0]);
    db.close();
    expect(s.checkIntegrity()).toEqual({ ok: true, problems: [] });
    expect(caught(() => s.deleteRun(run.id)).code).toBe('NOT_FOUND');
  });

  it('comparisons check their runs', () => {
    const s = store();
    const { project } = seed(s);
    const a = s.createRun({ projectId: project.id, kind: 'reft', name: 'a', config: {} });
    const c = s.createComparison({ name: 'cmp', runIds: [a.id] });
    expect(s.listComparisons()).toEqual([c]);
    expect(s.updateComparison(c.id, { notes: 'better' }).notes).toBe('better');
    expect(caught(() => s.createComparison({ name: 'x', runIds: [a.id, 'ghost'] })).subject).toBe('runIds[1]');
    expect(caught(() => s.createComparison({ name: 'x', runIds: [a.id, a.id] })).subject).toBe('runIds');
    expect(s.deleteComparison(c.id)).toBe(true);
    expect(s.deleteComparison(c.id)).toBe(false);
  });

  it('registers models by folder and datasets by id, updating on re-register', () => {
    const s = store();
    const m1 = s.registerModel({ name: 'tiny', folder: '/models/tiny', configSummary: { nLayers: 2 }, contentHash: 'h1' });
    const m2 = s.registerModel({ name: 'tiny v2', folder: '/models/tiny', configSummary: { nLayers: 3 }, contentHash: 'h2' });
    expect(m2.id).toBe(m1.id);
    expect(s.listModels()).toEqual([expect.objectContaining({ name: 'tiny v2', contentHash: 'h2', configSummary: { nLayers: 3 } })]);
    expect(s.getModelByFolder('/models/tiny')!.id).toBe(m1.id);
    const d = s.registerDataset({ name: 'mine', source: 'imported', path: '/data/mine.jsonl', contentHash: 'x', rowCount: 3 });
    s.registerDataset({ id: d.id, name: 'mine', source: 'imported', path: '/data/mine.jsonl', contentHash: 'y', rowCount: 4 });
    expect(s.getDataset(d.id)).toMatchObject({ contentHash: 'y', rowCount: 4 });
    const p = s.createProject({ name: 'dup' });
    expect(caught(() => s.createProject({ name: 'dup' })).subject).toBe('name');
    s.createRun({ projectId: p.id, kind: 'reft', name: 'r', config: {} });
    expect(caught(() => s.deleteProject(p.id)).message).toMatch(/still has 1 run/);
  });
});

describe('recovery', () => {
  it('marks runs left running as failed (interrupted), keeping their metrics', () => {
    const s1 = openStore({ dataDir: dir });
    const { project } = seed(s1);
    const running = s1.createRun({ projectId: project.id, kind: 'lofit', name: 'crashed', config: {}, status: 'running' });
    const queued = s1.createRun({ projectId: project.id, kind: 'lofit', name: 'waiting', config: {} });
    const done = s1.createRun({ projectId: project.id, kind: 'lofit', name: 'done', config: {}, status: 'running' });
    s1.updateRunStatus(done.id, 'succeeded');
    s1.appendMetrics(running.id, [
      { step: 1, name: 'loss', value: 0.9 },
      { step: 2, name: 'loss', value: 0.8 },
    ]);
    s1.close();

    const s2 = store();
    expect(s2.markInterruptedRuns(123456)).toEqual([running.id, queued.id]);
    expect(s2.getRun(running.id)).toMatchObject({ status: 'failed', error: INTERRUPTED_ERROR, endedAt: 123456 });
    expect(INTERRUPTED_ERROR).toBe('interrupted: the app or worker stopped while the run was in progress');
    expect(s2.getMetrics(running.id)).toEqual({ loss: { steps: [1, 2], values: [0.9, 0.8] } });
    expect(s2.getRun(queued.id)).toMatchObject({ status: 'cancelled', error: 'not started: the app or worker stopped before the run began' });
    expect(s2.getRun(done.id)!.status).toBe('succeeded');
    expect(s2.markInterruptedRuns()).toEqual([]);
  });

  it('leaves runs of another live process alone, and fails them once it is gone', async () => {
    const s = openStore({ dataDir: dir });
    const { project } = seed(s);
    s.close();
    const child = join(dir, 'owner.ts');
    const storeUrl = pathToFileURL(join(REPO, 'src-main/store/index.ts')).href;
    // Another process (a CLI command, the app) that starts a run and keeps working on it.
    writeFileSync(
      child,
      `import { writeSync } from 'node:fs';
import { openStore } from ${JSON.stringify(storeUrl)};
const store = openStore({ dataDir: process.argv[2] });
const run = store.createRun({ projectId: process.argv[3], kind: 'reft', name: 'elsewhere', config: {}, status: 'running' });
writeSync(1, 'run=' + run.id + '\\n');
setInterval(() => {}, 1000);
`,
    );
    const proc = spawn(process.execPath, ['--import', 'tsx', child, dir, project.id], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    const exit = new Promise<void>((resolveExit) => proc.on('exit', () => resolveExit()));
    const runId = await new Promise<string>((resolveId, reject) => {
      let out = '';
      let err = '';
      proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /run=(\S+)/.exec(out);
        if (m) resolveId(m[1]);
      });
      proc.on('exit', () => reject(new Error(`owner exited early: ${err}`)));
    });
    try {
      const here = store();
      const mine = here.createRun({ projectId: project.id, kind: 'lofit', name: 'left by this process', config: {}, status: 'running' });
      // This process's own leftover is stale; the other process's run is not.
      expect(here.markInterruptedRuns()).toEqual([mine.id]);
      expect(here.getRun(runId)!.status).toBe('running');
      proc.kill('SIGKILL');
      await exit;
      expect(here.markInterruptedRuns()).toEqual([runId]);
      expect(here.getRun(runId)).toMatchObject({ status: 'failed', error: INTERRUPTED_ERROR });
    } finally {
      proc.kill('SIGKILL');
    }
  });

  it('survives a worker killed with SIGKILL in the middle of a transaction', async () => {
    const s = openStore({ dataDir: dir });
    const { project } = seed(s);
    const run = s.createRun({ projectId: project.id, kind: 'reft', name: 'killed', config: {}, status: 'running' });
    s.close();

    const child = join(dir, 'worker.ts');
    const storeUrl = pathToFileURL(join(REPO, 'src-main/store/index.ts')).href;
    writeFileSync(
      child,
      `import { statSync, writeSync } from 'node:fs';
import { openStore } from ${JSON.stringify(storeUrl)};
const [file, runId] = process.argv.slice(2);
// A small page cache, so the big transaction below spills uncommitted pages into the WAL.
const store = openStore(file, { cacheSizeKiB: 256 });
for (let b = 0; b < 5; b++) {
  store.appendMetrics(runId, Array.from({ length: 1000 }, (_, i) => ({ step: b * 1000 + i, name: 'loss', value: i / 1000 })));
}
writeSync(1, 'committed wal=' + statSync(file + '-wal').size + '\\n');
store.transaction(() => {
  // non-integral values: integral REALs take 0 bytes on disk
  store.appendMetrics(runId, Array.from({ length: 100000 }, (_, i) => ({ step: 10000 + i, name: i % 2 ? 'loss' : 'acc', value: Math.random() })));
  writeSync(1, 'in-transaction\\n');
  for (;;) {
    // spin until killed
  }
});
`,
    );
    const proc = spawn(process.execPath, ['--import', 'tsx', child, dbPathIn(dir), run.id], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exit = new Promise<NodeJS.Signals | null>((resolveExit) => proc.on('exit', (_code, signal) => resolveExit(signal)));
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('in-transaction')) proc.kill('SIGKILL');
    });
    const signal = await exit;
    expect(out, `worker stderr: ${err}`).toContain('in-transaction');
    expect(signal).toBe('SIGKILL');
    // The killed process left its WAL behind, grown by the uncommitted transaction's spilled pages.
    const walAtCommit = Number(/committed wal=(\d+)/.exec(out)![1]);
    expect(statSync(`${dbPathIn(dir)}-wal`).size).toBeGreaterThan(walAtCommit);

    const after = store();
    expect(after.checkIntegrity()).toEqual({ ok: true, problems: [] });
    expect(after.countMetrics(run.id)).toEqual({ loss: 5000 });
    const loss = after.getMetrics(run.id).loss;
    expect(loss.steps[0]).toBe(0);
    expect(loss.steps[4999]).toBe(4999);
    expect(after.markInterruptedRuns()).toEqual([run.id]);
  });
});

describe('input checks name the field', () => {
  it.each([
    ['createRun without a project', (s: Store) => s.createRun({ kind: 'reft', name: 'x', config: {} } as never), 'projectId'],
    ['createRun with an unknown kind', (s: Store, p: Project) => s.createRun({ projectId: p.id, kind: 'sft' as never, name: 'x', config: {} }), 'kind'],
    ['createRun with an empty name', (s: Store, p: Project) => s.createRun({ projectId: p.id, kind: 'reft', name: '  ', config: {} }), 'name'],
    ['createRun with a non-object config', (s: Store, p: Project) => s.createRun({ projectId: p.id, kind: 'reft', name: 'x', config: [] as never }), 'config'],
    ['createRun with a BigInt in config', (s: Store, p: Project) => s.createRun({ projectId: p.id, kind: 'reft', name: 'x', config: { n: 1n } }), 'config'],
    ['createRun with a path-like id', (s: Store, p: Project) => s.createRun({ id: '../etc', projectId: p.id, kind: 'reft', name: 'x', config: {} }), 'id'],
    ['createRun with a misspelt field', (s: Store, p: Project) => s.createRun({ projectId: p.id, kind: 'reft', name: 'x', config: {}, modelID: 'm' } as never), 'modelID'],
    ['createRun with a missing model', (s: Store, p: Project) => s.createRun({ projectId: p.id, kind: 'reft', name: 'x', config: {}, modelId: 'ghost' }), 'modelId'],
    ['createRun with a missing project', (s: Store) => s.createRun({ projectId: 'ghost', kind: 'reft', name: 'x', config: {} }), 'projectId'],
    ['updateRunStatus with a bad status', (s: Store) => s.updateRunStatus('r', 'done' as never), 'status'],
    ['listRuns with a bad limit', (s: Store) => s.listRuns({ limit: 0 }), 'limit'],
    ['listRuns with a bad orderBy', (s: Store) => s.listRuns({ orderBy: 'config' as never }), 'orderBy'],
    ['appendMetrics with a fractional step', (s: Store) => s.appendMetrics('r', [{ step: 1.5, name: 'loss', value: 1 }]), 'points[0].step'],
    ['appendMetrics with no name', (s: Store) => s.appendMetrics('r', [{ step: 1, value: 1 } as never]), 'points[0].name'],
    ['appendMetrics with a bad run id', (s: Store) => s.appendMetrics('', []), 'runId'],
    ['addArtifact with a bad hash', (s: Store) => s.addArtifact({ runId: 'r', kind: 'x', path: 'p', sizeBytes: 1, sha256: 'abc' }), 'sha256'],
    ['addArtifact with a negative size', (s: Store) => s.addArtifact({ runId: 'r', kind: 'x', path: 'p', sizeBytes: -1, sha256: SHA }), 'sizeBytes'],
    ['registerDataset with a bad source', (s: Store) => s.registerDataset({ name: 'd', source: 'web' as never, contentHash: 'h', rowCount: 1 }), 'source'],
    ['registerModel without a hash', (s: Store) => s.registerModel({ name: 'm', folder: '/m', configSummary: {} } as never), 'contentHash'],
    ['saveHeadScores with zero layers', (s: Store) => s.saveHeadScores('r', 'n', { layers: 0, heads: 1, values: [] }), 'layers'],
  ])('%s', (_label, fn, field) => {
    const s = store();
    const { project } = seed(s);
    const e = caught(() => (fn as (s: Store, p: Project) => unknown)(s, project));
    expect(e.subject).toBe(field);
    expect(e.message).toContain(field);
    expect(['BAD_ARGUMENT', 'NOT_FOUND']).toContain(e.code);
  });
});

describe('data folder', () => {
  it('follows SUBSPACE_DATA_DIR, then the platform convention', () => {
    const home = '/home/u';
    expect(dataDir({ env: { SUBSPACE_DATA_DIR: '/srv/subspace' }, platform: 'linux', homedir: home })).toBe('/srv/subspace');
    expect(dataDir({ env: { XDG_CONFIG_HOME: '/xdg/config' }, platform: 'linux', homedir: home })).toBe('/xdg/config/Subspace');
    expect(dataDir({ env: {}, platform: 'linux', homedir: home })).toBe('/home/u/.config/Subspace');
    expect(dataDir({ env: { XDG_CONFIG_HOME: 'relative/path' }, platform: 'linux', homedir: home })).toBe('/home/u/.config/Subspace');
    expect(dataDir({ env: {}, platform: 'darwin', homedir: '/Users/u' })).toBe('/Users/u/Library/Application Support/Subspace');
    expect(dataDir({ env: { APPDATA: 'C:/Users/u/AppData/Roaming' }, platform: 'win32', homedir: 'C:/Users/u' })).toMatch(/AppData[\\/]Roaming[\\/]Subspace$/);
    expect(dataDir({ env: {}, platform: 'win32', homedir: 'C:/Users/u' })).toMatch(/AppData[\\/]Roaming[\\/]Subspace$/);
  });

  it('puts run artifacts under runs/<runId> and refuses unsafe ids', () => {
    const s = store();
    expect(s.runDir('abc-123')).toBe(join(dir, 'runs', 'abc-123'));
    expect(caught(() => runDirIn(dir, '../escape')).subject).toBe('runId');
    expect(caught(() => runDirIn(dir, 'a/b')).subject).toBe('runId');
  });
});
