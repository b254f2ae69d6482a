/**
 * The persistent experiment store: one SQLite database (better-sqlite3, WAL)
 * in the data folder. This folder is the only code that knows SQL; everything
 * else goes through the typed methods of `Store`.
 *
 *   const store = openStore({ dataDir: dataDir() });
 *   store.markInterruptedRuns();           // once, at start-up
 *   const run = store.createRun({ projectId, kind: 'reft', name, config });
 *   store.appendMetrics(run.id, [{ step: 10, name: 'loss', value: 0.7 }]);
 *
 * All methods are synchronous (better-sqlite3). Two processes (the UI and a
 * worker) may open the same file; writers wait up to the busy timeout.
 */
import { SubspaceError } from '../engine/errors.js';
import * as artifacts from './artifacts.js';
import * as comparisons from './comparisons.js';
import * as datasets from './datasets.js';
import { openDatabase, type DB, type OpenDatabaseOptions } from './db.js';
import { dataDir as defaultDataDir, dbPathIn, runDirIn } from './data-dir.js';
import * as heads from './heads.js';
import * as metrics from './metrics.js';
import * as models from './models.js';
import * as projects from './projects.js';
import * as runs from './runs.js';
import type {
  Artifact,
  Comparison,
  ComparisonPatch,
  Dataset,
  DeletedRun,
  HeadRef,
  HeadScores,
  HeadSelection,
  IntegrityReport,
  MetricPoint,
  MetricQuery,
  MetricSeries,
  Model,
  NewArtifact,
  NewComparison,
  NewDataset,
  NewModel,
  NewProject,
  NewRun,
  Project,
  Run,
  RunPatch,
  RunQuery,
  RunStatus,
  RunStatusChange,
  RunSummary,
} from './types.js';

export * from './types.js';
export { dataDir, dbPathIn, runDirIn, runsDirIn, DB_FILE_NAME, PRODUCT_NAME } from './data-dir.js';
export { LATEST_SCHEMA_VERSION } from './migrations.js';
export { INTERRUPTED_ERROR } from './runs.js';
export { RUN_KINDS, RUN_STATUSES } from './validate.js';
export type { HeadScoresInput } from './heads.js';

export type StoreLocation = string | { dataDir: string } | { path: string; dataDir?: string };

export type StoreOptions = OpenDatabaseOptions;

export interface StoreSettings {
  journalMode: string;
  foreignKeys: boolean;
  busyTimeoutMs: number;
  synchronous: string;
  schemaVersion: number;
}

export class Store {
  /** The database file. */
  readonly path: string;
  /** The data folder, when the store was opened by folder (artifacts go under `<dataDir>/runs/<runId>/`). */
  readonly dataDir: string | undefined;
  private db: DB | undefined;

  /** Use openStore(). */
  constructor(db: DB, path: string, dataDir: string | undefined) {
    this.db = db;
    this.path = path;
    this.dataDir = dataDir;
  }

  private get conn(): DB {
    if (!this.db) throw new SubspaceError('BAD_ARGUMENT', `the store (${this.path}) is closed`);
    return this.db;
  }

  get isOpen(): boolean {
    return this.db !== undefined;
  }

  get schemaVersion(): number {
    return this.conn.pragma('user_version', { simple: true }) as number;
  }

  /** The folder for one run's artifacts (not created here). Needs a store opened with a data folder. */
  runDir(runId: string): string {
    if (!this.dataDir) throw new SubspaceError('BAD_ARGUMENT', `runDir: the store was opened by file (${this.path}), not by data folder`);
    return runDirIn(this.dataDir, runId);
  }

  /**
   * Run `fn` in one transaction (nested store calls become savepoints): all of
   * its writes commit together or not at all. `fn` must be synchronous.
   */
  transaction<T>(fn: () => T): T {
    return this.conn.transaction(fn).immediate();
  }

  // projects
  createProject(input: NewProject): Project {
    return projects.createProject(this.conn, input);
  }
  getProject(id: string): Project | undefined {
    return projects.getProject(this.conn, id);
  }
  getProjectByName(name: string): Project | undefined {
    return projects.getProjectByName(this.conn, name);
  }
  listProjects(): Project[] {
    return projects.listProjects(this.conn);
  }
  deleteProject(id: string): void {
    projects.deleteProject(this.conn, id);
  }

  // models and datasets
  registerModel(input: NewModel): Model {
    return models.registerModel(this.conn, input);
  }
  getModel(id: string): Model | undefined {
    return models.getModel(this.conn, id);
  }
  getModelByFolder(folder: string): Model | undefined {
    return models.getModelByFolder(this.conn, folder);
  }
  listModels(): Model[] {
    return models.listModels(this.conn);
  }
  registerDataset(input: NewDataset): Dataset {
    return datasets.registerDataset(this.conn, input);
  }
  getDataset(id: string): Dataset | undefined {
    return datasets.getDataset(this.conn, id);
  }
  listDatasets(): Dataset[] {
    return datasets.listDatasets(this.conn);
  }

