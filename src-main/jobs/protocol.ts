/**
 * The job protocol: what a caller submits (`JobSpec`), what the main process
 * tells a worker (`ParentMessage`), what a worker reports back (`WorkerMessage`)
 * and what listeners of the JobManager receive (`JobEvent`). Every message is
 * checked with these schemas where it arrives, so a confused or half-dead worker
 * cannot put nonsense into the store.
 *
 * This module imports no engine code that pulls in tfjs: the main process loads
 * it to validate submissions.
 */
import { z } from 'zod';
import { SubspaceError } from '../engine/errors.js';
import { taskExampleSchema } from '../engine/tasks/schema.js';

export const JOB_KINDS = ['reft', 'lofit', 'iti', 'eval', 'patch', 'das', 'transfer'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export const JOB_EVENT_TYPES = ['queued', 'started', 'progress', 'metrics', 'checkpoint', 'done', 'failed', 'cancelled'] as const;
export type JobEventType = (typeof JOB_EVENT_TYPES)[number];

export const TERMINAL_EVENT_TYPES: readonly JobEventType[] = ['done', 'failed', 'cancelled'];

// ---- field schemas ---------------------------------------------------------------------------

/** Any number, NaN and ±Infinity included (a metric may be NaN; zod's number() refuses it). */
const anyNumber = z.custom<number>((v) => typeof v === 'number', 'must be a number');
const posInt = z.number().int('must be a whole number').min(1, 'must be at least 1');
const nonNegInt = z.number().int('must be a whole number').min(0, 'must be at least 0');
const positive = z.number().positive('must be positive');
const nonNegative = z.number().min(0, 'must be at least 0');
const fraction = z.number().min(0, 'must be at least 0').max(1, 'must be at most 1');
const kSpec = z.union([posInt, z.strictObject({ percent: z.number().positive('must be positive').max(100, 'must be at most 100') })]);

/** A built-in task name (assets/tasks/<name>). */
export const taskNameSchema = z.string().regex(/^[a-z0-9-]+$/, 'must be a built-in task name (lower-case letters, digits and "-")');

/** A task given inline: `examples` train; `dev` and `test` are optional held-out splits. */
export const inlineTaskSchema = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters').optional(),
  examples: z.array(taskExampleSchema).min(1, 'must hold at least one example'),
  dev: z.array(taskExampleSchema).optional(),
  test: z.array(taskExampleSchema).optional(),
  /** Score every correct answer (TruthfulQA-style MC2) in evaluations. */
  multipleChoice: z.boolean().optional(),
});
export type InlineTask = z.infer<typeof inlineTaskSchema>;

export const reftJobConfigSchema = z.strictObject({
  type: z.string().min(1).optional(),
  layers: z.array(nonNegInt).min(1, 'must name at least one layer'),
  component: z.string().min(1).optional(),
  rank: posInt.optional(),
  positions: z.string().min(1).optional(),
  shareWeights: z.boolean().optional(),
  activation: z.string().min(1).optional(),
  dropout: z.number().min(0, 'must be at least 0').lt(1, 'must be below 1').optional(),
  epochs: posInt.optional(),
  lr: positive.optional(),
  batchSize: posInt.optional(),
  warmupRatio: fraction.optional(),
  weightDecay: nonNegative.optional(),
  clipNorm: positive.optional(),
  seed: nonNegInt.optional(),
  patience: nonNegInt.optional(),
  cache: z.enum(['auto', 'window', 'layers', 'none']).optional(),
});

export const lofitJobConfigSchema = z.strictObject({
  k: kSpec.optional(),
  l1: nonNegative.optional(),
  lrSelect: positive.optional(),
  lrTune: positive.optional(),
  epochs: posInt.optional(),
  batchSize: posInt.optional(),
  loss: z.enum(['ce', 'dpo']).optional(),
  beta: positive.optional(),
  seed: nonNegInt.optional(),
  patience: nonNegInt.optional(),
  warmupRatio: fraction.optional(),
  weightDecay: nonNegative.optional(),
  clipNorm: positive.optional(),
  initStd: positive.optional(),
  cachePrefix: z.boolean().optional(),
  /** Skip step 1 and tune exactly these heads ([layer, head] pairs), e.g. a hand-edited selection. */
  heads: z.array(z.tuple([nonNegInt, nonNegInt])).min(1, 'must name at least one head').optional(),
});

export const itiJobConfigSchema = z.strictObject({
  k: kSpec.optional(),
  alpha: nonNegative.optional(),
  valFraction: z.number().gt(0, 'must be above 0').lt(1, 'must be below 1').optional(),
  l2: nonNegative.optional(),
  maxIter: posInt.optional(),
  seed: nonNegInt.optional(),
  batchSize: posInt.optional(),
});

