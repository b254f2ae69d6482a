/**
 * The one contract between the UI and the main process: every method's request
 * and response schema, and the events the main process pushes. Both transports
 * (Electron IPC and HTTP + WebSocket) carry exactly these messages; the main
 * process validates every request here before a handler sees it, and every
 * response before it leaves. The renderer's types are `z.infer` of these
 * schemas, so the two sides cannot drift apart without a type error.
 *
 * This module imports only zod and other schema-only modules (no Node, no
 * tfjs), so the renderer may import it for client-side validation too.
 */
import { z } from 'zod';
import { evalJobConfigSchema, inlineTaskSchema, itiJobConfigSchema, lofitJobConfigSchema, reftJobConfigSchema } from '../jobs/protocol.js';
import { TRANSFER_MAX_TASKS, transferJobConfigSchema } from '../jobs/protocol.js';
import { taskExampleSchema } from '../engine/tasks/schema.js';
import { RUN_KINDS, RUN_STATUSES } from '../store/validate.js';
import { EXPORT_FORMATS } from '../engine/export/formats.js';
import { VIEW_IDS, type ViewId } from './shell.js';

// ---- shared pieces ---------------------------------------------------------------------------

const idSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'must be an id: letters, digits, "_", "-" or "." (1-128 characters)');
const nonEmpty = z.string().trim().min(1, 'must not be empty');
const modelRef = nonEmpty.max(4096, 'must be at most 4096 characters');
const prompt = z.string().min(1, 'must not be empty').max(20_000, 'must be at most 20,000 characters');
const count = z.number().int('must be a whole number').min(0, 'must be at least 0');
const empty = z.strictObject({});
/** JSON has no NaN or infinities: such values cross the boundary as null. */
const maybeNumber = z.number().nullable();

/** A failure, as it crosses the boundary: a stable code, a message a person can act on, and the field it is about. */
export const apiErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  field: z.string().optional(),
});
export type ApiError = z.infer<typeof apiErrorSchema>;

const backendReportSchema = z.object({
  backend: z.string(),
  device: z.string(),
  reasons: z.array(z.object({ backend: z.string(), available: z.boolean(), why: z.string(), fix: z.string().optional() })),
});

export const architectureSchema = z.object({
  family: z.string(),
  modelType: z.string(),
  layers: count,
  heads: count,
  kvHeads: count,
  width: count,
  headDim: count,
  mlpWidth: count,
  vocab: count,
  maxPositions: count,
  parameters: count,
  positional: z.string(),
  norm: z.string(),
});
export type Architecture = z.infer<typeof architectureSchema>;

export const modelSummarySchema = z.object({
  name: z.string(),
  source: z.enum(['built-in', 'hf-cache', 'opened']),
  folder: z.string(),
  /** Null when the folder could not be read; `error` says why. */
  architecture: architectureSchema.nullable(),
  error: z.string().optional(),
});
export type ModelSummary = z.infer<typeof modelSummarySchema>;

const taskSummarySchema = z.object({
  name: z.string(),
  title: z.string(),
  description: z.string(),
  kind: z.enum(['completion', 'multiple-choice']),
  variables: z.array(z.string()),
  roles: z.array(z.string()),
  sizes: z.object({ train: count, dev: count, test: count }),
});
export type TaskSummary = z.infer<typeof taskSummarySchema>;

export { taskExampleSchema };
export type TaskExample = z.infer<typeof taskExampleSchema>;

