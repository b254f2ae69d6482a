import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { stmt, type DB } from './db.js';
import type { Dataset, NewDataset } from './types.js';
import { check, checkField, countSchema, hashSchema, idSchema, nameSchema, pathSchema, timestampSchema } from './validate.js';

interface DatasetRow {
  id: string;
  name: string;
  source: 'builtin' | 'imported';
  path: string | null;
  content_hash: string;
  row_count: number;
  created_at: number;
  updated_at: number;
}

const newDatasetSchema = z.strictObject({
  id: idSchema.optional(),
  name: nameSchema,
  source: z.enum(['builtin', 'imported']),
  path: pathSchema.nullish(),
  contentHash: hashSchema,
  rowCount: countSchema,
  createdAt: timestampSchema.optional(),
});

function toDataset(r: DatasetRow): Dataset {
  return {
    id: r.id,
    name: r.name,
    source: r.source,
    path: r.path,
    contentHash: r.content_hash,
    rowCount: r.row_count,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Register a dataset. The id is the key: registering the same id again updates the row. */
export function registerDataset(db: DB, input: NewDataset): Dataset {
  const d = check(newDatasetSchema, input, 'registerDataset');
  const now = Date.now();
  const row = stmt(
    db,
    `INSERT INTO datasets (id, name, source, path, content_hash, row_count, created_at, updated_at)
     VALUES (@id, @name, @source, @path, @content_hash, @row_count, @created_at, @updated_at)
     ON CONFLICT (id) DO UPDATE SET
       name = excluded.name, source = excluded.source, path = excluded.path,
       content_hash = excluded.content_hash, row_count = excluded.row_count, updated_at = excluded.updated_at
     RETURNING *`,
  ).get({
    id: d.id ?? randomUUID(),
    name: d.name,
    source: d.source,
    path: d.path ?? null,
    content_hash: d.contentHash,
    row_count: d.rowCount,
    created_at: d.createdAt ?? now,
    updated_at: now,
  }) as DatasetRow;
  return toDataset(row);
}

export function getDataset(db: DB, id: string): Dataset | undefined {
  const r = stmt(db, 'SELECT * FROM datasets WHERE id = ?').get(checkField(idSchema, id, 'getDataset', 'id')) as DatasetRow | undefined;
  return r && toDataset(r);
}

export function listDatasets(db: DB): Dataset[] {
  return (stmt(db, 'SELECT * FROM datasets ORDER BY name, rowid').all() as DatasetRow[]).map(toDataset);
}
