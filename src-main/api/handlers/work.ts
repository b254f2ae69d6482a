/**
 * Handlers for work and its records: the playground (in the compute process),
 * jobs (the JobManager), runs, head scores and directions (the store). Run
 * export is in run-export.ts.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { isManifestPath, MANIFEST_FILE } from '../../engine/artifacts/native.js';
import { JOB_KINDS, type JobSpecInput } from '../../jobs/index.js';
import type { Run, Store } from '../../store/index.js';
import type { ApiContext } from '../context.js';
import { ApiFailure, type Handlers } from '../dispatch.js';

const orNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

export function requireRun(store: Store, runId: string, method: string): Run {
  const run = store.getRun(runId);
  if (!run) throw new ApiFailure('NOT_FOUND', `${method}: runId: no run with id "${runId}"`, 'runId');
  return run;
}

/**
 * The native export folder a run wrote (the folder of its manifest artifact), and the folder of
 * the model it used (its export names the model only by name, which may not resolve).
 */
export function exportOf(store: Store, run: Run, method: string): { dir: string; model?: string } {
  const manifest = store.listArtifacts(run.id).find((a) => isManifestPath(a.path));
  if (!manifest) throw new ApiFailure('NOT_FOUND', `${method}: runId: run "${run.id}" has no exported intervention`, 'runId');
  const dir = dirname(manifest.path);
  if (!existsSync(join(dir, MANIFEST_FILE))) throw new ApiFailure('NOT_FOUND', `${method}: runId: the export of run "${run.id}" is gone from ${dir}`, 'runId');
  const model = run.modelId ? store.getModel(run.modelId)?.folder : undefined;
  return { dir, ...(model && { model }) };
}

/** Dot paths of an object's leaves (one level of nesting is enough for configs). */
function flatten(obj: Record<string, unknown>, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v) && !prefix) Object.assign(out, flatten(v as Record<string, unknown>, key));
    else out[key] = JSON.stringify(v);
  }
  return out;
}

function countFiles(dir: string): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? countFiles(join(dir, e.name)) : 1;
  return n;
}