const datasetSchema = z.object({
  id: z.string(),
  name: z.string(),
  source: z.enum(['builtin', 'imported']),
  path: z.string().nullable(),
  contentHash: z.string(),
  rowCount: count,
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type DatasetInfo = z.infer<typeof datasetSchema>;

const importProblemSchema = z.object({ line: count, column: z.string().optional(), problem: z.string() });
export type ImportProblem = z.infer<typeof importProblemSchema>;

const tokenSchema = z.object({ id: count, text: z.string() });
const topTokenSchema = z.object({ id: count, token: z.string(), prob: z.number(), logit: z.number() });
export type TopToken = z.infer<typeof topTokenSchema>;

/** The store's run kinds and statuses (one source of truth: src-main/store/validate.ts). */
export const RUN_KIND_NAMES = RUN_KINDS;
export const RUN_STATUS_NAMES = RUN_STATUSES;

const runSummarySchema = z.object({
  id: z.string(),
  projectId: z.string(),
  kind: z.enum(RUN_KIND_NAMES),
  name: z.string(),
  status: z.enum(RUN_STATUS_NAMES),
  backend: z.string().nullable(),
  modelId: z.string().nullable(),
  datasetId: z.string().nullable(),
  createdAt: z.number(),
  startedAt: z.number().nullable(),
  endedAt: z.number().nullable(),
  error: z.string().nullable(),
  checkpointPath: z.string().nullable(),
  parentRunId: z.string().nullable(),
});
export type RunSummary = z.infer<typeof runSummarySchema>;
const runSchema = runSummarySchema.extend({ config: z.record(z.string(), z.unknown()) });
export type RunInfo = z.infer<typeof runSchema>;

const artifactSchema = z.object({ id: z.number(), runId: z.string(), kind: z.string(), path: z.string(), sizeBytes: count, sha256: z.string(), createdAt: z.number() });
const seriesSchema = z.object({ steps: z.array(z.number()), values: z.array(maybeNumber) });
export type MetricSeries = z.infer<typeof seriesSchema>;
const headRefSchema = z.object({ layer: count, head: count });

export const JOB_KIND_NAMES = ['reft', 'lofit', 'iti', 'eval', 'patch', 'das'] as const;
export type JobKindName = (typeof JOB_KIND_NAMES)[number];

const jobTask = z.union([z.string().regex(/^[a-z0-9-]+$/, 'must be a built-in task name'), inlineTaskSchema]);
const jobCommon = {
  model: modelRef,
  /** A built-in task name, or a task given inline ({ examples, dev?, test? }). */
  task: jobTask,
  name: nonEmpty.max(500).optional(),
  /** Where the exported intervention goes (default: inside the run's folder). */
  out: nonEmpty.optional(),
};
/** Patching and DAS configs are checked by their engine modules; the contract only asks for an object. */
const looseConfig = z.looseObject({});
const jobStartSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('reft'), ...jobCommon, config: reftJobConfigSchema }),
  z.strictObject({ kind: z.literal('lofit'), ...jobCommon, config: lofitJobConfigSchema.default({}) }),
  z.strictObject({ kind: z.literal('iti'), ...jobCommon, config: itiJobConfigSchema.default({}) }),
  z.strictObject({ kind: z.literal('eval'), ...jobCommon, config: evalJobConfigSchema.default({}) }),
  z.strictObject({ kind: z.literal('patch'), ...jobCommon, config: looseConfig.default({}) }),
  z.strictObject({ kind: z.literal('das'), ...jobCommon, config: looseConfig.default({}) }),
]);

const jobInfoSchema = z.object({
  jobId: z.string(),
  runId: z.string(),
  kind: z.string(),
  state: z.enum(['queued', 'running', 'ended']),
  name: z.string().optional(),
  phase: z.string().optional(),
  step: count,
  total: count,
  elapsedMs: z.number(),
  etaMs: z.number(),
  /** Once ended: how. */
  outcome: z.enum(['done', 'failed', 'cancelled']).optional(),
  error: z.string().optional(),
});
export type JobInfo = z.infer<typeof jobInfoSchema>;

export const EXPORT_FORMAT_NAMES = EXPORT_FORMATS;

/** What a native dialog returns; browser mode has none and says so, and the UI shows a text field instead. */
const dialogResultSchema = z.union([z.object({ unsupported: z.literal(true) }), z.object({ canceled: z.boolean(), path: z.string().optional() })]);
export type DialogResult = z.infer<typeof dialogResultSchema>;
const dialogRequest = z.strictObject({ title: z.string().max(200).optional(), defaultPath: z.string().max(4096).optional() });

const def = <Req extends z.ZodType, Res extends z.ZodType>(request: Req, response: Res, doc: string) => ({ request, response, doc });

// ---- methods ---------------------------------------------------------------------------------

