/** Handlers for what there is to work with: models, tasks and datasets. */
import { copyFileSync, existsSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, extname, join, resolve } from 'node:path';
import { errorMessage, SubspaceError } from '../../engine/errors.js';
import { importDataset, type ImportFormat } from '../../engine/data/import.js';
import { listCachedModels } from '../../engine/io/hf-cache.js';
import { readModelSpec } from '../../engine/io/model-files.js';
import { parameterCount } from '../../engine/model/config.js';
import { builtinModelsDir } from '../../engine/paths.js';
import { listTasks, loadTask, type LoadedTask } from '../../engine/tasks/registry.js';
import type { TaskExample } from '../../engine/tasks/schema.js';
import type { Architecture, ModelSummary } from '../contract.js';
import { datasetsDirIn, type ApiContext } from '../context.js';
import { ApiFailure, type Handlers } from '../dispatch.js';
import type { ModelDescription } from '../compute/ops.js';

function architectureOf(d: Pick<ModelDescription, 'spec' | 'parameters'>): Architecture {
  const s = d.spec;
  return {
    family: s.family,
    modelType: s.modelType,
    layers: s.nLayers,
    heads: s.nHeads,
    kvHeads: s.nKvHeads,
    width: s.dModel,
    headDim: s.dHead,
    mlpWidth: s.dMlp,
    vocab: s.vocabSize,
    maxPositions: s.maxPositions,
    parameters: d.parameters,
    positional: s.positional,
    norm: s.norm,
  };
}

/** A folder's summary from its config.json alone (cheap: no weights are read). */
function summarise(name: string, source: ModelSummary['source'], folder: string): ModelSummary {
  try {
    const { spec } = readModelSpec(folder);
    return { name, source, folder, architecture: architectureOf({ spec, parameters: parameterCount(spec) }) };
  } catch (e) {
    return { name, source, folder, architecture: null, error: errorMessage(e) };
  }
}

function listModels(ctx: ApiContext): ModelSummary[] {
  const out: ModelSummary[] = [];
  const seen = new Set<string>();
  const add = (m: ModelSummary) => {
    const key = resolve(m.folder);
    if (seen.has(key)) return;
    seen.add(key);
    out.push(m);
  };
  const dir = builtinModelsDir();
  if (existsSync(dir)) {
    for (const n of readdirSync(dir).sort()) if (existsSync(join(dir, n, 'config.json'))) add(summarise(n, 'built-in', join(dir, n)));
  }
  for (const c of listCachedModels()) add(summarise(c.name, 'hf-cache', c.folder));
  for (const m of ctx.store.listModels()) add(summarise(m.name, 'opened', m.folder));
  return out;
}

const taskCache = new Map<string, Promise<LoadedTask>>();
/** A built-in task, kept parsed for the next request (the views page through the same few). */
export function cachedTask(name: string): Promise<LoadedTask> {
  let p = taskCache.get(name);
  if (!p) {
    p = loadTask(name);
    p.catch(() => taskCache.delete(name));
    taskCache.set(name, p);
    if (taskCache.size > 8) taskCache.delete(taskCache.keys().next().value!);
  }
  return p;
}

const FORMAT_EXT: Record<ImportFormat, string> = { jsonl: '.jsonl', csv: '.csv', json: '.json' };

function guessFormat(name: string | undefined): ImportFormat | undefined {
  const ext = name ? extname(name).toLowerCase() : '';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.csv') return 'csv';
  if (ext === '.json') return 'json';
  return undefined;
}

const PREVIEW = 5;

