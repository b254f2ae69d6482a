import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { SubspaceError } from '../engine/errors.js';
import { stmt, type DB } from './db.js';
import type { Comparison, ComparisonPatch, NewComparison } from './types.js';
import { check, checkField, idSchema, nameSchema, textSchema, timestampSchema } from './validate.js';

interface ComparisonRow {
  id: string;
  name: string;
  run_ids: string;
  notes: string;
  created_at: number;
  updated_at: number;
}

const runIdsSchema = z
  .array(idSchema)
  .min(1, 'must list at least one run')
  .max(1000, 'must list at most 1000 runs')
  .refine((ids) => new Set(ids).size === ids.length, 'must not list a run twice');

const newComparisonSchema = z.strictObject({
  id: idSchema.optional(),
  name: nameSchema,
  runIds: runIdsSchema,
  notes: textSchema.optional(),
  createdAt: timestampSchema.optional(),
});

const patchSchema = z.strictObject({
  name: nameSchema.optional(),
  runIds: runIdsSchema.optional(),
  notes: textSchema.optional(),
});

function toComparison(r: ComparisonRow): Comparison {
  return { id: r.id, name: r.name, runIds: JSON.parse(r.run_ids) as string[], notes: r.notes, createdAt: r.created_at, updatedAt: r.updated_at };
}

function requireRuns(db: DB, runIds: readonly string[], op: string): void {
  const exists = stmt(db, 'SELECT 1 FROM runs WHERE id = ?');
  runIds.forEach((id, i) => {
    if (!exists.get(id)) throw new SubspaceError('NOT_FOUND', `${op}: runIds[${i}]: no run with id "${id}"`, `runIds[${i}]`);
  });
}

export function createComparison(db: DB, input: NewComparison): Comparison {
  const c = check(newComparisonSchema, input, 'createComparison');
  const at = c.createdAt ?? Date.now();
  const row: ComparisonRow = { id: c.id ?? randomUUID(), name: c.name, run_ids: JSON.stringify(c.runIds), notes: c.notes ?? '', created_at: at, updated_at: at };
  db.transaction(() => {
    if (stmt(db, 'SELECT 1 FROM comparisons WHERE id = ?').get(row.id)) {
      throw new SubspaceError('BAD_ARGUMENT', `createComparison: id: a comparison with id "${row.id}" already exists`, 'id');
    }
    requireRuns(db, c.runIds, 'createComparison');
    stmt(db, 'INSERT INTO comparisons (id, name, run_ids, notes, created_at, updated_at) VALUES (@id, @name, @run_ids, @notes, @created_at, @updated_at)').run(row);
  }).immediate();
  return toComparison(row);
}

export function getComparison(db: DB, id: string): Comparison | undefined {
  const r = stmt(db, 'SELECT * FROM comparisons WHERE id = ?').get(checkField(idSchema, id, 'getComparison', 'id')) as ComparisonRow | undefined;
  return r && toComparison(r);
}

export function listComparisons(db: DB): Comparison[] {
  return (stmt(db, 'SELECT * FROM comparisons ORDER BY created_at DESC, rowid DESC').all() as ComparisonRow[]).map(toComparison);
}

export function updateComparison(db: DB, id: string, patch: ComparisonPatch): Comparison {
  checkField(idSchema, id, 'updateComparison', 'id');
  const p = check(patchSchema, patch, 'updateComparison');
  return db.transaction(() => {
    const current = getComparison(db, id);
    if (!current) throw new SubspaceError('NOT_FOUND', `updateComparison: id: no comparison with id "${id}"`, 'id');
    if (p.runIds) requireRuns(db, p.runIds, 'updateComparison');
    const next: Comparison = {
      ...current,
      name: p.name ?? current.name,
      runIds: p.runIds ?? current.runIds,
      notes: p.notes ?? current.notes,
      updatedAt: Date.now(),
    };
    stmt(db, 'UPDATE comparisons SET name = ?, run_ids = ?, notes = ?, updated_at = ? WHERE id = ?').run(
      next.name,
      JSON.stringify(next.runIds),
      next.notes,
      next.updatedAt,
      id,
    );
    return next;
  }).immediate();
}

/** Returns false when there was no such comparison. */
export function deleteComparison(db: DB, id: string): boolean {
  checkField(idSchema, id, 'deleteComparison', 'id');
  return stmt(db, 'DELETE FROM comparisons WHERE id = ?').run(id).changes > 0;
}
