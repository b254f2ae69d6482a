/**
 * The compute process: a long-lived child of the main process that runs the
 * interactive engine calls (playground, directions, exports, model hashing).
 * Engine calls are synchronous and can take seconds; here they block only this
 * process, so the main process keeps answering every other request.
 *
 * It starts the tensor backend once, keeps the last few models loaded, runs one
 * request at a time in arrival order and never opens the database.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../engine/backend/index.js';
import { errorMessage, isSubspaceError, SubspaceError } from '../../engine/errors.js';
import { resolveModelRef } from '../../engine/io/hf-cache.js';
import { loadModelFolder, readModelSpec, weightIndex, type LoadedModel } from '../../engine/io/model-folder.js';
import { modelContentHash } from '../../engine/io/model-hash.js';
import { parameterCount } from '../../engine/model/config.js';
import { builtinModelsDir } from '../../engine/paths.js';
import type { ComputeHello, ComputeOps, ComputeReply, ComputeRequest } from './ops.js';
import { attention, generateBoth, logitLens, nextToken } from './playground.js';
import { headPatterns, tokensOfTask } from '../../engine/analysis/head-patterns.js';
import { directionsOf, exportModelName, exportRunFiles, exportRunTables } from './run-files.js';
import { interchangeCell } from './interchange.js';
import { reftProjections } from './reft-projections.js';

const MODEL_CACHE = 2;
const cache = new Map<string, Promise<LoadedModel>>();

/** A model by reference (folder, built-in or cached hub name), kept loaded for the next call. */
function model(ref: string): Promise<LoadedModel> {
  const found = resolveModelRef(ref, builtinModelsDir());
  let p = cache.get(found.folder);
  if (p) {
    cache.delete(found.folder);
    cache.set(found.folder, p);
    return p;
  }
  p = loadModelFolder(found.folder, { name: found.name, requireTokenizer: false });
  p.catch(() => cache.delete(found.folder));
  cache.set(found.folder, p);
  while (cache.size > MODEL_CACHE) {
    const [oldest, q] = cache.entries().next().value as [string, Promise<LoadedModel>];
    cache.delete(oldest);
    q.then((m) => m.model.dispose()).catch(() => {});
  }
  return p;
}

type Impl = { [K in keyof ComputeOps]: (args: ComputeOps[K]['args']) => Promise<ComputeOps[K]['result']> | ComputeOps[K]['result'] };

const ops: Impl = {
  backend: () => initBackend(),
  describeModel: ({ folder }) => {
    const found = resolveModelRef(folder, builtinModelsDir());
    const { spec } = readModelSpec(found.folder);
    if (!existsSync(join(found.folder, 'tokenizer.json'))) throw new SubspaceError('NOT_FOUND', `${found.folder}: no tokenizer.json; Subspace needs the model's tokenizer`, 'path');
    const files = [...new Set(weightIndex(found.folder).values())];
    return { name: found.name, folder: found.folder, contentHash: modelContentHash(found.folder, files), spec, parameters: parameterCount(spec) };
  },
  nextToken: async ({ model: ref, prompt, topK }) => {
    const m = await model(ref);
    return { model: m.name, ...nextToken(m, prompt, topK) };
  },
  attention: async ({ model: ref, prompt, layer }) => {
    const m = await model(ref);
    return { model: m.name, layer, ...attention(m, prompt, layer) };
  },
  headPatterns: async ({ model: ref, length, sequences, seed, task }) => {
    const m = await model(ref);
    const tokens = task === undefined ? undefined : await tokensOfTask(m, task);
    return { model: m.name, tokensFrom: task ?? 'vocabulary', ...headPatterns(m.model, m.tokenizer, { length, sequences, seed, tokens }) };
  },
  logitLens: async ({ model: ref, prompt, topK }) => {
    const m = await model(ref);
    return { model: m.name, ...logitLens(m, prompt, topK) };
  },
  generate: async ({ model: ref, prompt, maxTokens, intervention }) => {
    const m = await model(ref);
    return { model: m.name, ...generateBoth(m, prompt, maxTokens, intervention) };
  },
  directions: async ({ dir, topK, model: ref }) => directionsOf(await model(ref ?? exportModelName(dir)), dir, topK),
  exportRun: async ({ dir, format, out, model: ref }) => exportRunFiles(await model(ref ?? exportModelName(dir)), dir, format, out),
  exportRunTables: (args) => exportRunTables(args),
  reftProjections: async ({ dir, examples, directions, model: ref }) => reftProjections(await model(ref ?? exportModelName(dir)), dir, examples, directions),
  interchangeCell: async (args) => interchangeCell(await model(args.model), args),
  sleep: ({ ms }) => {
    // Synchronous on purpose: it stands in for an engine call that blocks the event loop.
    const until = Date.now() + ms;
    while (Date.now() < until) {
      /* busy */
    }
    return { slept: ms };
  },
};

function send(msg: ComputeReply | ComputeHello): void {
  if (process.send && process.connected) process.send(msg);
}

function errorOf(e: unknown): { code: string; message: string; field?: string } {
  if (isSubspaceError(e)) return { code: e.code, message: e.message, ...(e.subject !== undefined && { field: e.subject }) };
  return { code: 'INTERNAL', message: errorMessage(e) || String(e) };
}

let queue: Promise<void> = Promise.resolve();

process.on('message', (raw: unknown) => {
  const req = raw as ComputeRequest;
  if (!req || typeof req.id !== 'number' || typeof req.op !== 'string' || !(req.op in ops)) {
    send({ id: typeof req?.id === 'number' ? req.id : -1, ok: false, error: { code: 'INTERNAL', message: `compute: unknown request ${JSON.stringify(req?.op)}` } });
    return;
  }
  // One at a time: engine calls share the backend and the model cache.
  queue = queue.then(async () => {
    try {
      const result = await (ops[req.op] as (a: unknown) => unknown)(req.args);
      send({ id: req.id, ok: true, result });
    } catch (e) {
      send({ id: req.id, ok: false, error: errorOf(e) });
    }
  });
});
process.on('disconnect', () => process.exit(0));

// The backend named by SUBSPACE_BACKEND, else the best available. Requests wait for it: an
// engine call made while the backend is still starting fails ("backend has not yet been initialized").
const ready = initBackend();
queue = ready.then(
  () => undefined,
  () => undefined,
);
ready
  .then((backend) => send({ hello: true, backend }))
  .catch((e) => send({ hello: true, error: errorOf(e) }));