export function libraryHandlers(ctx: ApiContext): Pick<Handlers, 'models.list' | 'models.open' | 'tasks.list' | 'tasks.examples' | 'datasets.import' | 'datasets.list' | 'datasets.examples'> {
  return {
    'models.list': () => ({ models: listModels(ctx) }),

    'models.open': async ({ path }) => {
      let d: ModelDescription;
      try {
        d = await ctx.compute.call('describeModel', { folder: path });
      } catch (e) {
        const err = e as ApiFailure;
        throw new ApiFailure(err.code ?? 'BAD_FILE', `models.open: path: ${errorMessage(e)}`, 'path');
      }
      const builtin = resolve(d.folder).startsWith(resolve(builtinModelsDir()));
      const stored = ctx.store.registerModel({
        name: d.name,
        folder: d.folder,
        configSummary: { modelType: d.spec.modelType, layers: d.spec.nLayers, heads: d.spec.nHeads, kvHeads: d.spec.nKvHeads, width: d.spec.dModel, parameters: d.parameters },
        contentHash: d.contentHash,
      });
      return { model: { name: stored.name, source: builtin ? 'built-in' : 'opened', folder: d.folder, architecture: architectureOf(d) } };
    },

    'tasks.list': async () => {
      const tasks = await listTasks();
      return {
        tasks: tasks.map((t) => ({
          name: t.name,
          title: t.title,
          description: t.description,
          kind: t.kind,
          variables: t.variables,
          roles: t.roles,
          sizes: { train: t.sizes.train ?? 0, dev: t.sizes.dev ?? 0, test: t.sizes.test ?? 0 },
        })),
      };
    },

    'tasks.examples': async ({ task, split, offset, limit }) => {
      const t = await cachedTask(task);
      const rows = t.splits[split];
      return { task, split, total: rows.length, offset, examples: rows.slice(offset, offset + limit) };
    },

    'datasets.import': async (req) => {
      const dir = datasetsDirIn(ctx.dataDir);
      let file: string;
      let temp: string | undefined;
      let format: 'auto' | ImportFormat = req.format;
      if (req.text !== undefined) {
        if (format === 'auto') format = guessFormat(req.name) ?? 'auto';
        if (format === 'auto') throw new ApiFailure('BAD_ARGUMENT', `datasets.import: format: cannot tell the format of "${req.name}"; give jsonl, csv or json`, 'format');
        temp = join(dir, `.incoming-${randomBytes(6).toString('hex')}${FORMAT_EXT[format]}`);
        file = temp;
        writeFileSync(temp, req.text);
      } else {
        file = resolve(req.path!);
      }
      try {
        const preview: TaskExample[] = [];
        const r = await importDataset(file, { format, shape: req.shape, maxErrors: 500, onExample: (ex) => void (preview.length < PREVIEW && preview.push(ex)) });
        if (!r.ok) {
          return { ok: false, rows: r.rows, ...(r.format && { format: r.format }), ...(r.shape && { shape: r.shape }), errors: r.errors, preview: [] };
        }
        const stored = join(dir, `${r.sha256}${FORMAT_EXT[r.format]}`);
        if (!existsSync(stored)) {
          if (temp) renameSync(temp, stored);
          else copyFileSync(file, stored);
        }
        const name = req.name ?? (req.path ? basename(req.path) : `dataset-${r.sha256.slice(0, 8)}`);
        const dataset = ctx.store.registerDataset({ id: `import-${r.sha256.slice(0, 16)}`, name, source: 'imported', path: stored, contentHash: r.sha256, rowCount: r.rows });
        return { ok: true, rows: r.rows, format: r.format, shape: r.shape, errors: [], dataset, preview };
      } catch (e) {
        if (e instanceof SubspaceError && req.path !== undefined && e.subject === file) throw new SubspaceError(e.code, `datasets.import: path: ${e.message}`, 'path');
        throw e;
      } finally {
        if (temp) rmSync(temp, { force: true });
      }
    },

    'datasets.list': () => ({ datasets: ctx.store.listDatasets() }),

    'datasets.examples': async ({ datasetId, offset, limit }) => {
      const d = ctx.store.getDataset(datasetId);
      if (!d) throw new ApiFailure('NOT_FOUND', `datasets.examples: datasetId: no dataset "${datasetId}"`, 'datasetId');
      if (d.source === 'builtin' || !d.path) throw new ApiFailure('UNSUPPORTED', `datasets.examples: datasetId: "${datasetId}" is a built-in task; use tasks.examples`, 'datasetId');
      const examples: TaskExample[] = [];
      let index = 0;
      const r = await importDataset(d.path, {
        onExample: (ex) => {
          if (index >= offset && index < offset + limit) examples.push(ex);
          index++;
        },
      });
      if (!r.ok) throw new ApiFailure('BAD_FILE', `datasets.examples: ${d.path} no longer reads cleanly (${r.errors[0]?.problem ?? 'bad rows'})`, 'datasetId');
      return { datasetId, total: r.rows, offset, examples };
    },
  };
}