export const methods = {
  'app.info': def(
    empty,
    z.object({
      version: z.string(),
      node: z.string(),
      mode: z.enum(['electron', 'browser']),
      dataDir: z.string(),
      /** The compute process's tensor backend, and why the better ones are not used. */
      backend: backendReportSchema,
    }),
    'version, tensor backend (with the reason better backends are not used) and the data folder',
  ),
  'models.list': def(empty, z.object({ models: z.array(modelSummarySchema) }), 'built-in, cached and opened models with their architecture'),
  'models.open': def(z.strictObject({ path: modelRef }), z.object({ model: modelSummarySchema }), 'check a model folder and remember it'),

  'tasks.list': def(empty, z.object({ tasks: z.array(taskSummarySchema) }), 'the built-in tasks'),
  'tasks.examples': def(
    z.strictObject({
      task: z.string().regex(/^[a-z0-9-]+$/, 'must be a built-in task name'),
      split: z.enum(['train', 'dev', 'test']).default('train'),
      offset: count.default(0),
      limit: z.number().int('must be a whole number').min(1, 'must be at least 1').max(500, 'must be at most 500').default(50),
    }),
    z.object({ task: z.string(), split: z.string(), total: count, offset: count, examples: z.array(taskExampleSchema) }),
    'a page of a task split',
  ),

  'datasets.import': def(
    z
      .strictObject({
        /** A file on the machine that runs the main process. */
        path: nonEmpty.optional(),
        /** The file's content (browser mode: read from a file input). */
        text: z.string().max(32 * 1024 * 1024, 'must be at most 32 MiB').optional(),
        /** A name for the dataset (default: the file's name). */
        name: nonEmpty.max(200).optional(),
        format: z.enum(['auto', 'jsonl', 'csv', 'json']).default('auto'),
        shape: z.enum(['auto', 'native', 'completion', 'instruction', 'truthfulqa', 'counterfactual']).default('auto'),
      })
      .superRefine((v, ctx) => {
        if ((v.path === undefined) === (v.text === undefined)) ctx.addIssue({ code: 'custom', path: ['path'], message: 'give either path or text' });
        if (v.text !== undefined && v.format === 'auto' && v.name === undefined) ctx.addIssue({ code: 'custom', path: ['format'], message: 'with text, give the format (jsonl, csv or json) or a file name to guess it from' });
      }),
    z.object({
      ok: z.boolean(),
      rows: count,
      format: z.string().optional(),
      shape: z.string().optional(),
      /** Every bad row: nothing is imported unless this is empty. */
      errors: z.array(importProblemSchema),
      dataset: datasetSchema.optional(),
      /** The first few examples, as they were read. */
      preview: z.array(taskExampleSchema),
    }),
    'check and import a dataset file; every bad row is reported and nothing is kept unless all rows are good',
  ),
  'datasets.list': def(empty, z.object({ datasets: z.array(datasetSchema) }), 'datasets known to the store'),
  'datasets.examples': def(
    z.strictObject({ datasetId: idSchema, offset: count.default(0), limit: z.number().int().min(1).max(500).default(50) }),
    z.object({ datasetId: z.string(), total: count, offset: count, examples: z.array(taskExampleSchema) }),
    'a page of an imported dataset',
  ),

  'playground.nextToken': def(
    z.strictObject({ model: modelRef, prompt, topK: z.number().int().min(1, 'must be at least 1').max(100, 'must be at most 100').default(10) }),
    z.object({ model: z.string(), tokens: z.array(tokenSchema), top: z.array(topTokenSchema) }),
    'the next-token distribution after a prompt',
  ),
  'playground.attention': def(
    z.strictObject({ model: modelRef, prompt, layer: count }),
    z.object({
      model: z.string(),
      layer: count,
      tokens: z.array(tokenSchema),
      /** [head][query position][key position] */
      patterns: z.array(z.array(z.array(z.number()))),
    }),
    'attention patterns of every head of one layer',
  ),
  'models.headPatterns': def(
    z.strictObject({
      model: modelRef,
      length: z.number().int().min(2, 'must be at least 2').max(256, 'must be at most 256').default(8),
      sequences: z.number().int().min(1, 'must be at least 1').max(512, 'must be at most 512').default(64),
      seed: count.default(0),
      /** Draw the tokens from this built-in task's examples; left out, from the whole vocabulary. */
      task: z.string().regex(/^[a-z0-9-]+$/, 'must be a built-in task name').optional(),
    }),
    z.object({
      model: z.string(),
      /** 'vocabulary' or the task the tokens came from. */
      tokensFrom: z.string(),
      poolSize: count,
      /** [layer][head] mean attention weights in [0, 1]. */
      previousToken: z.array(z.array(z.number())),
      duplicateToken: z.array(z.array(z.number())),
      induction: z.array(z.array(z.number())),
      sequences: count,
      length: count,
      seed: count,
    }),
    'previous-token, duplicate-token and induction scores of every head, on random sequences repeated twice',
  ),
  'playground.logitLens': def(
    z.strictObject({ model: modelRef, prompt, topK: z.number().int().min(1).max(20, 'must be at most 20').default(5) }),
    z.object({
      model: z.string(),
      tokens: z.array(tokenSchema),
      /** layers[l].positions[t]: the top tokens of the residual stream after layer l at position t, through the final norm and the unembedding. */
      layers: z.array(z.object({ layer: count, positions: z.array(z.array(topTokenSchema)) })),
    }),
    'the logit lens: top tokens after every layer at every position',
  ),
  'playground.generate': def(
    z.strictObject({
      model: modelRef,
      prompt,
      maxTokens: z.number().int().min(1, 'must be at least 1').max(512, 'must be at most 512').default(24),
      /** A run id or an export folder (ReFT, LoFIT or ITI). */
      intervention: nonEmpty.optional(),
    }),
    z.object({
      model: z.string(),
      without: z.object({ text: z.string(), tokens: z.array(count) }),
      with: z.object({ text: z.string(), tokens: z.array(count), method: z.string(), source: z.string() }).optional(),
    }),
    'greedy continuation, with and without an intervention',
  ),

  'jobs.start': def(jobStartSchema, z.object({ jobId: z.string(), runId: z.string() }), 'queue a long job (training, evaluation, patching, DAS)'),
  'jobs.cancel': def(z.strictObject({ jobId: idSchema }), z.object({ cancelled: z.boolean() }), 'cancel a job; false when it had already ended'),
  'jobs.resume': def(z.strictObject({ runId: idSchema }), z.object({ jobId: z.string(), runId: z.string() }), 'continue a failed or cancelled training run from its checkpoint'),
  'jobs.list': def(empty, z.object({ jobs: z.array(jobInfoSchema) }), 'jobs of this session with their latest progress'),

  'runs.list': def(
    z.strictObject({
      filters: z
        .strictObject({
          kind: z.array(z.enum(RUN_KIND_NAMES)).optional(),
          status: z.array(z.enum(RUN_STATUS_NAMES)).optional(),
          modelId: idSchema.optional(),
          search: z.string().max(500).optional(),
        })
        .default({}),
      sort: z
        .strictObject({ by: z.enum(['createdAt', 'startedAt', 'endedAt', 'name', 'status', 'kind']).default('createdAt'), direction: z.enum(['asc', 'desc']).optional() })
        .default({ by: 'createdAt' }),
      limit: z.number().int().min(1).max(10_000).default(200),
      offset: count.default(0),
    }),
    z.object({ runs: z.array(runSummarySchema), total: count }),
    'recorded runs, filtered and sorted',
  ),
  'runs.get': def(
    z.strictObject({ runId: idSchema }),
    z.object({ run: runSchema, artifacts: z.array(artifactSchema), metricNames: z.array(z.string()), headScoreNames: z.array(z.string()), headSelectionNames: z.array(z.string()) }),
    'one run with its artifacts and what it recorded',
  ),
  'runs.metrics': def(
    z.strictObject({ runId: idSchema, names: z.array(z.string()).optional(), afterStep: z.number().optional() }),
    z.object({ runId: z.string(), series: z.record(z.string(), seriesSchema) }),
    "a run's metric curves (after `afterStep` for polling)",
  ),
  'runs.delete': def(z.strictObject({ runId: idSchema }), z.object({ deleted: z.boolean(), removedFiles: count }), 'delete a run, its records and the files inside its run folder'),
  'runs.compare': def(
    z.strictObject({ runIds: z.array(idSchema).min(2, 'must name at least two runs').max(20, 'must name at most 20 runs') }),
    z.object({
      runs: z.array(z.object({ run: runSummarySchema, config: z.record(z.string(), z.unknown()), final: z.record(z.string(), maybeNumber) })),
      /** Config keys whose values differ between the runs. */
      differingConfig: z.array(z.string()),
      /** Metric names every run has. */
      sharedMetrics: z.array(z.string()),
    }),
    'runs side by side: config differences and final metrics',
  ),
  'runs.export': def(
    z.strictObject({ runId: idSchema, format: z.enum(EXPORT_FORMAT_NAMES), dir: nonEmpty }),
    z.object({
      runId: z.string(),
      format: z.string(),
      method: z.string(),
      out: z.string(),
      /** csv/json of a run's result tables (patch, DAS search, ablate, RepE, transfer): one file per table, as `subspace export` writes them. */
      tables: z.array(z.object({ file: z.string(), table: z.string(), kind: z.string().optional(), rows: count, columns: count })).optional(),
      /** What the export left out (e.g. token labels of a sweep's columns when the tokenizer is gone). */
      notes: z.array(z.string()).optional(),
    }),
    'export a run in a format other tools load',
  ),

  'heads.get': def(
    z.strictObject({ runId: idSchema }),
    z.object({
      runId: z.string(),
      /** values[layer][head] */
      scores: z.array(z.object({ name: z.string(), layers: count, heads: count, values: z.array(z.array(maybeNumber)) })),
      selections: z.array(z.object({ name: z.string(), heads: z.array(headRefSchema) })),
    }),
    'per-head scores and selections a run recorded',
  ),
  'directions.get': def(
    z.strictObject({ runId: idSchema, topK: z.number().int().min(0).max(50).default(8) }),
    z.object({
      runId: z.string(),
      method: z.string(),
      directions: z.array(
        z.object({
          label: z.string(),
          layer: count,
          head: count.optional(),
          vector: z.array(z.number()),
          /** Tokens the direction promotes and suppresses through the unembedding (ReFT directions in the residual stream). */
          top: z.array(z.object({ token: z.string(), score: z.number() })).optional(),
          bottom: z.array(z.object({ token: z.string(), score: z.number() })).optional(),
        }),
      ),
    }),
    "the learned directions of a run's exported intervention",
  ),

  // ---- Runs view ----
  'runs.facets': def(
    empty,
    z.object({ models: z.array(z.object({ id: z.string(), name: z.string() })), datasets: z.array(z.object({ id: z.string(), name: z.string() })) }),
    'the models and tasks/datasets runs refer to, for filters',
  ),
  'runs.exportFormats': def(
    z.strictObject({ runId: idSchema }),
    z.object({
      runId: z.string(),
      /** The formats runs.export accepts for this run, in the order to offer them. */
      formats: z.array(z.enum(EXPORT_FORMAT_NAMES)),
      /** The method of its native export (reft, lofit, iti, das), if it wrote one. */
      intervention: z.string().optional(),
      /** The tables csv and json write (`head-scores` for LoFIT and ITI). */
      tables: z.array(z.string()),
      /** Why its recorded results give no tables although it recorded some (a file gone or malformed). */
      problem: z.string().optional(),
    }),
    'the formats a run exports in, and the tables csv/json would write',
  ),

  // ---- Interchange view ----
  'interchange.result': def(
    z.strictObject({ runId: idSchema }),
    z.object({
      runId: z.string(),
      /** patch: a sweep; das-search: an IIA heatmap; das: one trained site. */
      artifact: z.enum(['patch', 'das-search', 'das']),
      /** The run's JSON result as the engine wrote it (NaN as null). */
      result: z.record(z.string(), z.unknown()),
    }),
    "a patching sweep's or DAS run's recorded result",
  ),
  'interchange.cell': def(
    z.strictObject({
      model: modelRef,
      task: z.string().regex(/^[a-z0-9-]+$/, 'must be a built-in task name'),
      split: z.enum(['train', 'dev', 'test']).default('test'),
      index: count.default(0),
      direction: z.enum(['denoise', 'noise']).default('denoise'),
      basePrompt: prompt.optional(),
      sourcePrompt: prompt.optional(),
      site: z
        .strictObject({
          site: z.enum(['block_input', 'attention_input', 'head_output', 'attention_output', 'mlp_input', 'mlp_hidden', 'mlp_output', 'block_output']),
          layer: count,
          head: count.optional(),
          positions: z.union([z.literal('all'), z.array(z.union([count, nonEmpty])).min(1, 'must name at least one position')]).default('all'),
        })
        .optional(),
      topK: z.number().int().min(1, 'must be at least 1').max(50, 'must be at most 50').default(10),
    }),
    z.object({
      exampleId: z.string(),
      total: count,
      direction: z.enum(['denoise', 'noise']),
      base: z.object({ run: z.enum(['clean', 'corrupt']), prompt: z.string(), tokens: z.array(z.string()), roles: z.record(z.string(), count), edited: z.boolean() }),
      source: z.object({ run: z.enum(['clean', 'corrupt']), prompt: z.string(), tokens: z.array(z.string()), roles: z.record(z.string(), count), edited: z.boolean() }),
      answers: z.object({ clean: z.object({ id: count, token: z.string() }), corrupt: z.object({ id: count, token: z.string() }) }),
      distributions: z
        .object({
          clean: z.array(z.object({ id: count, token: z.string(), prob: z.number() })),
          corrupt: z.array(z.object({ id: count, token: z.string(), prob: z.number() })),
          patched: z.array(z.object({ id: count, token: z.string(), prob: z.number() })),
        })
        .optional(),
    }),
    'one example as base and source tokens; with a site, the clean, corrupt and patched next-token distributions',
  ),

  'dialogs.openFolder': def(dialogRequest, dialogResultSchema, 'a native dialog to choose a folder (model folders)'),
  'dialogs.openFile': def(dialogRequest.extend({ extensions: z.array(z.string().regex(/^[a-z0-9]+$/)).optional() }), dialogResultSchema, 'a native dialog to choose a file (datasets)'),
  'dialogs.saveFolder': def(dialogRequest, dialogResultSchema, 'a native dialog to choose a folder to write to (exports)'),

  // LoFIT view
  'lofit.listFiles': def(
    z.strictObject({ dir: nonEmpty.max(4096, 'must be at most 4096 characters') }),
    z.object({ dir: z.string(), files: z.array(z.object({ path: z.string(), sizeBytes: count })) }),
    'the files under an export folder (or the one file an export wrote), with their sizes',
  ),
  'lofit.siblings': def(
    z.strictObject({ runId: idSchema }),
    z.object({
      /** LoFIT runs on the same model and the same task (data set), newest first, this one included. */
      runs: z.array(
        z.object({
          runId: z.string(),
          name: z.string(),
          status: z.enum(RUN_STATUS_NAMES),
          createdAt: z.number(),
          /** True when step 1 was skipped and the run tuned a given head list. */
          given: z.boolean(),
          heads: z.array(z.tuple([count, count])),
          /** Final test scores (null until the run has them). */
          testAccuracy: maybeNumber,
          testPreferCorrect: maybeNumber,
        }),
      ),
    }),
    'LoFIT runs that share a run\'s model and task, with their heads and test scores (accuracy against K, re-runs)',
  ),

  // ReFT view
  'reft.projections': def(
    z.strictObject({
      runId: idSchema,
      /** Two indices into the run's directions, in the order directions.get lists them. */
      directions: z.array(count).length(2, 'must name two directions (x and y)'),
      split: z.enum(['train', 'dev', 'test']).default('dev'),
      limit: z.number().int('must be a whole number').min(1, 'must be at least 1').max(500, 'must be at most 500').default(200),
    }),
    z.object({
      runId: z.string(),
      task: z.string(),
      split: z.string(),
      directions: z.array(z.object({ index: count, label: z.string(), layer: count })),
      /** One point per example: its answer as the label, its representation's projection on each direction. */
      points: z.array(z.object({ id: z.string(), label: z.string(), x: z.number(), y: z.number() })),
    }),
    "a task's representations at a ReFT run's intervened site projected on two of its learned directions",
  ),

  // LoFIT view: cross-task transfer
  'transfer.options': def(
    z.strictObject({ model: modelRef }),
    z.object({
      model: z.string(),
      /** K runs from 1 to layers × heads. */
      layers: count,
      heads: count,
      maxTasks: count,
      /** Every built-in task; `suitable` is false (and `why` says why) where a transfer cell could not train or be scored. */
      tasks: z.array(
        z.object({
          name: z.string(),
          title: z.string(),
          kind: z.enum(['completion', 'multiple-choice']),
          sizes: z.object({ train: count, dev: count, test: count }),
          suitable: z.boolean(),
          why: z.string().optional(),
        }),
      ),
    }),
    `the tasks a transfer matrix on a model can cross (at most ${TRANSFER_MAX_TASKS}), and the model's head count`,
  ),
  'transfer.start': def(
    transferJobConfigSchema.extend({ model: modelRef, name: nonEmpty.max(500).optional() }),
    z.object({ jobId: z.string(), runId: z.string() }),
    "start LoFIT cross-task transfer: step 1 on each task, then step 2 on every task with every task's heads",
  ),
  'transfer.result': def(
    z.strictObject({ runId: idSchema }),
    z.object({
      runId: z.string(),
      name: z.string(),
      status: z.enum(RUN_STATUS_NAMES),
      /** False until the run has written its result: the cells measured so far, the rest null. */
      complete: z.boolean(),
      model: z.string(),
      tasks: z.array(z.string()),
      /** Per row task: what its cells measure (MC1 for multiple-choice tasks, accuracy otherwise). */
      metric: z.record(z.string(), z.enum(['accuracy', 'mc1'])),
      /** matrix[a][b]: step 2 trained and scored on tasks[a] with the heads step 1 selected on tasks[b]. */
      matrix: z.array(z.array(maybeNumber)),
      /** The base model's score on each task's test split (once complete). */
      base: z.record(z.string(), maybeNumber),
      k: count.nullable(),
      /** Each task's step-1 top K, (layer, head) pairs. */
      heads: z.record(z.string(), z.array(z.tuple([count, count]))),
      settings: z.record(z.string(), z.number()),
      backend: z.string().nullable(),
    }),
    "a transfer run's matrix, head lists and settings",
  ),
} as const;