export const evalJobConfigSchema = z.strictObject({
  /** A native export (ReFT, LoFIT or ITI) to evaluate with; without it the base model is evaluated. */
  intervention: z.string().min(1, 'must not be empty').optional(),
  /** Which split of a built-in task (default test); inline tasks use `test`, else `examples`. */
  split: z.enum(['train', 'dev', 'test']).optional(),
  batchSize: posInt.optional(),
  /** ITI only: the shift strength (default: the export's). */
  alpha: nonNegative.optional(),
});

/** An activation-patching sweep over a built-in task's pairs (the engine checks combinations, e.g. per-position with heads only). */
export const patchJobConfigSchema = z.strictObject({
  sweep: z.enum(['heads', 'resid', 'attn', 'mlp']),
  direction: z.enum(['denoise', 'noise']).optional(),
  method: z.enum(['exact', 'naive', 'attribution']).optional(),
  metric: z.enum(['logit-diff', 'normalised', 'prob', 'accuracy']).optional(),
  perPosition: z.boolean().optional(),
  /** 'index' or role names (default: the task's roles). */
  positions: z.union([z.literal('index'), z.array(z.string().min(1)).min(1, 'must name at least one role')]).optional(),
  residSite: z.enum(['block_output', 'block_input']).optional(),
  layers: z.array(nonNegInt).min(1, 'must name at least one layer').optional(),
  heads: z.array(nonNegInt).min(1, 'must name at least one head').optional(),
  variable: z.string().min(1).optional(),
  /** Pairs to patch: the first n of the split (default 32). */
  n: posInt.optional(),
  split: z.enum(['train', 'dev', 'test']).optional(),
  memoryMiB: positive.optional(),
});

/** Distributed alignment search: one site (layer + position) or, with `search`, every layer × position. */
export const dasJobConfigSchema = z.strictObject({
  variable: z.string().min(1, 'must name a causal variable of the task'),
  search: z.boolean().optional(),
  layer: nonNegInt.optional(),
  position: z.string().min(1).optional(),
  layers: z.array(nonNegInt).min(1, 'must name at least one layer').optional(),
  positions: z.array(z.string().min(1)).min(1, 'must name at least one role').optional(),
  component: z.string().min(1).optional(),
  variant: z.enum(['rotated', 'lowrank', 'boundless']).optional(),
  dim: posInt.optional(),
  epochs: posInt.optional(),
  lr: positive.optional(),
  batchSize: posInt.optional(),
  seed: nonNegInt.optional(),
  nTrain: nonNegInt.optional(),
  nTest: nonNegInt.optional(),
  boundaryLr: positive.optional(),
  cache: z.enum(['window', 'layers', 'none']).optional(),
});

/** The most tasks one transfer matrix crosses (n selections and n² step-2 runs). */
export const TRANSFER_MAX_TASKS = 8;
/** What a transfer run records: one metric per cell (step 2 on `row` with the heads of `col`), one head selection per task. */
export const transferCellMetric = (row: string, col: string): string => `transfer.${row}.${col}`;
export const transferHeadsName = (task: string): string => `lofit-top-k:${task}`;

/**
 * LoFIT cross-task transfer: step 1 on each task, then step 2 on every task with every task's heads.
 * The job's own `task` names the first of `tasks`. K against the model's head count, and whether each
 * task exists, are checked where the model and the task folder are known (the API handler, the worker).
 */
export const transferJobConfigSchema = z.strictObject({
  tasks: z
    .array(taskNameSchema)
    .min(2, 'must name at least 2 tasks (the matrix crosses every task with every other)')
    .max(TRANSFER_MAX_TASKS, `must name at most ${TRANSFER_MAX_TASKS} tasks`)
    .refine((t) => new Set(t).size === t.length, 'must not name a task twice'),
  k: posInt.optional(),
  epochs: posInt.max(100, 'must be at most 100').optional(),
  seed: nonNegInt.optional(),
  /** Use only the first this many examples of each split of each task (default: all). */
  limit: posInt.optional(),
  l1: nonNegative.optional(),
  lrSelect: positive.optional(),
  lrTune: positive.optional(),
  batchSize: posInt.optional(),
});

export const JOB_CONFIG_SCHEMAS = {
  reft: reftJobConfigSchema,
  lofit: lofitJobConfigSchema,
  iti: itiJobConfigSchema,
  eval: evalJobConfigSchema,
  patch: patchJobConfigSchema,
  das: dasJobConfigSchema,
  transfer: transferJobConfigSchema,
} as const satisfies Record<JobKind, z.ZodType>;

