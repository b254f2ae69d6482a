import { z } from 'zod';
import { SubspaceError } from '../engine/errors.js';
import { stmt, stmtPluck, stmtRaw, type DB } from './db.js';
import type { MetricPoint, MetricQuery, MetricSeries } from './types.js';
import { check, checkField, idSchema } from './validate.js';

const MAX_NAME = 200;

const metricQuerySchema = z.strictObject({
  names: z.array(z.string().min(1).max(MAX_NAME)).optional(),
  afterStep: z.number().int().optional(),
});

function bad(op: string, field: string, message: string): SubspaceError {
  return new SubspaceError('BAD_ARGUMENT', `${op}: ${field}: ${message}`, field);
}

/**
 * Points are checked by hand rather than with zod: this is the hot path (a
 * training loop logs every few steps, the bench loads a million points).
 */
function checkPoints(points: unknown, op: string): MetricPoint[] {
  if (!Array.isArray(points)) throw bad(op, 'points', 'must be an array of { step, name, value }');
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as Partial<MetricPoint> | null;
    if (p === null || typeof p !== 'object') throw bad(op, `points[${i}]`, 'must be an object { step, name, value }');
    if (typeof p.step !== 'number' || !Number.isSafeInteger(p.step) || p.step < 0) {
      throw bad(op, `points[${i}].step`, `must be a non-negative integer (got ${String(p.step)})`);
    }
    if (typeof p.name !== 'string' || p.name.length === 0 || p.name.length > MAX_NAME) {
      throw bad(op, `points[${i}].name`, `must be a non-empty string of at most ${MAX_NAME} characters`);
    }
    if (typeof p.value !== 'number') throw bad(op, `points[${i}].value`, `must be a number (got ${typeof p.value})`);
  }
  return points as MetricPoint[];
}

/**
 * Append metric points to a run, all in one transaction with prepared
 * statements. A point at a (name, step) that already exists replaces it (a
 * resumed run may log a step again). Returns how many points were written.
 */
export function appendMetrics(db: DB, runId: string, points: readonly MetricPoint[]): number {
  checkField(idSchema, runId, 'appendMetrics', 'runId');
  const pts = checkPoints(points, 'appendMetrics');
  if (pts.length === 0) return 0;
  const findSeries = stmtPluck(db, 'SELECT id FROM metric_series WHERE run_id = ? AND name = ?');
  const addSeries = stmt(db, 'INSERT INTO metric_series (run_id, name) VALUES (?, ?)');
  const addPoint = stmt(
    db,
    'INSERT INTO metric_points (series_id, step, value) VALUES (?, ?, ?) ON CONFLICT (series_id, step) DO UPDATE SET value = excluded.value',
  );
  db.transaction(() => {
    if (!stmt(db, 'SELECT 1 FROM runs WHERE id = ?').get(runId)) {
      throw new SubspaceError('NOT_FOUND', `appendMetrics: runId: no run with id "${runId}"`, 'runId');
    }
    const series = new Map<string, number | bigint>();
    for (const p of pts) {
      let sid = series.get(p.name);
      if (sid === undefined) {
        sid = findSeries.get(runId, p.name) as number | undefined;
        if (sid === undefined) sid = addSeries.run(runId, p.name).lastInsertRowid;
        series.set(p.name, sid);
      }
      addPoint.run(sid, p.step, p.value);
    }
  }).immediate();
  return pts.length;
}

/** The metric names a run has logged, sorted. */
export function listMetricNames(db: DB, runId: string): string[] {
  checkField(idSchema, runId, 'listMetricNames', 'runId');
  return stmtPluck(db, 'SELECT name FROM metric_series WHERE run_id = ? ORDER BY name').all(runId) as string[];
}

/**
 * A run's curves grouped by name, each sorted by step. NULL (stored NaN) comes
 * back as NaN. Unknown run: NOT_FOUND; a name never logged is simply absent.
 */
export function getMetrics(db: DB, runId: string, query: MetricQuery = {}): Record<string, MetricSeries> {
  checkField(idSchema, runId, 'getMetrics', 'runId');
  const q = check(metricQuerySchema, query, 'getMetrics');
  const readSeries = stmtRaw(db, 'SELECT step, value FROM metric_points WHERE series_id = ? AND step > ? ORDER BY step');
  const after = q.afterStep ?? -1;
  const wanted = q.names ? new Set(q.names) : undefined;
  // One read transaction so all curves come from the same snapshot while a worker writes.
  return db.transaction(() => {
    if (!stmt(db, 'SELECT 1 FROM runs WHERE id = ?').get(runId)) {
      throw new SubspaceError('NOT_FOUND', `getMetrics: runId: no run with id "${runId}"`, 'runId');
    }
    const all = stmtRaw(db, 'SELECT id, name FROM metric_series WHERE run_id = ? ORDER BY name').all(runId) as [number, string][];
    const entries: [string, MetricSeries][] = [];
    for (const [sid, name] of all) {
      if (wanted && !wanted.has(name)) continue;
      const rows = readSeries.all(sid, after) as [number, number | null][];
      const steps = new Array<number>(rows.length);
      const values = new Array<number>(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i];
        steps[i] = row[0];
        values[i] = row[1] === null ? NaN : row[1];
      }
      entries.push([name, { steps, values }]);
    }
    return Object.fromEntries(entries);
  }).deferred();
}

/** How many points a run has, per metric name. */
export function countMetrics(db: DB, runId: string): Record<string, number> {
  checkField(idSchema, runId, 'countMetrics', 'runId');
  const rows = stmtRaw(
    db,
    'SELECT s.name, (SELECT count(*) FROM metric_points p WHERE p.series_id = s.id) FROM metric_series s WHERE s.run_id = ? ORDER BY s.name',
  ).all(runId) as [string, number][];
  return Object.fromEntries(rows);
}