function inside(parent: string, child: string): boolean {
  const rel = relative(resolve(parent), resolve(child));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

export function workHandlers(
  ctx: ApiContext,
): Pick<
  Handlers,
  | 'playground.nextToken'
  | 'playground.attention'
  | 'playground.logitLens'
  | 'models.headPatterns'
  | 'playground.generate'
  | 'jobs.start'
  | 'jobs.cancel'
  | 'jobs.resume'
  | 'jobs.list'
  | 'runs.list'
  | 'runs.get'
  | 'runs.metrics'
  | 'runs.delete'
  | 'runs.compare'
  | 'heads.get'
  | 'directions.get'
> {
  const { store, compute, jobs, hub } = ctx;
  return {
    'playground.nextToken': (r) => compute.call('nextToken', r),
    'playground.attention': (r) => compute.call('attention', r),
    'playground.logitLens': (r) => compute.call('logitLens', r),
    'models.headPatterns': (r) => compute.call('headPatterns', r),
    'playground.generate': ({ intervention, ...r }) => {
      let found: { dir: string; source: string } | undefined;
      if (intervention !== undefined) {
        if (existsSync(join(intervention, MANIFEST_FILE))) found = { dir: resolve(intervention), source: intervention };
        else {
          const run = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(intervention) ? store.getRun(intervention) : undefined;
          if (!run) throw new ApiFailure('NOT_FOUND', `playground.generate: intervention: "${intervention}" is neither a run id nor an export folder (one holding ${MANIFEST_FILE})`, 'intervention');
          found = { dir: exportOf(store, run, 'playground.generate').dir, source: `run ${intervention}` };
        }
      }
      return compute.call('generate', { ...r, ...(found && { intervention: found }) });
    },

    'jobs.start': (req) => {
      if (!(JOB_KINDS as readonly string[]).includes(req.kind)) {
        throw new ApiFailure('UNSUPPORTED', `jobs.start: kind: '${req.kind}' jobs are not available in this version (available: ${JOB_KINDS.join(', ')})`, 'kind');
      }
      const id = jobs.submit(req as JobSpecInput);
      return { jobId: id, runId: id };
    },
    'jobs.cancel': ({ jobId }) => ({ cancelled: jobs.cancel(jobId) }),
    'jobs.resume': ({ runId }) => {
      const id = jobs.resume(runId);
      return { jobId: id, runId: id };
    },
    'jobs.list': () => ({ jobs: hub.list() }),

    'runs.list': ({ filters, sort, limit, offset }) => {
      const q = {
        ...(filters.kind?.length && { kind: filters.kind }),
        ...(filters.status?.length && { status: filters.status }),
        ...(filters.modelId !== undefined && { modelId: filters.modelId }),
        ...(filters.search && { search: filters.search }),
      };
      return { runs: store.listRuns({ ...q, orderBy: sort.by, ...(sort.direction && { direction: sort.direction }), limit, offset }), total: store.countRuns(q) };
    },
    'runs.get': ({ runId }) => ({
      run: requireRun(store, runId, 'runs.get'),
      artifacts: store.listArtifacts(runId),
      metricNames: store.listMetricNames(runId),
      headScoreNames: store.listHeadScoreNames(runId),
      headSelectionNames: store.listHeadSelectionNames(runId),
    }),
    'runs.metrics': ({ runId, names, afterStep }) => {
      requireRun(store, runId, 'runs.metrics');
      const m = store.getMetrics(runId, { ...(names && { names }), ...(afterStep !== undefined && { afterStep }) });
      return { runId, series: Object.fromEntries(Object.entries(m).map(([k, s]) => [k, { steps: s.steps, values: s.values.map(orNull) }])) };
    },
    'runs.delete': ({ runId }) => {
      requireRun(store, runId, 'runs.delete');
      const active = hub.list().find((j) => j.runId === runId && j.state !== 'ended');
      if (active) throw new ApiFailure('BAD_ARGUMENT', `runs.delete: runId: run "${runId}" is ${active.state}; cancel it first`, 'runId');
      const runDir = store.runDir(runId);
      const deleted = store.deleteRun(runId);
      // Only files Subspace made in its own data folder go; an export the user sent elsewhere stays.
      let removedFiles = countFiles(runDir);
      rmSync(runDir, { recursive: true, force: true });
      for (const p of deleted.artifactPaths) {
        if (inside(ctx.dataDir, p) && !inside(runDir, p) && existsSync(p) && statSync(p).isFile()) {
          rmSync(p, { force: true });
          removedFiles++;
        }
      }
      return { deleted: true, removedFiles };
    },
    'runs.compare': ({ runIds }) => {
      const rows = runIds.map((id, i) => {
        const run = store.getRun(id);
        if (!run) throw new ApiFailure('NOT_FOUND', `runs.compare: runIds.${i}: no run with id "${id}"`, `runIds.${i}`);
        const series = store.getMetrics(id);
        const final = Object.fromEntries(Object.entries(series).map(([k, s]) => [k, orNull(s.values.at(-1) ?? NaN)]));
        const { config, ...summary } = run;
        return { run: summary, config, final };
      });
      const flat = rows.map((r) => flatten(r.config));
      const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
      const differingConfig = keys.filter((k) => new Set(flat.map((f) => f[k])).size > 1);
      const sharedMetrics = Object.keys(rows[0].final).filter((k) => rows.every((r) => k in r.final));
      return { runs: rows, differingConfig, sharedMetrics };
    },

    'heads.get': ({ runId }) => {
      requireRun(store, runId, 'heads.get');
      const scores = store.listHeadScoreNames(runId).map((name) => {
        const s = store.getHeadScores(runId, name)!;
        const values = Array.from({ length: s.layers }, (_, l) => Array.from(s.values.subarray(l * s.heads, (l + 1) * s.heads), orNull));
        return { name, layers: s.layers, heads: s.heads, values };
      });
      const selections = store.listHeadSelectionNames(runId).map((name) => ({ name, heads: store.getHeadSelection(runId, name)!.heads }));
      return { runId, scores, selections };
    },
    'directions.get': async ({ runId, topK }) => {
      const { dir: folder, model } = exportOf(store, requireRun(store, runId, 'directions.get'), 'directions.get');
      const r = await compute.call('directions', { dir: folder, topK, ...(model && { model }) });
      return { runId, ...r };
    },
  };
}
