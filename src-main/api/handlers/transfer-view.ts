/**
 * Handlers of the LoFIT view's cross-task transfer: which tasks a model's matrix can cross, starting
 * the 'transfer' job (checked here against the model's head count and the task folder, so a bad K or
 * task is a field error at once rather than a failed job), and a transfer run's matrix read back —
 * from its JSON artifact once written, else from the cells it has recorded so far.
 */
import { existsSync, readFileSync } from 'node:fs';
import { errorMessage } from '../../engine/errors.js';
import { resolveModelRef } from '../../engine/io/hf-cache.js';
import { readModelSpec } from '../../engine/io/model-files.js';
import type { ModelSpec } from '../../engine/model/config.js';
import { builtinModelsDir } from '../../engine/paths.js';
import { listTasks } from '../../engine/tasks/registry.js';
import type { TaskManifest } from '../../engine/tasks/schema.js';
import { TRANSFER_MAX_TASKS, transferCellMetric, transferHeadsName } from '../../jobs/protocol.js';
import type { Run, Store } from '../../store/index.js';
import type { ApiResponse } from '../contract.js';
import type { ApiContext } from '../context.js';
import { ApiFailure, type Handlers } from '../dispatch.js';

type TransferResult = ApiResponse<'transfer.result'>;
type Metric = 'accuracy' | 'mc1';

/** Settings of the job config that the result lists (the rest of the config is the job record). */
const SETTING_KEYS = ['k', 'epochs', 'seed', 'limit', 'batchSize', 'l1', 'lrSelect', 'lrTune'] as const;

function modelSpecOf(model: string, method: string): { name: string; spec: ModelSpec } {
  try {
    const found = resolveModelRef(model, builtinModelsDir());
    return { name: found.name, spec: readModelSpec(found.folder).spec };
  } catch (e) {
    throw new ApiFailure('NOT_FOUND', `${method}: model: ${errorMessage(e)}`, 'model');
  }
}

/** Why a task cannot be a row and column of the matrix, or undefined when it can. */
function unsuitable(t: TaskManifest): string | undefined {
  const missing = (['train', 'test'] as const).filter((s) => (t.sizes[s] ?? 0) === 0);
  return missing.length ? `no ${missing.join(' or ')} examples (step 1 and step 2 train on train; every cell is scored on test)` : undefined;
}

const metricOf = (t: TaskManifest | undefined): Metric => (t?.kind === 'multiple-choice' ? 'mc1' : 'accuracy');
const orNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The result as the job wrote it (null where it wrote NaN). */
function fromArtifact(run: Run, path: string): TransferResult {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ApiFailure('BAD_FILE', `transfer.result: runId: ${path} is not valid JSON (${errorMessage(e)})`, 'runId');
  }
  const tasks = (doc.tasks as string[] | undefined) ?? [];
  return {
    runId: run.id,
    name: run.name,
    status: run.status,
    complete: true,
    model: String(doc.model ?? ''),
    tasks,
    metric: (doc.metric as Record<string, Metric> | undefined) ?? {},
    matrix: ((doc.matrix as unknown[][] | undefined) ?? []).map((row) => row.map(orNull)),
    base: Object.fromEntries(Object.entries((doc.base as Record<string, unknown> | undefined) ?? {}).map(([k, v]) => [k, orNull(v)])),
    k: orNull(doc.k),
    heads: (doc.heads as Record<string, [number, number][]> | undefined) ?? {},
    settings: Object.fromEntries(Object.entries((doc.settings as Record<string, unknown> | undefined) ?? {}).filter((e): e is [string, number] => typeof e[1] === 'number')),
    backend: typeof doc.backend === 'string' ? doc.backend : null,
  };
}

