import { cpSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { SubspaceError } from '../../engine/errors.js';
import { isManifestPath, loadArtifact, MANIFEST_FILE, readManifest } from '../../engine/artifacts/native.js';
import { openModel } from '../../engine/open-model.js';
import { loadReft, saveReft } from '../../engine/methods/reft-artifact.js';
import { loadHeads } from '../../engine/methods/heads-artifact.js';
import { exportPyreft, importPyreft } from '../../engine/export/pyreft.js';
import { exportLofitHeads, importLofitHeads } from '../../engine/export/npy.js';
import { writeMergedCheckpoint, type HeadOffset } from '../../engine/export/merged.js';
import { headScoreTable, writeTable } from '../../engine/export/tables.js';
import { validateHeads } from '../../engine/methods/heads.js';
import { openStore } from '../../store/index.js';
import type { Artifact, RunKind, RunSummary } from '../../store/types.js';
import { patchedPromptTokens, runLabel, runResultTables, writeRunTables } from '../../store/run-tables.js';
import { EXPORT_FORMATS, INTERVENTION_FORMATS, runExportFormats } from '../../engine/export/formats.js';
import { note, printJson } from '../output.js';
import { startBackend } from '../backend.js';
import { RunRecorder } from '../record.js';

export { EXPORT_FORMATS };

/** A recorded run as export sees it: its native export folder (if any) and its result artifacts. */
interface RunToExport {
  run: RunSummary;
  artifacts: Artifact[];
  /** The folder of its native export (its manifest artifact), if it wrote one. */
  folder?: string;
  method?: string;
  /** Its model's folder, as recorded. */
  modelFolder?: string;
}

function findRun(id: string): RunToExport {
  const store = openStore();
  try {
    const run = store.getRun(id);
    if (!run) throw new SubspaceError('NOT_FOUND', `no run '${id}' (see: subspace runs)`, 'run');
    const artifacts = store.listArtifacts(id);
    const manifest = artifacts.find((a) => isManifestPath(a.path));
    if (manifest && !existsSync(manifest.path)) throw new SubspaceError('NOT_FOUND', `the export of run '${id}' is gone from ${dirname(manifest.path)}`, manifest.path);
    const folder = manifest ? dirname(manifest.path) : undefined;
    const modelFolder = run.modelId ? store.getModel(run.modelId)?.folder : undefined;
    return { run, artifacts, folder, method: folder ? readManifest(folder).method : undefined, modelFolder };
  } finally {
    store.close();
  }
}

function refuseFormat(r: RunToExport, format: string, hasTables: boolean, missing: string): never {
  const formats = runExportFormats(r.method, hasTables);
  const can = formats.length ? `it exports as ${formats.join(', ')}` : 'it has no export format';
  const tables = hasTables ? '' : ` (csv and json write the result tables of LoFIT, ITI, patch, DAS search, ablate, RepE baseline and transfer runs; this run's figures: subspace show ${r.run.id})`;
  throw new SubspaceError('UNSUPPORTED', `${runLabel(r.run)} has ${missing}, so it cannot be exported as ${format}; ${can}${tables}`, 'format');
}

/** Converts a native export folder (a run's, or one given by path). */
async function exportFolder(program: Command, folder: string, format: string, out: string): Promise<{ method: string; wrote: unknown }> {
  await startBackend(program);
  const manifest = readManifest(folder);
  const m = await openModel(manifest.model.name);
  const refuse = () => {
    throw new SubspaceError('UNSUPPORTED', `${folder} holds a ${manifest.method} export, which cannot be exported as ${format} (it exports as ${(INTERVENTION_FORMATS[manifest.method] ?? ['native']).join(', ')})`, 'format');
  };
  let wrote: unknown;
  if (format === 'native') {
    loadArtifact(folder); // checksum first: never copy a corrupt export
    cpSync(folder, out, { recursive: true });
    wrote = { dir: out };
  } else if (manifest.method === 'reft') {
    const r = loadReft(folder, m.spec);
    if (format !== 'pyreft') refuse();
    wrote = exportPyreft(out, r.placed, r.config, m.spec, m.name);
  } else if (manifest.method !== 'lofit' && manifest.method !== 'iti') {
    refuse();
  } else {
    const h = loadHeads(folder, m.spec);
    if (format === 'lofit-npy') {
      const file = out.endsWith('.npy') ? out : join(out, 'top_heads.npy');
      mkdirSync(dirname(file), { recursive: true });
      exportLofitHeads(file, h.selected, m.spec);
      wrote = { file, heads: h.selected };
    } else if (format === 'csv' || format === 'json') {
      const file = /\.(csv|json)$/.test(out) ? out : join(out, `head-scores.${format}`);
      mkdirSync(dirname(file), { recursive: true });
      writeTable(file, { format, ...headScoreTable(h.scores, { method: h.method, model: m.name, selected: h.selected }) });
      wrote = { file };
    } else if (format === 'merged') {
      const offsets: HeadOffset[] =
        h.method === 'lofit'
          ? h.selected.map(([layer, head], i) => ({ layer, head, vector: h.offsets![i] }))
          : h.iti!.heads.map((x) => ({ layer: x.layer, head: x.head, vector: x.direction.map((v) => v * h.iti!.alpha * x.sigma) }));
      wrote = writeMergedCheckpoint(out, m, offsets);
    } else refuse();
  }
  return { method: manifest.method, wrote };
}

export function registerExportCommands(program: Command): void {
  program
    .command('export <run>')
    .description('export a run (by id, or a native export folder) in a format other tools load; csv and json write its result tables')
    .requiredOption('--format <format>', EXPORT_FORMATS.join(' | '))
    .requiredOption('--out <path>', 'output folder (or one file for lofit-npy, and for csv/json when the run has one table)')
    .option('--json', 'machine-readable summary')
    .action(async (run: string, o: { format: string; out: string; json?: boolean }) => {
      if (!(EXPORT_FORMATS as readonly string[]).includes(o.format)) throw new SubspaceError('BAD_ARGUMENT', `--format must be one of ${EXPORT_FORMATS.join(', ')} (got '${o.format}')`, 'format');
      let method: string;
      let wrote: unknown;
      if (existsSync(join(run, MANIFEST_FILE))) {
        ({ method, wrote } = await exportFolder(program, run, o.format, o.out));
      } else {
        const r = findRun(run);
        const tablesWanted = o.format === 'csv' || o.format === 'json';
        if (r.folder && (!tablesWanted || r.method === 'lofit' || r.method === 'iti')) {
          ({ method, wrote } = await exportFolder(program, r.folder, o.format, o.out));
        } else {
          if (!tablesWanted) refuseFormat(r, o.format, (await runResultTables(r.run, r.artifacts)).length > 0, 'no exported intervention');
          const tables = await runResultTables(r.run, r.artifacts, { positionTokens: (doc) => patchedPromptTokens(r.modelFolder, doc, (n) => note(`note: ${n}`)) });
          if (tables.length === 0) refuseFormat(r, o.format, false, 'no result tables');
          method = r.run.kind;
          wrote = { tables: writeRunTables(tables, o.format as 'csv' | 'json', o.out, r.run) };
        }
      }
      if (o.json) printJson({ run, format: o.format, method, out: o.out, wrote });
      else {
        const files = (wrote as { tables?: { file: string }[] }).tables?.map((t) => t.file);
        console.log(`exported ${method} (${run}) as ${o.format} to ${files ? files.join(', ') : o.out}`);
      }
    });

  program
    .command('import <path>')
    .description('import a native export, a pyreft/pyvene folder or a LoFIT .npy head list as a run')
    .option('--model <ref>', 'the model it belongs to (default: the one a native export names)')
    .option('--json', 'machine-readable summary')
    .action(async (path: string, o: { model?: string; json?: boolean }) => {
      const backend = await startBackend(program);
      if (!existsSync(path)) throw new SubspaceError('NOT_FOUND', `${path} does not exist`, path);
      let kind: RunKind;
      let modelRef = o.model;
      let detail: Record<string, unknown>;
      const isDir = statSync(path).isDirectory();
      if (isDir && existsSync(join(path, MANIFEST_FILE))) {
        const manifest = readManifest(path);
        modelRef ??= manifest.model.name;
        kind = manifest.method as RunKind;
        detail = { format: 'native', method: manifest.method };
      } else if (isDir && existsSync(join(path, 'config.json'))) {
        kind = 'reft';
        detail = { format: 'pyreft' };
      } else if (!isDir && path.endsWith('.npy')) {
        kind = 'lofit';
        detail = { format: 'lofit-npy' };
      } else {
        throw new SubspaceError('BAD_FILE', `${path}: not a Subspace export (manifest.json), a pyreft folder (config.json + intkey_*.bin) or a .npy head list`, path);
      }
      if (!modelRef) throw new SubspaceError('BAD_ARGUMENT', `--model is needed to import ${detail.format} files (they do not name their model)`, 'model');
      const m = await openModel(modelRef, { requireTokenizer: false });
      const rec = new RunRecorder(kind, `imported ${detail.format} ${path.split(/[\\/]/).pop()}`, { importedFrom: path, ...detail }, m, backend.backend);
      const summary = await rec.run(() => {
        const dest = join(rec.store.runDir(rec.runId));
        if (detail.format === 'native') {
          const manifest = readManifest(path);
          // Loading checks the checksum and that the intervention fits the model.
          if (manifest.method === 'reft') loadReft(path, m.spec);
          else loadHeads(path, m.spec);
          cpSync(path, dest, { recursive: true });
        } else if (detail.format === 'pyreft') {
          const r = importPyreft(path, m.spec);
          saveReft(dest, m.name, m.spec, r.config, r.placed, { importedFrom: path, notes: r.notes });
          detail.notes = r.notes;
          for (const p of r.placed) p.intervention.dispose();
        } else {
          const heads = importLofitHeads(path);
          validateHeads(heads, m.spec);
          rec.store.saveHeadSelection(rec.runId, 'imported', heads.map(([layer, head]) => ({ layer, head })));
          detail.heads = heads;
        }
        if (existsSync(dest)) rec.artifacts(dest, `${kind}-import`);
        return { run: rec.runId, kind, model: m.name, ...detail };
      });
      if (o.json) printJson(summary);
      else console.log(`imported ${path} as ${summary.kind} run ${summary.run} for ${summary.model}`);
    });
}
