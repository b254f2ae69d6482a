/**
 * Compute-process work on a run's exported intervention: its learned
 * directions (with the tokens they promote), and exports in the formats other
 * tools load (the same conversions as `subspace export`); and a run's result
 * tables as CSV or JSON, built and written by the store's run-tables module as
 * `subspace export` does.
 */
import { cpSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadArtifact, readManifest } from '../../engine/artifacts/native.js';
import { errorMessage, SubspaceError } from '../../engine/errors.js';
import { writeMergedCheckpoint, type HeadOffset } from '../../engine/export/merged.js';
import { exportLofitHeads } from '../../engine/export/npy.js';
import { exportPyreft } from '../../engine/export/pyreft.js';
import { headScoreTable, writeTable } from '../../engine/export/tables.js';
import type { LoadedModel } from '../../engine/io/model-folder.js';
import { directionTokens, learnedDirections } from '../../engine/methods/directions.js';
import { loadHeads } from '../../engine/methods/heads-artifact.js';
import { loadReft } from '../../engine/methods/reft-artifact.js';
import { patchedPromptTokens, runLabel, runResultTables, writeRunTables, type WrittenTable } from '../../store/run-tables.js';
import type { Artifact, RunSummary } from '../../store/types.js';
import type { EXPORT_FORMAT_NAMES } from '../contract.js';

export interface DirectionOut {
  label: string;
  layer: number;
  head?: number;
  vector: number[];
  top?: { token: string; score: number }[];
  bottom?: { token: string; score: number }[];
}

/** The model an export was made for, by the name in its manifest. */
export function exportModelName(dir: string): string {
  return readManifest(dir).model.name;
}

export function directionsOf(m: LoadedModel, dir: string, topK: number): { method: string; directions: DirectionOut[] } {
  const manifest = readManifest(dir);
  if (manifest.method === 'reft') {
    const r = loadReft(dir, m.spec);
    try {
      const dirs = learnedDirections(r.placed);
      let tokens: ReturnType<typeof directionTokens> | undefined;
      if (topK > 0 && m.tokenizer) {
        try {
          tokens = directionTokens(m.model, m.tokenizer, r.config, dirs, topK);
        } catch (e) {
          // Directions in a space the unembedding cannot read (e.g. MLP neurons of a gated MLP): vectors only.
          if (!(e instanceof SubspaceError && e.code === 'UNSUPPORTED')) throw e;
        }
      }
      const strip = (xs: { token: string; score: number }[]) => xs.map((x) => ({ token: x.token, score: x.score }));
      return {
        method: 'reft',
        directions: dirs.map((d, i) => ({
          label: d.label,
          layer: d.layer,
          vector: Array.from(d.vector),
          ...(tokens && { top: strip(tokens[i].top), bottom: strip(tokens[i].bottom) }),
        })),
      };
    } finally {
      r.placed.forEach((p) => p.intervention.dispose());
    }
  }
  if (manifest.method === 'lofit' || manifest.method === 'iti') {
    const h = loadHeads(dir, m.spec);
    if (h.method === 'lofit') {
      return { method: 'lofit', directions: h.selected.map(([layer, head], i) => ({ label: `L${layer}H${head} offset`, layer, head, vector: Array.from(h.offsets![i]) })) };
    }
    return { method: 'iti', directions: h.iti!.heads.map((x) => ({ label: `L${x.layer}H${x.head} direction`, layer: x.layer, head: x.head, vector: Array.from(x.direction) })) };
  }
  throw new SubspaceError('UNSUPPORTED', `${dir} holds a ${manifest.method} export, which has no learned directions`, 'runId');
}

export type ExportFormat = (typeof EXPORT_FORMAT_NAMES)[number];

function makeFolder(out: string): void {
  try {
    mkdirSync(out, { recursive: true });
  } catch (e) {
    throw new SubspaceError('BAD_ARGUMENT', `dir: cannot create ${out} (${errorMessage(e)})`, 'dir');
  }
}

export interface RunTablesArgs {
  run: RunSummary;
  artifacts: Artifact[];
  format: 'csv' | 'json';
  /** The folder the tables go into, one `<table>.<format>` each. */
  out: string;
  /** The run's model folder, for the tokens that label a sweep's token indices. */
  modelFolder?: string;
}

export interface RunTablesResult {
  method: string;
  out: string;
  tables: WrittenTable[];
  /** What was left out, e.g. token labels when the tokenizer or task is gone. */
  notes: string[];
}

/** Writes every result table of a run (patching, DAS search, ablation, RepE, transfer) into the folder `out`. */
export async function exportRunTables({ run, artifacts, format, out, modelFolder }: RunTablesArgs): Promise<RunTablesResult> {
  const notes = new Set<string>();
  const tables = await runResultTables(run, artifacts, { positionTokens: (doc) => patchedPromptTokens(modelFolder, doc, (n) => notes.add(n)) });
  if (tables.length === 0) throw new SubspaceError('UNSUPPORTED', `${runLabel(run)} has no result tables, so it cannot be exported as ${format}`, 'format');
  makeFolder(out);
  return { method: run.kind, out, tables: writeRunTables(tables, format, out, run, { folder: true }), notes: [...notes] };
}

/** Writes a run's export in `format` into the folder `out`; returns the file or folder written. */
export function exportRunFiles(m: LoadedModel, dir: string, format: ExportFormat, out: string): { method: string; out: string } {
  const manifest = readManifest(dir);
  const refuse = (): never => {
    throw new SubspaceError('UNSUPPORTED', `a ${manifest.method} run cannot be exported as ${format}`, 'format');
  };
  makeFolder(out);
  if (format === 'native') {
    loadArtifact(dir); // checksum first: never copy a corrupt export
    cpSync(dir, out, { recursive: true });
    return { method: manifest.method, out };
  }
  if (manifest.method === 'reft') {
    if (format !== 'pyreft') refuse();
    const r = loadReft(dir, m.spec);
    try {
      exportPyreft(out, r.placed, r.config, m.spec, m.name);
    } finally {
      r.placed.forEach((p) => p.intervention.dispose());
    }
    return { method: 'reft', out };
  }
  if (manifest.method !== 'lofit' && manifest.method !== 'iti') refuse();
  const h = loadHeads(dir, m.spec);
  if (format === 'lofit-npy') {
    const file = join(out, 'top_heads.npy');
    exportLofitHeads(file, h.selected, m.spec);
    return { method: h.method, out: file };
  }
  if (format === 'csv' || format === 'json') {
    const file = join(out, `head-scores.${format}`);
    mkdirSync(dirname(file), { recursive: true });
    writeTable(file, { format, ...headScoreTable(h.scores, { method: h.method, model: m.name, selected: h.selected }) });
    return { method: h.method, out: file };
  }
  if (format === 'merged') {
    const offsets: HeadOffset[] =
      h.method === 'lofit'
        ? h.selected.map(([layer, head], i) => ({ layer, head, vector: h.offsets![i] }))
        : h.iti!.heads.map((x) => ({ layer: x.layer, head: x.head, vector: x.direction.map((v) => v * h.iti!.alpha * x.sigma) }));
    writeMergedCheckpoint(out, m, offsets);
    return { method: h.method, out };
  }
  return refuse();
}
