import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { SubspaceError } from '../engine/errors.js';
import { isConstraintError, stmt, type DB } from './db.js';
import type { NewProject, Project } from './types.js';
import { check, checkField, idSchema, nameSchema, textSchema, timestampSchema } from './validate.js';

interface ProjectRow {
  id: string;
  name: string;
  description: string;
  created_at: number;
}

const newProjectSchema = z.strictObject({
  id: idSchema.optional(),
  name: nameSchema,
  description: textSchema.optional(),
  createdAt: timestampSchema.optional(),
});

function toProject(r: ProjectRow): Project {
  return { id: r.id, name: r.name, description: r.description, createdAt: r.created_at };
}

export function createProject(db: DB, input: NewProject): Project {
  const p = check(newProjectSchema, input, 'createProject');
  const row: ProjectRow = {
    id: p.id ?? randomUUID(),
    name: p.name,
    description: p.description ?? '',
    created_at: p.createdAt ?? Date.now(),
  };
  try {
    stmt(db, 'INSERT INTO projects (id, name, description, created_at) VALUES (@id, @name, @description, @created_at)').run(row);
  } catch (e) {
    if (isConstraintError(e, 'UNIQUE') || isConstraintError(e, 'PRIMARYKEY')) {
      const byId = getProject(db, row.id);
      const field = byId ? 'id' : 'name';
      throw new SubspaceError('BAD_ARGUMENT', `createProject: ${field}: a project with ${field} "${field === 'id' ? row.id : row.name}" already exists`, field);
    }
    throw e;
  }
  return toProject(row);
}

export function getProject(db: DB, id: string): Project | undefined {
  const r = stmt(db, 'SELECT * FROM projects WHERE id = ?').get(checkField(idSchema, id, 'getProject', 'id')) as ProjectRow | undefined;
  return r && toProject(r);
}

export function getProjectByName(db: DB, name: string): Project | undefined {
  const r = stmt(db, 'SELECT * FROM projects WHERE name = ?').get(checkField(nameSchema, name, 'getProjectByName', 'name')) as ProjectRow | undefined;
  return r && toProject(r);
}

export function listProjects(db: DB): Project[] {
  return (stmt(db, 'SELECT * FROM projects ORDER BY created_at, rowid').all() as ProjectRow[]).map(toProject);
}

/** Delete an empty project. A project with runs is refused: delete its runs first (their artifacts need the caller). */
export function deleteProject(db: DB, id: string): void {
  checkField(idSchema, id, 'deleteProject', 'id');
  db.transaction(() => {
    if (!getProject(db, id)) throw new SubspaceError('NOT_FOUND', `deleteProject: no project with id "${id}"`, 'id');
    const n = (stmt(db, 'SELECT count(*) AS n FROM runs WHERE project_id = ?').get(id) as { n: number }).n;
    if (n > 0) throw new SubspaceError('BAD_ARGUMENT', `deleteProject: project "${id}" still has ${n} run(s); delete them first`, 'id');
    stmt(db, 'DELETE FROM projects WHERE id = ?').run(id);
  }).immediate();
}