export type ReftJobConfig = z.infer<typeof reftJobConfigSchema>;
export type LofitJobConfig = z.infer<typeof lofitJobConfigSchema>;
export type ItiJobConfig = z.infer<typeof itiJobConfigSchema>;
export type EvalJobConfig = z.infer<typeof evalJobConfigSchema>;
export type PatchJobConfig = z.infer<typeof patchJobConfigSchema>;
export type DasJobConfig = z.infer<typeof dasJobConfigSchema>;
export type TransferJobConfig = z.infer<typeof transferJobConfigSchema>;

const jobSpecBase = z.strictObject({
  kind: z.enum(JOB_KINDS),
  /** A model folder, a built-in model name or a Hugging Face name in the local cache. */
  model: z.string().trim().min(1, 'must not be empty'),
  task: z.unknown(),
  config: z.unknown(),
  /** Where the exported intervention goes (default: `<runDir>/intervention`). */
  out: z.string().min(1, 'must not be empty').optional(),
  name: z.string().trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters').optional(),
  /** The run's project (default: the project named "default"). */
  projectId: z.string().min(1).optional(),
  /** Force a tensor backend in the worker (tensorflow-gpu, tensorflow, wasm, cpu); default: the best available. */
  backend: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).optional(),
  /** Training jobs (ReFT): save a checkpoint every this many steps (default 50). */
  checkpointEvery: posInt.optional(),
  /** The worker's JavaScript heap limit in MiB (V8 --max-old-space-size); default Node's. */
  maxMemoryMb: z.number().int('must be a whole number').min(16, 'must be at least 16').optional(),
});

export type JobSpec = Omit<z.infer<typeof jobSpecBase>, 'task' | 'config'> & {
  task: string | InlineTask;
  config: Record<string, unknown>;
};

/** A spec as callers may write it (config fields typed per kind where known). */
export type JobSpecInput =
  | (Omit<JobSpec, 'kind' | 'config'> & { kind: 'reft'; config: ReftJobConfig })
  | (Omit<JobSpec, 'kind' | 'config'> & { kind: 'lofit'; config?: LofitJobConfig })
  | (Omit<JobSpec, 'kind' | 'config'> & { kind: 'iti'; config?: ItiJobConfig })
  | (Omit<JobSpec, 'kind' | 'config'> & { kind: 'eval'; config?: EvalJobConfig })
  | (Omit<JobSpec, 'kind' | 'config'> & { kind: 'patch'; config: PatchJobConfig })
  | (Omit<JobSpec, 'kind' | 'config'> & { kind: 'das'; config: DasJobConfig })
  | (Omit<JobSpec, 'kind' | 'config'> & { kind: 'transfer'; config: TransferJobConfig });

// ---- error text --------------------------------------------------------------------------------

function issueField(i: z.core.$ZodIssue, prefix: (string | number)[]): string {
  const path = [...prefix, ...i.path].map(String);
  if (i.code === 'unrecognized_keys' && i.keys.length > 0) path.push(i.keys.join(', '));
  return path.length ? path.join('.') : '(input)';
}

/** The deepest issues of a union, so the message names the field that is wrong. */
function flatIssues(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const out: z.core.$ZodIssue[] = [];
  for (const i of issues) {
    if (i.code === 'invalid_union' && i.errors.length > 0) {
      const best = i.errors.reduce((a, b) => (b.length > 0 && (a.length === 0 || b.length < a.length) ? b : a), [] as z.core.$ZodIssue[]);
      out.push(...flatIssues(best.map((x) => ({ ...x, path: [...i.path, ...x.path] }))));
    } else out.push(i);
  }
  return out;
}

/** Parse with `schema`, or throw BAD_ARGUMENT `op: field.path: message` naming the first bad field as subject. */
export function checkAt<S extends z.ZodType>(schema: S, value: unknown, op: string, prefix: (string | number)[] = []): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = flatIssues(r.error.issues);
  const text = issues
    .slice(0, 5)
    .map((i) => `${issueField(i, prefix)}: ${i.message}`)
    .join('; ');
  throw new SubspaceError('BAD_ARGUMENT', `${op}: ${text}`, issues.length ? issueField(issues[0], prefix) : prefix.join('.') || '(input)');
}

/**
 * Validates a submission. Errors name the field: `submit: config.lr: must be positive`,
 * `submit: task.examples.0.prompt: ...`, `submit: kind: Invalid option: ...`.
 */
export function parseJobSpec(input: unknown, op = 'submit'): JobSpec {
  const base = checkAt(jobSpecBase, input, op);
  const config = checkAt(JOB_CONFIG_SCHEMAS[base.kind], base.config ?? {}, op, ['config']) as Record<string, unknown>;
  let task: string | InlineTask;
  if (typeof base.task === 'string') task = checkAt(taskNameSchema, base.task, op, ['task']);
  else if (base.task && typeof base.task === 'object' && !Array.isArray(base.task)) task = checkAt(inlineTaskSchema, base.task, op, ['task']);
  else throw new SubspaceError('BAD_ARGUMENT', `${op}: task: must be a built-in task name or { examples: [...] } (got ${base.task === undefined ? 'nothing' : JSON.stringify(base.task)})`, 'task');
  return { ...base, task, config };
}

