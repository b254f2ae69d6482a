/**
 * Exporting a recorded run: the formats it has, and runs.export. A native export (ReFT, LoFIT,
 * ITI, DAS) is converted by the compute process's exportRun; csv and json of any other run write
 * its result tables (patching sweeps, DAS searches, ablations, RepE grids, transfer matrices) with
 * the store's run-tables module in the compute process, the files `subspace export` writes.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isManifestPath, readManifest } from '../../engine/artifacts/native.js';
import { errorMessage } from '../../engine/errors.js';
import type { Artifact, Run, Store } from '../../store/index.js';
import { runLabel, runResultTables } from '../../store/run-tables.js';
import { runExportFormats } from '../../engine/export/formats.js';
import type { EXPORT_FORMAT_NAMES } from '../contract.js';
import type { ApiContext } from '../context.js';
import { ApiFailure, type Handlers } from '../dispatch.js';
import { exportOf, requireRun } from './work.js';

type Format = (typeof EXPORT_FORMAT_NAMES)[number];

/** Methods whose csv/json is the head score matrix of their native export, not result tables. */
const HEAD_SCORE_METHODS = ['lofit', 'iti'];

interface ExportPlan {
  formats: Format[];
  intervention?: string;
  tables: string[];
  problem?: string;
  artifacts: Artifact[];
}

/** The formats a run exports in: its native export's conversions, and csv/json when it has tables. */
async function planOf(store: Store, run: Run): Promise<ExportPlan> {
  const artifacts = store.listArtifacts(run.id);
  const problems: string[] = [];
  let intervention: string | undefined;
  const manifest = artifacts.find((a) => isManifestPath(a.path));
  if (manifest) {
    if (!existsSync(manifest.path)) problems.push(`the export of ${runLabel(run)} is gone from ${dirname(manifest.path)}`);
    else {
      try {
        intervention = readManifest(dirname(manifest.path)).method;
      } catch (e) {
        problems.push(errorMessage(e));
      }
    }
  }
  let tables: string[] = [];
  if (intervention && HEAD_SCORE_METHODS.includes(intervention)) tables = ['head-scores'];
  else {
    try {
      // Names only: the token labels of a sweep's columns need the tokenizer, which the export loads.
      tables = (await runResultTables(run, artifacts)).map((t) => t.name);
    } catch (e) {
      problems.push(errorMessage(e));
    }
  }
  const formats: Format[] = runExportFormats(intervention, tables.length > 0);
  return { formats, ...(intervention && { intervention }), tables, ...(problems.length && { problem: problems.join('; ') }), artifacts };
}

function refuse(run: Run, format: Format, plan: ExportPlan): never {
  const can = plan.formats.length ? `it exports as ${plan.formats.join(', ')}` : 'it has no exported intervention and no result tables';
  throw new ApiFailure('UNSUPPORTED', `runs.export: format: ${runLabel(run)} cannot be exported as ${format}; ${can}`, 'format');
}

export function runExportHandlers(ctx: ApiContext): Pick<Handlers, 'runs.export' | 'runs.exportFormats'> {
  const { store, compute } = ctx;
  return {
    'runs.exportFormats': async ({ runId }) => {
      const { artifacts: _artifacts, ...plan } = await planOf(store, requireRun(store, runId, 'runs.exportFormats'));
      return { runId, ...plan };
    },
    'runs.export': async ({ runId, format, dir }) => {
      const run = requireRun(store, runId, 'runs.export');
      const plan = await planOf(store, run);
      const tablesWanted = format === 'csv' || format === 'json';
      if (tablesWanted && !(plan.intervention && HEAD_SCORE_METHODS.includes(plan.intervention))) {
        // A malformed or missing result file: the compute process reports it by name.
        if (plan.tables.length === 0 && !plan.problem) refuse(run, format, plan);
        const { config: _config, ...summary } = run;
        const modelFolder = run.modelId ? store.getModel(run.modelId)?.folder : undefined;
        const r = await compute.call('exportRunTables', { run: summary, artifacts: plan.artifacts, format, out: resolve(dir), ...(modelFolder && { modelFolder }) });
        return { runId, format, method: r.method, out: r.out, tables: r.tables, ...(r.notes.length && { notes: r.notes }) };
      }
      if (!plan.intervention && !plan.problem) refuse(run, format, plan);
      const { dir: folder, model } = exportOf(store, run, 'runs.export');
      const r = await compute.call('exportRun', { dir: folder, format, out: resolve(dir), ...(model && { model }) });
      return { runId, format, method: r.method, out: r.out };
    },
  };
}
