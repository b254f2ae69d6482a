/**
 * The schema, as an ordered list of migrations. Migration N takes a database at
 * `PRAGMA user_version = N - 1` to N; each runs in its own transaction with the
 * version bump, so a crash leaves the database at a whole version.
 *
 * Rules: never edit a migration that has shipped; add a new one. Keep them plain
 * SQL so they can be read (and replayed by hand) without the app.
 *
 * Conventions: ids are TEXT (uuids or caller-chosen safe names); timestamps are
 * INTEGER milliseconds since the Unix epoch; JSON columns are TEXT checked with
 * json_valid(). Tables are STRICT.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const V1 = `
CREATE TABLE projects (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE models (
  id             TEXT PRIMARY KEY,
  name           TEXT NOT NULL,
  folder         TEXT NOT NULL UNIQUE,
  config_summary TEXT NOT NULL CHECK (json_valid(config_summary)),
  content_hash   TEXT NOT NULL,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE datasets (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  source       TEXT NOT NULL CHECK (source IN ('builtin', 'imported')),
  path         TEXT,
  content_hash TEXT NOT NULL,
  row_count    INTEGER NOT NULL CHECK (row_count >= 0),
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
) STRICT;

-- kind is checked in code, not here, so a new method needs no table rebuild.
CREATE TABLE runs (
  id              TEXT PRIMARY KEY,
  project_id      TEXT NOT NULL REFERENCES projects(id),
  kind            TEXT NOT NULL,
  name            TEXT NOT NULL,
  config          TEXT NOT NULL CHECK (json_valid(config)),
  status          TEXT NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  backend         TEXT,
  model_id        TEXT REFERENCES models(id),
  dataset_id      TEXT REFERENCES datasets(id),
  created_at      INTEGER NOT NULL,
  started_at      INTEGER,
  ended_at        INTEGER,
  error           TEXT,
  checkpoint_path TEXT,
  parent_run_id   TEXT REFERENCES runs(id) ON DELETE SET NULL
) STRICT;

CREATE INDEX runs_created         ON runs (created_at);
CREATE INDEX runs_project_created ON runs (project_id, created_at);
CREATE INDEX runs_status_created  ON runs (status, created_at);
CREATE INDEX runs_kind_created    ON runs (kind, created_at);
CREATE INDEX runs_parent          ON runs (parent_run_id) WHERE parent_run_id IS NOT NULL;
CREATE INDEX runs_model           ON runs (model_id) WHERE model_id IS NOT NULL;
CREATE INDEX runs_dataset         ON runs (dataset_id) WHERE dataset_id IS NOT NULL;

-- Metrics are stored as series (one row per run and metric name) and points
-- (one row per step). The points table is the big one: three numbers a row,
-- clustered by (series, step), so one curve is one contiguous range read.
CREATE TABLE metric_series (
  id     INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name   TEXT NOT NULL,
  UNIQUE (run_id, name)
) STRICT;

CREATE TABLE metric_points (
  series_id INTEGER NOT NULL REFERENCES metric_series(id) ON DELETE CASCADE,
  step      INTEGER NOT NULL,
  value     REAL,  -- NULL stands for NaN (SQLite has no NaN)
  PRIMARY KEY (series_id, step)
) STRICT, WITHOUT ROWID;

-- The flat (run_id, step, name, value) shape, for ad-hoc queries and exports.
CREATE VIEW metrics AS
  SELECT s.run_id AS run_id, p.step AS step, s.name AS name, p.value AS value
  FROM metric_points p JOIN metric_series s ON s.id = p.series_id;

CREATE TABLE artifacts (
  id         INTEGER PRIMARY KEY,
  run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  kind       TEXT NOT NULL,
  path       TEXT NOT NULL,
  size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),
  sha256     TEXT NOT NULL CHECK (length(sha256) = 64),
  created_at INTEGER NOT NULL,
  UNIQUE (run_id, path)
) STRICT;

-- values: layers * heads little-endian float32, row-major (layer, head).
CREATE TABLE head_scores (
  run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  layers     INTEGER NOT NULL CHECK (layers > 0),
  heads      INTEGER NOT NULL CHECK (heads > 0),
  "values"   BLOB NOT NULL CHECK (length("values") = layers * heads * 4),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, name)
) STRICT;

-- heads: JSON [[layer, head], ...], best first.
CREATE TABLE head_selections (
  run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  heads      TEXT NOT NULL CHECK (json_valid(heads)),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, name)
) STRICT;

-- run_ids: JSON array of run ids (no foreign key; deleteRun removes the id from it).
CREATE TABLE comparisons (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  run_ids    TEXT NOT NULL CHECK (json_valid(run_ids)),
  notes      TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
`;

/**
 * The process that created a run and writes its status: start-up recovery fails only runs whose
 * process is gone, so a CLI command does not fail a run the app (or another command) is running.
 */
const V2 = `ALTER TABLE runs ADD COLUMN owner_pid INTEGER;`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial schema', sql: V1 },
  { version: 2, name: 'run owner process', sql: V2 },
];

/** The schema version this build writes; a database above it came from a newer app. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
