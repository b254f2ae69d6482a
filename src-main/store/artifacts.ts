import { z } from 'zod';
import { SubspaceError } from '../engine/errors.js';
import { stmt, type DB } from './db.js';
import type { Artifact, NewArtifact } from './types.js';
import { check, checkField, countSchema, idSchema, pathSchema, sha256Schema, timestampSchema } from './validate.js';

interface ArtifactRow {
  id: number;
  run_id: string;
  kind: string;
  path: string;
  size_bytes: number;
  sha256: string;
  created_at: number;
}

const newArtifactSchema = z.strictObject({
  runId: idSchema,
  kind: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  path: pathSchema,
  sizeBytes: countSchema,
  sha256: sha256Schema,
  createdAt: timestampSchema.optional(),
});

function toArtifact(r: ArtifactRow): Artifact {
  return { id: r.id, runId: r.run_id, kind: r.kind, path: r.path, sizeBytes: r.size_bytes, sha256: r.sha256, createdAt: r.created_at };
}

/** Record a file a run produced. The (run, path) pair is the key: adding it again updates kind, size and hash. */
export function addArtifact(db: DB, input: NewArtifact): Artifact {
  const a = check(newArtifactSchema, input, 'addArtifact');
  return db.transaction(() => {
    if (!stmt(db, 'SELECT 1 FROM runs WHERE id = ?').get(a.runId)) {
      throw new SubspaceError('NOT_FOUND', `addArtifact: runId: no run with id "${a.runId}"`, 'runId');
    }
    const row = stmt(
      db,
      `INSERT INTO artifacts (run_id, kind, path, size_bytes, sha256, created_at)
       VALUES (@run_id, @kind, @path, @size_bytes, @sha256, @created_at)
       ON CONFLICT (run_id, path) DO UPDATE SET
         kind = excluded.kind, size_bytes = excluded.size_bytes, sha256 = excluded.sha256, created_at = excluded.created_at
       RETURNING *`,
    ).get({
      run_id: a.runId,
      kind: a.kind,
      path: a.path,
      size_bytes: a.sizeBytes,
      sha256: a.sha256,
      created_at: a.createdAt ?? Date.now(),
    }) as ArtifactRow;
    return toArtifact(row);
  }).immediate();
}

/** A run's artifacts in the order they were first recorded (rewriting a file updates its row in place). */
export function listArtifacts(db: DB, runId: string): Artifact[] {
  checkField(idSchema, runId, 'listArtifacts', 'runId');
  return (stmt(db, 'SELECT * FROM artifacts WHERE run_id = ? ORDER BY id').all(runId) as ArtifactRow[]).map(toArtifact);
}

/** Forget one artifact row; returns its path (the caller deletes the file) or undefined if there was none. */
export function removeArtifact(db: DB, id: number): string | undefined {
  checkField(z.number().int().positive(), id, 'removeArtifact', 'id');
  return (stmt(db, 'DELETE FROM artifacts WHERE id = ? RETURNING path').get(id) as { path: string } | undefined)?.path;
}
