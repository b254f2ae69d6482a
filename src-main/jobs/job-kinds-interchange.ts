/**
 * Worker-side runners of the interchange kinds: activation-patching sweeps
 * ('patch') and distributed alignment search ('das'). Each writes its result as
 * a JSON artifact of the run (what the Interchange view reads back) and records
 * the headline figures as metrics; a full heads sweep also becomes head scores.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SubspaceError } from '../engine/errors.js';
import { dasTaskFrom, resolveDasConfig, saveDas, searchDas, trainDas, type DasCacheMode, type DasVariant } from '../engine/das/index.js';
import { patchSweep, type SweepOptions } from '../engine/patching/index.js';
import type { DasJobConfig, PatchJobConfig } from './protocol.js';
import { reportArtifact, reportArtifacts, type KindContext, type KindRunner, type TaskData } from './kind-context.js';

/** File names of the results inside the run's output folder. */
export const PATCH_RESULT_FILE = 'patch-sweep.json';
export const DAS_SEARCH_FILE = 'das-search.json';

function writeJsonArtifact(ctx: KindContext, path: string, doc: unknown, kind: string): void {
  writeFileSync(path, JSON.stringify(doc, null, 2) + '\n');
  reportArtifact(ctx, path, kind);
}

/** The headline figures of a run, as metric points at step 0. */
function sendFigures(ctx: KindContext, figures: Record<string, number>): void {
  ctx.send({ type: 'metrics', points: Object.entries(figures).map(([name, value]) => ({ step: 0, name, value })) });
}

function builtinOnly(task: TaskData, what: string): { roles: string[]; variables: string[] } {
  if (!task.roles || !task.variables) throw new SubspaceError('UNSUPPORTED', `task: ${what} jobs need a built-in task (its roles and causal variables); an inline task has neither`, 'task');
  return { roles: task.roles, variables: task.variables };
}

export const patch: KindRunner = (ctx) => {
  const { m, task, job } = ctx;
  const c = job.config as PatchJobConfig;
  const { roles } = builtinOnly(task, 'patch');
  const split = c.split ?? 'test';
  const pool = task[split].length ? task[split] : task.train;
  const examples = pool.slice(0, c.n ?? 32);
  if (examples.length === 0) throw new SubspaceError('BAD_ARGUMENT', `task '${task.name}' has no examples in its ${split} split`, 'config.split');
  const opts: SweepOptions = {
    kind: c.sweep,
    direction: c.direction,
    method: c.method,
    metric: c.metric,
    perPosition: c.perPosition === true,
    positions: c.positions,
    residSite: c.residSite,
    layers: c.layers,
    heads: c.heads,
    variable: c.variable,
    taskName: task.name,
    taskRoles: roles,
    memoryMiB: c.memoryMiB,
  };
  const r = patchSweep(m.model, m.tokenizer!, examples, opts, ctx.hooks);
  sendFigures(ctx, { clean: r.clean, corrupt: r.corrupt, unpatched: r.unpatched });
  if (r.kind === 'heads' && !r.perPosition && r.layers.length === m.spec.nLayers && r.heads!.length === m.spec.nHeads) {
    ctx.send({ type: 'headScores', name: `patch-${r.method}-${r.metric}`, layers: m.spec.nLayers, heads: m.spec.nHeads, values: (r.values as number[][]).flat() });
  }
  mkdirSync(job.outDir, { recursive: true });
  const out = join(job.outDir, PATCH_RESULT_FILE);
  const doc = { run: job.runId, model: m.name, task: task.name, split, examples: examples.map((e) => e.id), backend: ctx.backend, ...r };
  writeJsonArtifact(ctx, out, doc, 'patch');
  return { out, kind: r.kind, site: r.site, n: r.n, clean: r.clean, corrupt: r.corrupt, unpatched: r.unpatched, task: task.name, backend: ctx.backend };
};

export const das: KindRunner = (ctx) => {
  const { m, task, job } = ctx;
  const c = job.config as DasJobConfig;
  const { roles, variables } = builtinOnly(task, 'DAS');
  const dasTask = dasTaskFrom({ manifest: { name: task.name, variables, roles }, splits: { train: task.train, test: task.test } });
  const common = {
    variable: c.variable,
    ...(c.component !== undefined && { component: c.component }),
    ...(c.variant !== undefined && { variant: c.variant as DasVariant }),
    ...(c.dim !== undefined && { dim: c.dim }),
    ...(c.epochs !== undefined && { epochs: c.epochs }),
    ...(c.lr !== undefined && { lr: c.lr }),
    ...(c.batchSize !== undefined && { batchSize: c.batchSize }),
    ...(c.seed !== undefined && { seed: c.seed }),
    ...(c.nTrain !== undefined && { nTrain: c.nTrain }),
    ...(c.nTest !== undefined && { nTest: c.nTest }),
    ...(c.boundaryLr !== undefined && { boundaryLr: c.boundaryLr }),
    ...(c.cache !== undefined && { cache: c.cache as DasCacheMode }),
  };
  if (c.search) {
    mkdirSync(job.outDir, { recursive: true });
    const r = searchDas(m.model, m.tokenizer!, dasTask, { ...common, ...(c.layers && { layers: c.layers }), ...(c.positions && { positions: c.positions }) }, ctx.hooks);
    sendFigures(ctx, { 'best.iia': r.best.iia, 'best.changedIia': r.best.changedIia, baseline: r.baseline });
    const out = join(job.outDir, DAS_SEARCH_FILE);
    writeJsonArtifact(ctx, out, { run: job.runId, model: m.name, backend: ctx.backend, ...r }, 'das-search');
    return { out, search: true, best: r.best, baseline: r.baseline, task: task.name, backend: ctx.backend };
  }
  if (c.layer === undefined) throw new SubspaceError('BAD_ARGUMENT', 'config.layer: a single-site DAS job needs a layer (or set config.search to try every layer)', 'config.layer');
  if (c.position === undefined) throw new SubspaceError('BAD_ARGUMENT', `config.position: a single-site DAS job needs a role of '${task.name}' (${[...roles, 'first', 'last'].join(', ')})`, 'config.position');
  const cfg = { ...common, layer: c.layer, position: c.position };
  resolveDasConfig(m.spec, dasTask, cfg);
  const r = trainDas(m.model, m.tokenizer!, dasTask, cfg, ctx.hooks);
  try {
    const s = r.summary;
    sendFigures(ctx, { 'test.iia': s.test.iia, 'test.changedIia': s.test.changed.iia, baseline: s.test.baseline });
    // saveDas writes the export folder itself (and refuses an existing folder that is not an export).
    mkdirSync(dirname(job.outDir), { recursive: true });
    saveDas(job.outDir, m.name, m.spec, s, r.intervention);
    reportArtifacts(ctx, job.outDir, 'das');
    return { out: job.outDir, search: false, iia: s.test.iia, baseline: s.test.baseline, task: task.name, backend: ctx.backend };
  } finally {
    r.intervention.dispose();
  }
};
