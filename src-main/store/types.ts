import type { RUN_KINDS, RUN_STATUSES } from './validate.js';

/** Timestamps are milliseconds since the Unix epoch throughout the store. */
export type Millis = number;

export type RunKind = (typeof RUN_KINDS)[number];
export type RunStatus = (typeof RUN_STATUSES)[number];
export type DatasetSource = 'builtin' | 'imported';

export interface Project {
  id: string;
  name: string;
  description: string;
  createdAt: Millis;
}

export interface NewProject {
  id?: string;
  name: string;
  description?: string;
  createdAt?: Millis;
}

export interface Model {
  id: string;
  name: string;
  /** The model's folder (config.json, weights, tokenizer). Unique: registering it again updates the row. */
  folder: string;
  /** A small summary of the config (family, layers, heads, d_model...), as JSON. */
  configSummary: Record<string, unknown>;
  contentHash: string;
  createdAt: Millis;
  updatedAt: Millis;
}

export interface NewModel {
  id?: string;
  name: string;
  folder: string;
  configSummary: Record<string, unknown>;
  contentHash: string;
  createdAt?: Millis;
}

export interface Dataset {
  id: string;
  name: string;
  source: DatasetSource;
  /** The imported file, or null for a built-in task. */
  path: string | null;
  contentHash: string;
  rowCount: number;
  createdAt: Millis;
  updatedAt: Millis;
}

export interface NewDataset {
  /** Give built-ins a stable id (e.g. `builtin-sst2`); registering the same id again updates it. */
  id?: string;
  name: string;
  source: DatasetSource;
  path?: string | null;
  contentHash: string;
  rowCount: number;
  createdAt?: Millis;
}

/** A run as listed: everything but the (possibly large) config. */
export interface RunSummary {
  id: string;
  projectId: string;
  kind: RunKind;
  name: string;
  status: RunStatus;
  backend: string | null;
  modelId: string | null;
  datasetId: string | null;
  createdAt: Millis;
  startedAt: Millis | null;
  endedAt: Millis | null;
  error: string | null;
  checkpointPath: string | null;
  parentRunId: string | null;
}

export interface Run extends RunSummary {
  config: Record<string, unknown>;
}

export interface NewRun {
  id?: string;
  projectId: string;
  kind: RunKind;
  name: string;
  config: Record<string, unknown>;
  status?: RunStatus;
  backend?: string | null;
  modelId?: string | null;
  datasetId?: string | null;
  parentRunId?: string | null;
  checkpointPath?: string | null;
  createdAt?: Millis;
}

export interface RunStatusChange {
  /** Failure text; only for 'failed' or 'cancelled'. */
  error?: string | null;
  /** Defaults to now when the new status is terminal. */
  endedAt?: Millis;
  /** Defaults to now when the new status is 'running'. */
  startedAt?: Millis;
}

export interface RunPatch {
  name?: string;
  backend?: string | null;
  checkpointPath?: string | null;
}

export type RunOrderField = 'createdAt' | 'startedAt' | 'endedAt' | 'name' | 'status' | 'kind';

export interface RunQuery {
  projectId?: string;
  kind?: RunKind | RunKind[];
  status?: RunStatus | RunStatus[];
  modelId?: string;
  datasetId?: string;
  parentRunId?: string;
  /** Case-insensitive substring of the run's name or id. */
  search?: string;
  /** Default 'createdAt'. Ties break by insertion order. */
  orderBy?: RunOrderField;
  /** Default 'desc' for timestamps, 'asc' for name, status and kind. */
  direction?: 'asc' | 'desc';
  /** Default 100, at most 10,000. */
  limit?: number;
  offset?: number;
}

export interface DeletedRun {
  id: string;
  /** The artifact paths as recorded; the caller deletes the files. */
  artifactPaths: string[];
  checkpointPath: string | null;
}

export interface MetricPoint {
  step: number;
  name: string;
  /** NaN and ±Infinity are kept (NaN is stored as NULL). */
  value: number;
}

export interface MetricSeries {
  steps: number[];
  values: number[];
}

export interface MetricQuery {
  names?: string[];
  /** Only points with step > afterStep (for polling a live run). */
  afterStep?: number;
}

export interface Artifact {
  id: number;
  runId: string;
  kind: string;
  path: string;
  sizeBytes: number;
  sha256: string;
  createdAt: Millis;
}

export interface NewArtifact {
  runId: string;
  /** What it is: 'checkpoint', 'intervention', 'report', 'log', ... */
  kind: string;
  /** Best kept relative to the data folder so the folder can move. Unique per run: adding it again updates the row. */
  path: string;
  sizeBytes: number;
  sha256: string;
  createdAt?: Millis;
}

export interface HeadScores {
  runId: string;
  name: string;
  layers: number;
  heads: number;
  /** Row-major [layer][head], length layers * heads. */
  values: Float32Array;
  createdAt: Millis;
}

export interface HeadRef {
  layer: number;
  head: number;
}

export interface HeadSelection {
  runId: string;
  name: string;
  /** Ranked, best first. */
  heads: HeadRef[];
  createdAt: Millis;
}

export interface Comparison {
  id: string;
  name: string;
  runIds: string[];
  notes: string;
  createdAt: Millis;
  updatedAt: Millis;
}

export interface NewComparison {
  id?: string;
  name: string;
  runIds: string[];
  notes?: string;
  createdAt?: Millis;
}

export interface ComparisonPatch {
  name?: string;
  runIds?: string[];
  notes?: string;
}

export interface IntegrityReport {
  ok: boolean;
  /** integrity_check and foreign_key_check findings; empty when ok. */
  problems: string[];
}
