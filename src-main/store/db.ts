import { closeSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { SubspaceError, errorMessage } from '../engine/errors.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, type Migration } from './migrations.js';

export type DB = Database.Database;
export type Statement = Database.Statement;

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

export interface OpenDatabaseOptions {
  /** How long a writer waits for another process's lock before SQLITE_BUSY. */
  busyTimeoutMs?: number;
  /** Page cache per connection, in KiB (better-sqlite3's build defaults to 16,000). */
  cacheSizeKiB?: number;
}

const SQLITE_MAGIC = 'SQLite format 3\u0000';

/**
 * `user_version` read straight from the file header (bytes 60-63, big-endian),
 * without opening the file through SQLite, so a database we must refuse is never
 * touched (no -wal or -shm file is created next to it). Undefined for a missing or
 * empty file (both become a fresh database).
 */
export function headerUserVersion(file: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SubspaceError('BAD_FILE', `${file}: cannot read the database file: ${errorMessage(e)}`, file);
  }
  const header = Buffer.alloc(100);
  let n: number;
  try {
    n = readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  if (n === 0) return undefined;
  if (n < 100 || header.toString('latin1', 0, 16) !== SQLITE_MAGIC) {
    throw new SubspaceError('BAD_FILE', `${file}: not a SQLite database`, file);
  }
  return header.readInt32BE(60);
}

/**
 * When a process died with changes still in the WAL (not yet copied into the
 * main file), the header can hold an old user_version. Ask SQLite through a
 * read-only connection, which replays the WAL in memory and never checkpoints
 * into the main file on close.
 */
function walUserVersion(file: string): number | undefined {
  let size = 0;
  try {
    size = statSync(`${file}-wal`).size;
  } catch {
    return undefined;
  }
  if (size === 0) return undefined;
  let ro: DB | undefined;
  try {
    ro = new Database(file, { readonly: true, fileMustExist: true });
    return ro.pragma('user_version', { simple: true }) as number;
  } catch (e) {
    throw wrapOpenError(e, file);
  } finally {
    ro?.close();
  }
}

function refuseVersion(version: number, file: string): void {
  if (version > LATEST_SCHEMA_VERSION) {
    throw new SubspaceError(
      'UNSUPPORTED',
      `${file}: this database was written by a newer version of Subspace (schema version ${version}; ` +
        `this version understands up to ${LATEST_SCHEMA_VERSION}). Update Subspace, or point it at another data folder ` +
        `(SUBSPACE_DATA_DIR). The file has not been changed.`,
      file,
    );
  }
  if (version < 0) {
    throw new SubspaceError('BAD_FILE', `${file}: not a Subspace database (user_version ${version})`, file);
  }
}

function wrapOpenError(e: unknown, file: string): unknown {
  if (e instanceof SubspaceError) return e;
  const code = (e as { code?: unknown }).code;
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code === 'SQLITE_CANTOPEN') {
    return new SubspaceError('BAD_FILE', `${file}: cannot open the database: ${errorMessage(e)}`, file);
  }
  return e;
}

/**
 * Open (creating if needed) the database at `file` and bring its schema up to
 * date. Refuses, without writing anything, a database from a newer app.
 * Settings: WAL journal, synchronous=NORMAL (durable across process crashes;
 * a power cut may lose the last commits but never corrupts), foreign keys on,
 * a busy timeout for the worker-and-UI case.
 */
export function openDatabase(file: string, options: OpenDatabaseOptions = {}): DB {
  const memory = file === ':memory:' || file === '';
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  if (!memory) {
    const version = headerUserVersion(file);
    if (version !== undefined) {
      refuseVersion(version, file);
      refuseVersion(walUserVersion(file) ?? version, file);
    }
    mkdirSync(dirname(file), { recursive: true });
  }

  let db: DB;
  try {
    db = new Database(file, { timeout: busyTimeoutMs });
  } catch (e) {
    throw wrapOpenError(e, file);
  }
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    // The header can be stale while a crashed newer app's WAL is still unmerged: ask again, before any write.
    const version = db.pragma('user_version', { simple: true }) as number;
    refuseVersion(version, file);
    if (version === 0) {
      const foreign = db.prepare("SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' LIMIT 1").get() as
        | { name: string }
        | undefined;
      if (foreign) {
        throw new SubspaceError('BAD_FILE', `${file}: not a Subspace database (it has a table or index "${foreign.name}" but no schema version)`, file);
      }
    }
    if (!memory) {
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new SubspaceError('BACKEND', `${file}: could not switch the database to WAL mode (got ${String(mode)})`, file);
    }
    db.pragma('synchronous = NORMAL');
    if (options.cacheSizeKiB !== undefined) {
      if (!Number.isInteger(options.cacheSizeKiB) || options.cacheSizeKiB < 64) {
        throw new SubspaceError('BAD_ARGUMENT', `cacheSizeKiB: must be an integer >= 64 (got ${options.cacheSizeKiB})`, 'cacheSizeKiB');
      }
      db.pragma(`cache_size = -${options.cacheSizeKiB}`);
    }
    db.pragma('foreign_keys = ON');
    migrate(db);
    return db;
  } catch (e) {
    db.close();
    throw wrapOpenError(e, file);
  }
}

/**
 * Apply the migrations above the database's `user_version`, each in its own
 * IMMEDIATE transaction together with the version bump (so two processes
 * starting at once cannot both apply one).
 */
export function migrate(db: DB, migrations: readonly Migration[] = MIGRATIONS): number {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new SubspaceError('INTERNAL', `migration ${i + 1} is numbered ${m.version}`);
  });
  for (const m of migrations) {
    db.transaction(() => {
      const current = db.pragma('user_version', { simple: true }) as number;
      if (current >= m.version) return;
      if (current !== m.version - 1) {
        throw new SubspaceError('INTERNAL', `cannot apply migration ${m.version} to a database at version ${current}`);
      }
      try {
        db.exec(m.sql);
      } catch (e) {
        throw new SubspaceError('INTERNAL', `migration ${m.version} (${m.name}) failed: ${errorMessage(e)}`);
      }
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
  return db.pragma('user_version', { simple: true }) as number;
}

const statementCache = new WeakMap<DB, Map<string, Statement>>();

type Mode = 'rows' | 'pluck' | 'raw';

function cached(db: DB, sql: string, mode: Mode): Statement {
  let cache = statementCache.get(db);
  if (!cache) {
    cache = new Map();
    statementCache.set(db, cache);
  }
  const key = `${mode}\u0000${sql}`;
  let s = cache.get(key);
  if (!s) {
    s = db.prepare(sql);
    if (mode === 'pluck') s.pluck(true);
    else if (mode === 'raw' && s.reader) s.raw(true);
    cache.set(key, s);
  }
  return s;
}

/** A prepared statement for `sql`, prepared once per connection; rows come back as objects. */
export function stmt(db: DB, sql: string): Statement {
  return cached(db, sql, 'rows');
}

/** Like stmt, but each row is its first column's value. */
export function stmtPluck(db: DB, sql: string): Statement {
  return cached(db, sql, 'pluck');
}

/** Like stmt, but each row is an array of column values (fastest for bulk reads). */
export function stmtRaw(db: DB, sql: string): Statement {
  return cached(db, sql, 'raw');
}

/** True when `e` is a SQLite constraint error of the given kind (e.g. 'UNIQUE', 'FOREIGNKEY'). */
export function isConstraintError(e: unknown, kind?: string): boolean {
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_CONSTRAINT')) return false;
  return kind === undefined || code === `SQLITE_CONSTRAINT_${kind}`;
}