  // runs
  createRun(input: NewRun): Run {
    return runs.createRun(this.conn, input);
  }
  getRun(id: string): Run | undefined {
    return runs.getRun(this.conn, id);
  }
  updateRunStatus(id: string, status: RunStatus, change: RunStatusChange = {}): Run {
    return runs.updateRunStatus(this.conn, id, status, change);
  }
  updateRun(id: string, patch: RunPatch): Run {
    return runs.updateRun(this.conn, id, patch);
  }
  listRuns(query: RunQuery = {}): RunSummary[] {
    return runs.listRuns(this.conn, query);
  }
  countRuns(query: RunQuery = {}): number {
    return runs.countRuns(this.conn, query);
  }
  deleteRun(id: string): DeletedRun {
    return runs.deleteRun(this.conn, id);
  }
  markInterruptedRuns(now?: number, alive?: (pid: number) => boolean): string[] {
    return runs.markInterruptedRuns(this.conn, now, alive);
  }

  // metrics
  appendMetrics(runId: string, points: readonly MetricPoint[]): number {
    return metrics.appendMetrics(this.conn, runId, points);
  }
  getMetrics(runId: string, query: MetricQuery = {}): Record<string, MetricSeries> {
    return metrics.getMetrics(this.conn, runId, query);
  }
  listMetricNames(runId: string): string[] {
    return metrics.listMetricNames(this.conn, runId);
  }
  countMetrics(runId: string): Record<string, number> {
    return metrics.countMetrics(this.conn, runId);
  }

  // artifacts
  addArtifact(input: NewArtifact): Artifact {
    return artifacts.addArtifact(this.conn, input);
  }
  listArtifacts(runId: string): Artifact[] {
    return artifacts.listArtifacts(this.conn, runId);
  }
  removeArtifact(id: number): string | undefined {
    return artifacts.removeArtifact(this.conn, id);
  }

  // heads
  saveHeadScores(runId: string, name: string, scores: heads.HeadScoresInput): HeadScores {
    return heads.saveHeadScores(this.conn, runId, name, scores);
  }
  getHeadScores(runId: string, name: string): HeadScores | undefined {
    return heads.getHeadScores(this.conn, runId, name);
  }
  listHeadScoreNames(runId: string): string[] {
    return heads.listHeadScoreNames(this.conn, runId);
  }
  saveHeadSelection(runId: string, name: string, selection: readonly HeadRef[], createdAt?: number): HeadSelection {
    return heads.saveHeadSelection(this.conn, runId, name, selection, createdAt);
  }
  getHeadSelection(runId: string, name: string): HeadSelection | undefined {
    return heads.getHeadSelection(this.conn, runId, name);
  }
  listHeadSelectionNames(runId: string): string[] {
    return heads.listHeadSelectionNames(this.conn, runId);
  }

  // comparisons
  createComparison(input: NewComparison): Comparison {
    return comparisons.createComparison(this.conn, input);
  }
  getComparison(id: string): Comparison | undefined {
    return comparisons.getComparison(this.conn, id);
  }
  listComparisons(): Comparison[] {
    return comparisons.listComparisons(this.conn);
  }
  updateComparison(id: string, patch: ComparisonPatch): Comparison {
    return comparisons.updateComparison(this.conn, id, patch);
  }
  deleteComparison(id: string): boolean {
    return comparisons.deleteComparison(this.conn, id);
  }

  // maintenance
  /** SQLite integrity_check plus foreign_key_check. */
  checkIntegrity(): IntegrityReport {
    const problems: string[] = [];
    const integrity = this.conn.pragma('integrity_check') as { integrity_check: string }[];
    for (const r of integrity) if (r.integrity_check !== 'ok') problems.push(r.integrity_check);
    const fk = this.conn.pragma('foreign_key_check') as { table: string; rowid: number; parent: string }[];
    for (const r of fk) problems.push(`foreign key: ${r.table} row ${r.rowid} points at a missing ${r.parent} row`);
    return { ok: problems.length === 0, problems };
  }

  /** The connection's settings, as SQLite reports them. */
  settings(): StoreSettings {
    const db = this.conn;
    const synchronous = db.pragma('synchronous', { simple: true }) as number;
    return {
      journalMode: db.pragma('journal_mode', { simple: true }) as string,
      foreignKeys: db.pragma('foreign_keys', { simple: true }) === 1,
      busyTimeoutMs: db.pragma('busy_timeout', { simple: true }) as number,
      synchronous: (['off', 'normal', 'full', 'extra'] as const)[synchronous] ?? String(synchronous),
      schemaVersion: db.pragma('user_version', { simple: true }) as number,
    };
  }

  /** Close the connection (checkpointing the WAL). Further calls throw; closing twice is fine. */
  close(): void {
    if (!this.db) return;
    const db = this.db;
    this.db = undefined;
    db.close();
  }
}

/**
 * Open the store: a database file path, `{ dataDir }` (the file is
 * `<dataDir>/subspace.db`), or nothing for the default data folder. Creates the
 * file and applies migrations; refuses (UNSUPPORTED, file untouched) a database
 * from a newer Subspace.
 */
export function openStore(location?: StoreLocation, options: StoreOptions = {}): Store {
  let path: string;
  let dir: string | undefined;
  if (location === undefined) {
    dir = defaultDataDir();
    path = dbPathIn(dir);
  } else if (typeof location === 'string') {
    path = location;
  } else if ('path' in location) {
    path = location.path;
    dir = location.dataDir;
  } else {
    dir = location.dataDir;
    path = dbPathIn(dir);
  }
  if (typeof path !== 'string' || path === '') throw new SubspaceError('BAD_ARGUMENT', 'openStore: path: must be a non-empty string', 'path');
  const db = openDatabase(path, options);
  return new Store(db, path, dir);
}
