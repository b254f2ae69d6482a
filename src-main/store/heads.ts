import { z } from 'zod';
import { SubspaceError } from '../engine/errors.js';
import { stmt, stmtPluck, type DB } from './db.js';
import type { HeadRef, HeadScores, HeadSelection } from './types.js';
import { checkField, idSchema, timestampSchema } from './validate.js';

const nameSchema = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');
const dimSchema = z.number().int('must be an integer').positive('must be > 0').max(1_000_000);
const indexSchema = z.number().int('must be an integer').nonnegative('must be >= 0').max(1_000_000);

interface ScoresRow {
  run_id: string;
  name: string;
  layers: number;
  heads: number;
  values: Buffer;
  created_at: number;
}

function requireRun(db: DB, runId: string, op: string): void {
  if (!stmt(db, 'SELECT 1 FROM runs WHERE id = ?').get(runId)) {
    throw new SubspaceError('NOT_FOUND', `${op}: runId: no run with id "${runId}"`, 'runId');
  }
}

/** float32 little-endian, whatever the host's byte order. */
function encodeFloat32(values: ArrayLike<number>): Buffer {
  const buf = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) buf.writeFloatLE(values[i], i * 4);
  return buf;
}

function decodeFloat32(buf: Buffer): Float32Array {
  const out = new Float32Array(buf.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

export interface HeadScoresInput {
  layers: number;
  heads: number;
  /** Row-major [layer][head]; length layers * heads. */
  values: Float32Array | readonly number[];
  createdAt?: number;
}

/** Save (or replace) a layers x heads score matrix under a name, e.g. 'probe_accuracy'. */
export function saveHeadScores(db: DB, runId: string, name: string, input: HeadScoresInput): HeadScores {
  const op = 'saveHeadScores';
  checkField(idSchema, runId, op, 'runId');
  const n = checkField(nameSchema, name, op, 'name');
  if (input === null || typeof input !== 'object') throw new SubspaceError('BAD_ARGUMENT', `${op}: scores: must be { layers, heads, values }`, 'scores');
  const layers = checkField(dimSchema, input.layers, op, 'layers');
  const heads = checkField(dimSchema, input.heads, op, 'heads');
  const values = input.values as unknown;
  if (!(values instanceof Float32Array) && !Array.isArray(values)) {
    throw new SubspaceError('BAD_ARGUMENT', `${op}: values: must be a Float32Array or an array of numbers`, 'values');
  }
  const vals = values as ArrayLike<unknown>;
  if (vals.length !== layers * heads) {
    throw new SubspaceError('BAD_ARGUMENT', `${op}: values: has ${vals.length} entries; layers x heads is ${layers * heads}`, 'values');
  }
  for (let i = 0; i < vals.length; i++) {
    if (typeof vals[i] !== 'number') throw new SubspaceError('BAD_ARGUMENT', `${op}: values[${i}]: must be a number`, `values[${i}]`);
  }
  const createdAt = input.createdAt === undefined ? Date.now() : checkField(timestampSchema, input.createdAt, op, 'createdAt');
  const blob = encodeFloat32(vals as ArrayLike<number>);
  db.transaction(() => {
    requireRun(db, runId, op);
    stmt(
      db,
      `INSERT INTO head_scores (run_id, name, layers, heads, "values", created_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (run_id, name) DO UPDATE SET layers = excluded.layers, heads = excluded.heads,
         "values" = excluded."values", created_at = excluded.created_at`,
    ).run(runId, n, layers, heads, blob, createdAt);
  }).immediate();
  return { runId, name: n, layers, heads, values: decodeFloat32(blob), createdAt };
}

export function getHeadScores(db: DB, runId: string, name: string): HeadScores | undefined {
  checkField(idSchema, runId, 'getHeadScores', 'runId');
  const n = checkField(nameSchema, name, 'getHeadScores', 'name');
  const r = stmt(db, 'SELECT * FROM head_scores WHERE run_id = ? AND name = ?').get(runId, n) as ScoresRow | undefined;
  if (!r) return undefined;
  return { runId: r.run_id, name: r.name, layers: r.layers, heads: r.heads, values: decodeFloat32(r.values), createdAt: r.created_at };
}

/** The names of a run's score matrices, sorted. */
export function listHeadScoreNames(db: DB, runId: string): string[] {
  checkField(idSchema, runId, 'listHeadScoreNames', 'runId');
  return stmtPluck(db, 'SELECT name FROM head_scores WHERE run_id = ? ORDER BY name').all(runId) as string[];
}

const headRefSchema = z.strictObject({ layer: indexSchema, head: indexSchema });
const selectionSchema = z.array(headRefSchema).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((h, i) => {
    const key = `${h.layer}:${h.head}`;
    if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i], message: `head (${h.layer}, ${h.head}) is listed twice` });
    seen.add(key);
  });
});

/** Save (or replace) a ranked list of heads under a name, best first. */
export function saveHeadSelection(db: DB, runId: string, name: string, heads: readonly HeadRef[], createdAt?: number): HeadSelection {
  const op = 'saveHeadSelection';
  checkField(idSchema, runId, op, 'runId');
  const n = checkField(nameSchema, name, op, 'name');
  const r = selectionSchema.safeParse(heads);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = `heads${issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`;
    throw new SubspaceError('BAD_ARGUMENT', `${op}: ${field}: ${issue.message}`, field);
  }
  const at = createdAt === undefined ? Date.now() : checkField(timestampSchema, createdAt, op, 'createdAt');
  const list = r.data.map((h) => ({ layer: h.layer, head: h.head }));
  db.transaction(() => {
    requireRun(db, runId, op);
    stmt(
      db,
      `INSERT INTO head_selections (run_id, name, heads, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (run_id, name) DO UPDATE SET heads = excluded.heads, created_at = excluded.created_at`,
    ).run(runId, n, JSON.stringify(list.map((h) => [h.layer, h.head])), at);
  }).immediate();
  return { runId, name: n, heads: list, createdAt: at };
}

export function getHeadSelection(db: DB, runId: string, name: string): HeadSelection | undefined {
  checkField(idSchema, runId, 'getHeadSelection', 'runId');
  const n = checkField(nameSchema, name, 'getHeadSelection', 'name');
  const r = stmt(db, 'SELECT heads, created_at FROM head_selections WHERE run_id = ? AND name = ?').get(runId, n) as
    | { heads: string; created_at: number }
    | undefined;
  if (!r) return undefined;
  const pairs = JSON.parse(r.heads) as [number, number][];
  return { runId, name: n, heads: pairs.map(([layer, head]) => ({ layer, head })), createdAt: r.created_at };
}

/** The names of a run's head selections, sorted. */
export function listHeadSelectionNames(db: DB, runId: string): string[] {
  checkField(idSchema, runId, 'listHeadSelectionNames', 'runId');
  return stmtPluck(db, 'SELECT name FROM head_selections WHERE run_id = ? ORDER BY name').all(runId) as string[];
}
