import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { stmt, type DB } from './db.js';
import type { Model, NewModel } from './types.js';
import { check, checkField, hashSchema, idSchema, jsonObjectSchema, nameSchema, pathSchema, timestampSchema, toJson } from './validate.js';

interface ModelRow {
  id: string;
  name: string;
  folder: string;
  config_summary: string;
  content_hash: string;
  created_at: number;
  updated_at: number;
}

const newModelSchema = z.strictObject({
  id: idSchema.optional(),
  name: nameSchema,
  folder: pathSchema,
  configSummary: jsonObjectSchema,
  contentHash: hashSchema,
  createdAt: timestampSchema.optional(),
});

function toModel(r: ModelRow): Model {
  return {
    id: r.id,
    name: r.name,
    folder: r.folder,
    configSummary: JSON.parse(r.config_summary) as Record<string, unknown>,
    contentHash: r.content_hash,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/**
 * Register a model folder. The folder is the key: registering the same folder
 * again keeps its id and updates name, summary and hash.
 */
export function registerModel(db: DB, input: NewModel): Model {
  const m = check(newModelSchema, input, 'registerModel');
  const now = Date.now();
  const row = stmt(
    db,
    `INSERT INTO models (id, name, folder, config_summary, content_hash, created_at, updated_at)
     VALUES (@id, @name, @folder, @config_summary, @content_hash, @created_at, @updated_at)
     ON CONFLICT (folder) DO UPDATE SET
       name = excluded.name, config_summary = excluded.config_summary,
       content_hash = excluded.content_hash, updated_at = excluded.updated_at
     RETURNING *`,
  ).get({
    id: m.id ?? randomUUID(),
    name: m.name,
    folder: m.folder,
    config_summary: toJson(m.configSummary, 'registerModel', 'configSummary'),
    content_hash: m.contentHash,
    created_at: m.createdAt ?? now,
    updated_at: now,
  }) as ModelRow;
  return toModel(row);
}

export function getModel(db: DB, id: string): Model | undefined {
  const r = stmt(db, 'SELECT * FROM models WHERE id = ?').get(checkField(idSchema, id, 'getModel', 'id')) as ModelRow | undefined;
  return r && toModel(r);
}

export function getModelByFolder(db: DB, folder: string): Model | undefined {
  const r = stmt(db, 'SELECT * FROM models WHERE folder = ?').get(checkField(pathSchema, folder, 'getModelByFolder', 'folder')) as
    | ModelRow
    | undefined;
  return r && toModel(r);
}

export function listModels(db: DB): Model[] {
  return (stmt(db, 'SELECT * FROM models ORDER BY name, rowid').all() as ModelRow[]).map(toModel);
}