// ---- main → worker -----------------------------------------------------------------------------

/** How the worker finds its task: a built-in name, or a JSON file the main process wrote. */
export const workerTaskSchema = z.union([z.strictObject({ builtin: taskNameSchema }), z.strictObject({ file: z.string().min(1), name: z.string().min(1) })]);
export type WorkerTask = z.infer<typeof workerTaskSchema>;

export const workerJobSchema = z.strictObject({
  jobId: z.string().min(1),
  runId: z.string().min(1),
  kind: z.enum(JOB_KINDS),
  /** The resolved model folder, and the name people know it by. */
  modelFolder: z.string().min(1),
  modelName: z.string().min(1),
  task: workerTaskSchema,
  config: z.record(z.string(), z.unknown()),
  outDir: z.string().min(1),
  runDir: z.string().min(1),
  backend: z.string().optional(),
  /** Created by the main process to ask for a stop; polled between steps (a training step blocks the event loop). */
  cancelFile: z.string().min(1),
  checkpoint: z
    .strictObject({
      dir: z.string().min(1),
      everySteps: posInt,
      /** A checkpoint folder to continue from. */
      resumeFrom: z.string().min(1).optional(),
    })
    .optional(),
});
export type WorkerJob = z.infer<typeof workerJobSchema>;

export const parentMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('start'), job: workerJobSchema }),
  z.strictObject({ type: z.literal('cancel') }),
]);
export type ParentMessage = z.infer<typeof parentMessageSchema>;

// ---- worker → main -----------------------------------------------------------------------------

const metricsRecord = z.record(z.string(), anyNumber);
export const metricPointSchema = z.strictObject({ step: nonNegInt, name: z.string().min(1).max(200), value: anyNumber });

export const workerMessageSchema = z.discriminatedUnion('type', [
  /** The backend is up and the model is loaded. */
  z.strictObject({ type: z.literal('ready'), backend: z.string(), device: z.string(), model: z.string() }),
  z.strictObject({
    type: z.literal('progress'),
    phase: z.string(),
    step: nonNegInt,
    total: nonNegInt,
    elapsedMs: nonNegative,
    etaMs: nonNegative,
    /** Stored as metric points at `step` (except `epoch`, which only labels the event). */
    metrics: metricsRecord,
  }),
  /** Metric points that are not per-step progress (final evaluations). */
  z.strictObject({ type: z.literal('metrics'), points: z.array(metricPointSchema) }),
  /** A checkpoint is complete on disk (written atomically) at `path`. */
  z.strictObject({ type: z.literal('checkpoint'), step: nonNegInt, path: z.string().min(1) }),
  z.strictObject({ type: z.literal('artifact'), kind: z.string().min(1), path: z.string().min(1), sizeBytes: nonNegInt, sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  z.strictObject({ type: z.literal('headScores'), name: z.string().min(1), layers: posInt, heads: posInt, values: z.array(anyNumber) }),
  z.strictObject({ type: z.literal('headSelection'), name: z.string().min(1), heads: z.array(z.strictObject({ layer: nonNegInt, head: nonNegInt })) }),
  z.strictObject({ type: z.literal('done'), summary: z.record(z.string(), z.unknown()) }),
  z.strictObject({ type: z.literal('failed'), error: z.string(), code: z.string().optional() }),
  z.strictObject({ type: z.literal('cancelled') }),
]);
export type WorkerMessage = z.infer<typeof workerMessageSchema>;

// ---- events for listeners --------------------------------------------------------------------

export const jobEventSchema = z.strictObject({
  type: z.enum(JOB_EVENT_TYPES),
  jobId: z.string(),
  runId: z.string(),
  kind: z.enum(JOB_KINDS),
  /** Milliseconds since the epoch when the manager emitted the event. */
  at: z.number(),
  /** The engine phase of the latest progress ('reft', 'lofit-select', 'iti-probes', ...). */
  phase: z.string().optional(),
  step: nonNegInt,
  total: nonNegInt,
  elapsedMs: nonNegative,
  etaMs: nonNegative,
  /** progress: this step's values; metrics: the latest value of each series just stored; done: the final ones. */
  metrics: metricsRecord,
  /** failed / cancelled: why. */
  error: z.string().optional(),
  /** started: the worker's process id. */
  pid: z.number().int().optional(),
  /** checkpoint: where the latest checkpoint is. */
  checkpointPath: z.string().optional(),
  /** done: the job's summary (outputs, evaluations). */
  summary: z.record(z.string(), z.unknown()).optional(),
  parentRunId: z.string().optional(),
});
export type JobEvent = z.infer<typeof jobEventSchema>;
