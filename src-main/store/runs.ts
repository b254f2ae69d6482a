import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { SubspaceError } from '../engine/errors.js';
import { stmt, stmtPluck, type DB } from './db.js';
import type { DeletedRun, NewRun, Run, RunKind, RunOrderField, RunPatch, RunQuery, RunStatus, RunStatusChange, RunSummary } from './types.js';
import {
  check,
  checkField,
  idSchema,
  jsonObjectSchema,
  nameSchema,
  pathSchema,
  runKindSchema,
  runStatusSchema,
  textSchema,
  timestampSchema,
  toJson,
} from './validate.js';

export const INTERRUPTED_ERROR = 'interrupted: the app or worker stopped while the run was in progress';

/** Which status may follow which. Terminal statuses are final: a resume is a new run with parentRunId. */
const TRANSITIONS: Record<RunStatus, readonly RunStatus[]> = {
  queued: ['running', 'cancelled', 'failed'],
  running: ['succeeded', 'failed', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

interface RunRow {
  id: string;
  project_id: string;
  kind: string;
  name: string;
  config?: string;
  status: RunStatus;
  backend: string | null;
  model_id: string | null;
  dataset_id: string | null;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
  error: string | null;
  checkpoint_path: string | null;
  parent_run_id: string | null;
  owner_pid?: number | null;
}

const SUMMARY_COLUMNS =
  'id, project_id, kind, name, status, backend, model_id, dataset_id, created_at, started_at, ended_at, error, checkpoint_path, parent_run_id';

function toSummary(r: RunRow): RunSummary {
  return {
    id: r.id,
    projectId: r.project_id,
    kind: r.kind as RunKind,
    name: r.name,
    status: r.status,
    backend: r.backend,
    modelId: r.model_id,
    datasetId: r.dataset_id,
    createdAt: r.created_at,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    error: r.error,
    checkpointPath: r.checkpoint_path,
    parentRunId: r.parent_run_id,
  };
}

function toRun(r: RunRow): Run {
  return { ...toSummary(r), config: JSON.parse(r.config ?? '{}') as Record<string, unknown> };
}

const shortText = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');

const newRunSchema = z.strictObject({
  id: idSchema.optional(),
  projectId: idSchema,
  kind: runKindSchema,
  name: nameSchema,
  config: jsonObjectSchema,
  status: z.enum(['queued', 'running']).optional(),
  backend: shortText.nullish(),
  modelId: idSchema.nullish(),
  datasetId: idSchema.nullish(),
  parentRunId: idSchema.nullish(),
  checkpointPath: pathSchema.nullish(),
  createdAt: timestampSchema.optional(),
});

const statusChangeSchema = z.strictObject({
  error: textSchema.nullish(),
  endedAt: timestampSchema.optional(),
  startedAt: timestampSchema.optional(),
});

const runPatchSchema = z.strictObject({
  name: nameSchema.optional(),
  backend: shortText.nullish(),
  checkpointPath: pathSchema.nullish(),
});

const oneOrMany = <T extends z.ZodType>(s: T) => z.union([s, z.array(s).min(1, 'must not be an empty list')]);

const runQuerySchema = z.strictObject({
  projectId: idSchema.optional(),
  kind: oneOrMany(runKindSchema).optional(),
  status: oneOrMany(runStatusSchema).optional(),
  modelId: idSchema.optional(),
  datasetId: idSchema.optional(),
  parentRunId: idSchema.optional(),
  search: z.string().max(500).optional(),
  orderBy: z.enum(['createdAt', 'startedAt', 'endedAt', 'name', 'status', 'kind']).optional(),
  direction: z.enum(['asc', 'desc']).optional(),
  limit: z.number().int().min(1).max(10_000).optional(),
  offset: z.number().int().nonnegative().optional(),
});

/** ORDER BY fragments, chosen from this table only (never from input). */
const ORDER_SQL: Record<RunOrderField, { expr: string; nullable: boolean; defaultDir: 'asc' | 'desc' }> = {
  createdAt: { expr: 'created_at', nullable: false, defaultDir: 'desc' },
  startedAt: { expr: 'started_at', nullable: true, defaultDir: 'desc' },
  endedAt: { expr: 'ended_at', nullable: true, defaultDir: 'desc' },
  name: { expr: 'name COLLATE NOCASE', nullable: false, defaultDir: 'asc' },
  status: { expr: 'status', nullable: false, defaultDir: 'asc' },
  kind: { expr: 'kind', nullable: false, defaultDir: 'asc' },
};

function requireRow(db: DB, table: 'projects' | 'models' | 'datasets' | 'runs', id: string, op: string, field: string): void {
  const found = stmt(db, `SELECT 1 FROM ${table} WHERE id = ?`).get(id);
  if (!found) {
    const what = { projects: 'project', models: 'model', datasets: 'dataset', runs: 'run' }[table];
    throw new SubspaceError('NOT_FOUND', `${op}: ${field}: no ${what} with id "${id}"`, field);
  }
}

export function createRun(db: DB, input: NewRun): Run {
  const r = check(newRunSchema, input, 'createRun');
  const createdAt = r.createdAt ?? Date.now();
  const status = r.status ?? 'queued';
  const row: RunRow = {
    id: r.id ?? randomUUID(),
    project_id: r.projectId,
    kind: r.kind,
    name: r.name,
    config: toJson(r.config, 'createRun', 'config'),
    status,
    backend: r.backend ?? null,
    model_id: r.modelId ?? null,
    dataset_id: r.datasetId ?? null,
    created_at: createdAt,
    started_at: status === 'running' ? createdAt : null,
    ended_at: null,
    error: null,
    checkpoint_path: r.checkpointPath ?? null,
    parent_run_id: r.parentRunId ?? null,
    owner_pid: process.pid,
  };
  db.transaction(() => {
    if (stmt(db, 'SELECT 1 FROM runs WHERE id = ?').get(row.id)) {
      throw new SubspaceError('BAD_ARGUMENT', `createRun: id: a run with id "${row.id}" already exists`, 'id');
    }
    requireRow(db, 'projects', row.project_id, 'createRun', 'projectId');
    if (row.model_id !== null) requireRow(db, 'models', row.model_id, 'createRun', 'modelId');
    if (row.dataset_id !== null) requireRow(db, 'datasets', row.dataset_id, 'createRun', 'datasetId');
    if (row.parent_run_id !== null) requireRow(db, 'runs', row.parent_run_id, 'createRun', 'parentRunId');
    stmt(
      db,
      `INSERT INTO runs (id, project_id, kind, name, config, status, backend, model_id, dataset_id,
                         created_at, started_at, ended_at, error, checkpoint_path, parent_run_id, owner_pid)
       VALUES (@id, @project_id, @kind, @name, @config, @status, @backend, @model_id, @dataset_id,
               @created_at, @started_at, @ended_at, @error, @checkpoint_path, @parent_run_id, @owner_pid)`,
    ).run(row);
  }).immediate();
  return toRun(row);
}

export function getRun(db: DB, id: string): Run | undefined {
  const r = stmt(db, 'SELECT * FROM runs WHERE id = ?').get(checkField(idSchema, id, 'getRun', 'id')) as RunRow | undefined;
  return r && toRun(r);
}

function mustGetRun(db: DB, id: string, op: string): Run {
  const run = getRun(db, id);
  if (!run) throw new SubspaceError('NOT_FOUND', `${op}: id: no run with id "${id}"`, 'id');
  return run;
}

/**
 * Move a run to a new status. 'running' stamps startedAt; a terminal status
 * stamps endedAt (both default to now). Disallowed moves (anything out of a
 * terminal status, running -> queued, ...) are refused.
 */
export function updateRunStatus(db: DB, id: string, status: RunStatus, change: RunStatusChange = {}): Run {
  checkField(idSchema, id, 'updateRunStatus', 'id');
  checkField(runStatusSchema, status, 'updateRunStatus', 'status');
  const c = check(statusChangeSchema, change, 'updateRunStatus');
  const terminal = status === 'succeeded' || status === 'failed' || status === 'cancelled';
  if (c.error != null && status !== 'failed' && status !== 'cancelled') {
    throw new SubspaceError('BAD_ARGUMENT', `updateRunStatus: error: only a failed or cancelled run has error text (status "${status}")`, 'error');
  }
  if (c.endedAt !== undefined && !terminal) {
    throw new SubspaceError('BAD_ARGUMENT', `updateRunStatus: endedAt: only for a terminal status (status "${status}")`, 'endedAt');
  }
  return db.transaction(() => {
    const run = mustGetRun(db, id, 'updateRunStatus');
    if (!TRANSITIONS[run.status].includes(status)) {
      throw new SubspaceError('BAD_ARGUMENT', `updateRunStatus: status: run "${id}" cannot go from "${run.status}" to "${status}"`, 'status');
    }
    const now = Date.now();
    const startedAt = status === 'running' ? (c.startedAt ?? now) : (c.startedAt ?? run.startedAt);
    const endedAt = terminal ? (c.endedAt ?? now) : null;
    const error = c.error ?? null;
    stmt(db, 'UPDATE runs SET status = ?, started_at = ?, ended_at = ?, error = ? WHERE id = ?').run(status, startedAt, endedAt, error, id);
    return { ...run, status, startedAt, endedAt, error };
  }).immediate();
}

/** Change the mutable descriptive fields of a run (name, backend, checkpoint path). */
export function updateRun(db: DB, id: string, patch: RunPatch): Run {
  checkField(idSchema, id, 'updateRun', 'id');
  const p = check(runPatchSchema, patch, 'updateRun');
  return db.transaction(() => {
    const run = mustGetRun(db, id, 'updateRun');
    const next: Run = {
      ...run,
      name: p.name ?? run.name,
      backend: p.backend === undefined ? run.backend : p.backend,
      checkpointPath: p.checkpointPath === undefined ? run.checkpointPath : p.checkpointPath,
    };
    stmt(db, 'UPDATE runs SET name = ?, backend = ?, checkpoint_path = ? WHERE id = ?').run(next.name, next.backend, next.checkpointPath, id);
    return next;
  }).immediate();
}

function whereClause(q: z.output<typeof runQuerySchema>): { where: string; params: Record<string, unknown> } {
  const parts: string[] = [];
  const params: Record<string, unknown> = {};
  if (q.projectId !== undefined) {
    parts.push('project_id = @projectId');
    params.projectId = q.projectId;
  }
  if (q.modelId !== undefined) {
    parts.push('model_id = @modelId');
    params.modelId = q.modelId;
  }
  if (q.datasetId !== undefined) {
    parts.push('dataset_id = @datasetId');
    params.datasetId = q.datasetId;
  }
  if (q.parentRunId !== undefined) {
    parts.push('parent_run_id = @parentRunId');
    params.parentRunId = q.parentRunId;
  }
  for (const [field, column] of [
    ['kind', 'kind'],
    ['status', 'status'],
  ] as const) {
    const v = q[field];
    if (v === undefined) continue;
    const list = [...new Set(Array.isArray(v) ? v : [v])];
    const names = list.map((_, i) => `@${field}${i}`);
    list.forEach((x, i) => (params[`${field}${i}`] = x));
    parts.push(list.length === 1 ? `${column} = ${names[0]}` : `${column} IN (${names.join(', ')})`);
  }
  if (q.search !== undefined && q.search.trim() !== '') {
    const escaped = q.search.trim().replace(/[\\%_]/g, (ch) => `\\${ch}`);
    params.search = `%${escaped}%`;
    parts.push("(name LIKE @search ESCAPE '\\' OR id LIKE @search ESCAPE '\\')");
  }
  return { where: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

/** Run summaries (no config), filtered, sorted and paged. */
export function listRuns(db: DB, query: RunQuery = {}): RunSummary[] {
  const q = check(runQuerySchema, query, 'listRuns');
  const { where, params } = whereClause(q);
  const order = ORDER_SQL[q.orderBy ?? 'createdAt'];
  const dir = (q.direction ?? order.defaultDir) === 'asc' ? 'ASC' : 'DESC';
  const nulls = order.nullable ? ' NULLS LAST' : '';
  const sql = `SELECT ${SUMMARY_COLUMNS} FROM runs ${where} ORDER BY ${order.expr} ${dir}${nulls}, rowid ${dir} LIMIT @limit OFFSET @offset`;
  const rows = stmt(db, sql).all({ ...params, limit: q.limit ?? 100, offset: q.offset ?? 0 }) as RunRow[];
  return rows.map(toSummary);
}

/** How many runs match the filters of `query` (ordering and paging ignored). */
export function countRuns(db: DB, query: RunQuery = {}): number {
  const q = check(runQuerySchema, query, 'countRuns');
  const { where, params } = whereClause(q);
  return (stmt(db, `SELECT count(*) AS n FROM runs ${where}`).get(params) as { n: number }).n;
}

/**
 * Delete a run and, by cascade, its metrics, artifacts rows and head data; child
 * runs lose their parent link and comparisons lose the id. Returns the artifact
 * paths (and checkpoint) so the caller can delete the files.
 */
export function deleteRun(db: DB, id: string): DeletedRun {
  checkField(idSchema, id, 'deleteRun', 'id');
  return db.transaction(() => {
    const run = mustGetRun(db, id, 'deleteRun');
    const artifactPaths = stmtPluck(db, 'SELECT path FROM artifacts WHERE run_id = ? ORDER BY id').all(id) as string[];
    const comparisons = stmt(
      db,
      'SELECT c.id AS id, c.run_ids AS run_ids FROM comparisons c WHERE EXISTS (SELECT 1 FROM json_each(c.run_ids) j WHERE j.value = ?)',
    ).all(id) as { id: string; run_ids: string }[];
    for (const c of comparisons) {
      const runIds = (JSON.parse(c.run_ids) as string[]).filter((x) => x !== id);
      stmt(db, 'UPDATE comparisons SET run_ids = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(runIds), Date.now(), c.id);
    }
    stmt(db, 'DELETE FROM runs WHERE id = ?').run(id);
    return { id, artifactPaths, checkpointPath: run.checkpointPath };
  }).immediate();
}

/** Whether a process with this id is alive on this machine (signal 0 checks without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Start-up recovery: runs still 'running' or 'queued' whose owning process is gone (or unknown,
 * or this very process, which cannot be running them yet) will never finish. Mark running ones
 * failed and queued ones cancelled (keeping their metrics and artifacts) and return their ids.
 * Runs owned by another live process (the app, another CLI command) are left alone.
 */
export function markInterruptedRuns(db: DB, now: number = Date.now(), alive: (pid: number) => boolean = processAlive): string[] {
  const open = stmt(db, "SELECT id, status, owner_pid FROM runs WHERE status IN ('running', 'queued') ORDER BY rowid").all() as { id: string; status: RunStatus; owner_pid: number | null }[];
  const stale = open.filter((r) => r.owner_pid === null || r.owner_pid === process.pid || !alive(r.owner_pid));
  const fail = stmt(db, "UPDATE runs SET status = 'failed', error = ?, ended_at = ? WHERE id = ? AND status = 'running'");
  // A queued run of a process that is gone will never start.
  const drop = stmt(db, "UPDATE runs SET status = 'cancelled', error = ?, ended_at = ? WHERE id = ? AND status = 'queued'");
  return db.transaction(() => {
    const failed: string[] = [];
    const dropped: string[] = [];
    for (const r of stale) {
      if (r.status === 'running' && fail.run(INTERRUPTED_ERROR, now, r.id).changes > 0) failed.push(r.id);
      if (r.status === 'queued' && drop.run('not started: the app or worker stopped before the run began', now, r.id).changes > 0) dropped.push(r.id);
    }
    return [...failed, ...dropped];
  }).immediate();
}