export type Methods = typeof methods;
export type MethodName = keyof Methods;
export const METHOD_NAMES = Object.keys(methods) as MethodName[];

/** What a caller sends (fields with defaults may be left out). */
export type ApiRequest<M extends MethodName> = z.input<Methods[M]['request']>;
/** What a handler receives (defaults filled in). */
export type ParsedRequest<M extends MethodName> = z.output<Methods[M]['request']>;
/** What a caller receives. */
export type ApiResponse<M extends MethodName> = z.output<Methods[M]['response']>;

export type ApiResult<T = unknown> = { ok: true; result: T } | { ok: false; error: ApiError };

// ---- events ----------------------------------------------------------------------------------

const jobRef = { jobId: z.string(), runId: z.string(), kind: z.string() };

export const apiEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('job.queued'), ...jobRef, name: z.string().optional() }),
  z.object({ type: z.literal('job.started'), ...jobRef }),
  z.object({
    type: z.literal('job.progress'),
    ...jobRef,
    phase: z.string().optional(),
    step: count,
    total: count,
    elapsedMs: z.number(),
    etaMs: z.number(),
    /** One line for people: phase, step and the latest metrics. */
    message: z.string(),
  }),
  z.object({ type: z.literal('job.metric'), ...jobRef, name: z.string(), step: z.number(), value: maybeNumber }),
  z.object({ type: z.literal('job.done'), ...jobRef, elapsedMs: z.number() }),
  z.object({ type: z.literal('job.failed'), ...jobRef, error: z.string() }),
  z.object({ type: z.literal('job.cancelled'), ...jobRef, error: z.string().optional() }),
  /** A menu item of the desktop shell asks the UI to act (open a model, show a view, ...). */
  z.object({
    type: z.literal('ui.command'),
    command: z.enum(['openModel', 'openDataset', 'toggleTheme', 'showView']),
    view: z.enum(VIEW_IDS as unknown as [ViewId, ...ViewId[]]).optional(),
  }),
]);
export type ApiEvent = z.infer<typeof apiEventSchema>;
export type ApiEventType = ApiEvent['type'];

// ---- transport constants ---------------------------------------------------------------------

export { HTTP_API_PREFIX, HTTP_EVENTS_PATH, IPC_CALL, IPC_EVENT, TOKEN_HEADER, TOKEN_QUERY } from './channels.js';

/** What the preload exposes as `window.subspace`. */
export interface SubspaceBridge {
  call(method: string, payload: unknown): Promise<ApiResult>;
  /** Returns a function that stops the subscription. */
  onEvent(listener: (event: ApiEvent) => void): () => void;
}
