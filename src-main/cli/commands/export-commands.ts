import { cpSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { SubspaceError } from '../../engine/errors.js';
import { loadArtifact, MANIFEST_FILE, readManifest } from '../../engine/artifacts/native.js';
import { openModel } from '../../engine/open-model.js';
import { loadReft, saveReft } from '../../engine/methods/reft-artifact.js';
import { loadHeads } from '../../engine/methods/heads-artifact.js';
import { exportPyreft, importPyreft } from '../../engine/export/pyreft.js';
import { exportLofitHeads, importLofitHeads } from '../../engine/export/npy.js';
import { writeMergedCheckpoint, type HeadOffset } from '../../engine/export/merged.js';
import { headScoreTable, writeTable } from '../../engine/export/tables.js';
import { validateHeads } from '../../engine/methods/heads.js';
import { openStore } from '../../store/index.js';
import type { RunKind } from '../../store/types.js';
import { printJson } from '../output.js';
import { startBackend } from '../backend.js';
import { RunRecorder } from '../record.js';

export const EXPORT_FORMATS = ['native', 'pyreft', 'lofit-npy', 'merged', 'csv', 'json'] as const;

/** The native export folder a run wrote (the folder of its manifest artifact). */
function runFolder(id: string): string {
  const store = openStore();
  try {
    if (!store.getRun(id)) throw new SubspaceError('NOT_FOUND', `no run '${id}' (see: subspace runs)`, 'run');
    const manifest = store.listArtifacts(id).find((a) => a.path.endsWith(`/${MANIFEST_FILE}`) || a.path.endsWith(`\\${MANIFEST_FILE}`));
    if (!manifest) throw new SubspaceError('NOT_FOUND', `run '${id}' has no exported intervention to convert`, 'run');
    return dirname(manifest.path);
  } finally {
    store.close();
  }
}

export function registerExportCommands(program: Command): void {
  program
    .command('export <run>')
    .description('export a run (by id, or a native export folder) in a format other tools load')
    .requiredOption('--format <format>', EXPORT_FORMATS.join(' | '))
    .requiredOption('--out <path>', 'output folder (or file for lofit-npy/csv/json)')
    .option('--json', 'machine-readable summary')
    .action(async (run: string, o: { format: string; out: string; json?: boolean }) => {
      if (!(EXPORT_FORMATS as readonly string[]).includes(o.format)) throw new SubspaceError('BAD_ARGUMENT', `--format must be one of ${EXPORT_FORMATS.join(', ')} (got '${o.format}')`, 'format');
      await startBackend(program);
      const folder = existsSync(join(run, MANIFEST_FILE)) ? run : runFolder(run);
      const manifest = readManifest(folder);
      const m = await openModel(manifest.model.name);
      const refuse = () => {
        throw new SubspaceError('UNSUPPORTED', `a ${manifest.method} run cannot be exported as ${o.format}`, 'format');
      };
      let wrote: unknown;
      if (o.format === 'native') {
        loadArtifact(folder); // checksum first: never copy a corrupt export
        cpSync(folder, o.out, { recursive: true });
        wrote = { dir: o.out };
      } else if (manifest.method === 'reft') {
        const r = loadReft(folder, m.spec);
        if (o.format !== 'pyreft') refuse();
        wrote = exportPyreft(o.out, r.placed, r.config, m.spec, m.name);
      } else {
        const h = loadHeads(folder, m.spec);
        if (o.format === 'lofit-npy') {
          const file = o.out.endsWith('.npy') ? o.out : join(o.out, 'top_heads.npy');
          mkdirSync(dirname(file), { recursive: true });
          exportLofitHeads(file, h.selected, m.spec);
          wrote = { file, heads: h.selected };
        } else if (o.format === 'csv' || o.format === 'json') {
          const file = /\.(csv|json)$/.test(o.out) ? o.out : join(o.out, `head-scores.${o.format}`);
          mkdirSync(dirname(file), { recursive: true });
          writeTable(file, { format: o.format, ...headScoreTable(h.scores, { method: h.method, model: m.name, selected: h.selected }) });
          wrote = { file };
        } else if (o.format === 'merged') {
          const offsets: HeadOffset[] =
            h.method === 'lofit'
              ? h.selected.map(([layer, head], i) => ({ layer, head, vector: h.offsets![i] }))
              : h.iti!.heads.map((x) => ({ layer: x.layer, head: x.head, vector: x.direction.map((v) => v * h.iti!.alpha * x.sigma) }));
          wrote = writeMergedCheckpoint(o.out, m, offsets);
        } else refuse();
      }
      if (o.json) printJson({ run, format: o.format, method: manifest.method, out: o.out, wrote });
      else console.log(`exported ${manifest.method} (${run}) as ${o.format} to ${o.out}`);
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