/** A run without its result yet (running, failed, cancelled): the cells and head lists it recorded. */
async function fromRecords(store: Store, run: Run): Promise<TransferResult> {
  const config = run.config;
  const tasks = Array.isArray(config.tasks) ? (config.tasks as unknown[]).filter((t): t is string => typeof t === 'string') : [];
  const manifests = await listTasks().catch(() => [] as TaskManifest[]);
  const series = store.getMetrics(run.id, { names: tasks.flatMap((a) => tasks.map((b) => transferCellMetric(a, b))) });
  const heads = Object.fromEntries(
    tasks.flatMap((t) => {
      const s = store.getHeadSelection(run.id, transferHeadsName(t));
      return s ? [[t, s.heads.map(({ layer, head }) => [layer, head] as [number, number])]] : [];
    }),
  );
  const job = config.job as { model?: string; modelName?: string } | undefined;
  const firstHeads = Object.values(heads)[0];
  return {
    runId: run.id,
    name: run.name,
    status: run.status,
    complete: false,
    model: job?.modelName ?? job?.model ?? '',
    tasks,
    metric: Object.fromEntries(tasks.map((t) => [t, metricOf(manifests.find((m) => m.name === t))])),
    matrix: tasks.map((a) => tasks.map((b) => orNull(series[transferCellMetric(a, b)]?.values.at(-1)))),
    base: {},
    k: typeof config.k === 'number' ? config.k : (firstHeads?.length ?? null),
    heads,
    settings: Object.fromEntries(SETTING_KEYS.filter((key) => typeof config[key] === 'number').map((key) => [key, config[key] as number])),
    backend: run.backend,
  };
}

export function transferViewHandlers(ctx: ApiContext): Pick<Handlers, 'transfer.options' | 'transfer.start' | 'transfer.result'> {
  const { store, jobs } = ctx;
  return {
    'transfer.options': async ({ model }) => {
      const { name, spec } = modelSpecOf(model, 'transfer.options');
      const manifests = await listTasks();
      return {
        model: name,
        layers: spec.nLayers,
        heads: spec.nHeads,
        maxTasks: TRANSFER_MAX_TASKS,
        tasks: manifests.map((t) => {
          const why = unsuitable(t);
          return { name: t.name, title: t.title, kind: t.kind, sizes: { train: t.sizes.train ?? 0, dev: t.sizes.dev ?? 0, test: t.sizes.test ?? 0 }, suitable: why === undefined, ...(why && { why }) };
        }),
      };
    },

    'transfer.start': async ({ model, name, ...config }) => {
      const { name: modelName, spec } = modelSpecOf(model, 'transfer.start');
      const total = spec.nLayers * spec.nHeads;
      if (config.k !== undefined && config.k > total) {
        throw new ApiFailure('BAD_ARGUMENT', `transfer.start: k: must be at most ${total} (${modelName} has ${spec.nLayers} layers × ${spec.nHeads} heads)`, 'k');
      }
      const manifests = await listTasks();
      config.tasks.forEach((t, i) => {
        const m = manifests.find((x) => x.name === t);
        if (!m) throw new ApiFailure('NOT_FOUND', `transfer.start: tasks.${i}: no built-in task '${t}' (known: ${manifests.map((x) => x.name).join(', ')})`, `tasks.${i}`);
        const why = unsuitable(m);
        if (why) throw new ApiFailure('BAD_ARGUMENT', `transfer.start: tasks.${i}: task '${t}' has ${why}`, `tasks.${i}`);
      });
      const k = config.k !== undefined ? `K ${config.k}` : 'K 10%';
      const id = jobs.submit({ kind: 'transfer', model, task: config.tasks[0], config, name: name ?? `Transfer ${config.tasks.join(' × ')} · ${k} on ${modelName}` });
      return { jobId: id, runId: id };
    },

    'transfer.result': async ({ runId }) => {
      const run = store.getRun(runId);
      if (!run) throw new ApiFailure('NOT_FOUND', `transfer.result: runId: no run with id "${runId}"`, 'runId');
      if (run.kind !== 'transfer') throw new ApiFailure('BAD_ARGUMENT', `transfer.result: runId: run "${runId}" is a ${run.kind} run, not a transfer run`, 'runId');
      const art = store.listArtifacts(runId).find((a) => a.kind === 'transfer' && a.path.endsWith('.json'));
      if (art && existsSync(art.path)) return fromArtifact(run, art.path);
      return fromRecords(store, run);
    },
  };
}
