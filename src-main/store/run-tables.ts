/**
 * A recorded run's result tables, built from the JSON results it recorded as
 * artifacts: activation patching sweeps (artifact kind `patch`), DAS searches
 * (`das-search`), head ablations (`ablation`), RepE baselines (`baseline`) and
 * LoFIT cross-task transfer (`transfer`). Values are the file's own numbers
 * (null, an undefined metric, reads as NaN). LoFIT and ITI head scores come
 * from their native export, not from here.
 *
 * `subspace export` and the workbench's run export (in the compute process)
 * both build and write tables with this module, so their files are the same.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { errorMessage, SubspaceError } from '../engine/errors.js';
import { layerHeadTable, writeTable, type Table } from '../engine/export/tables.js';
import { resolveModelRef } from '../engine/io/hf-cache.js';
import { loadTokenizer } from '../engine/io/tokenizer.js';
import { builtinModelsDir } from '../engine/paths.js';
import { loadTask } from '../engine/tasks/registry.js';
import type { TaskExample } from '../engine/tasks/schema.js';
import type { Artifact, RunSummary } from './types.js';

/** Artifact kinds whose JSON file holds tables. */
export const TABLE_ARTIFACT_KINDS = ['patch', 'das-search', 'ablation', 'baseline', 'transfer'] as const;

/** A table and the file stem it is written under (`patch-resid-logit-diff`). */
export interface NamedTable extends Table {
  name: string;
}

type Doc = Record<string, unknown>;

export interface RunTablesOptions {
  /**
   * The token text at each index of a patching sweep over token indices (its first pair's patched
   * prompt), for column labels `<index>:<token>`; without it the columns are the indices alone.
   */
  positionTokens?: (doc: Doc) => string[] | undefined | Promise<string[] | undefined>;
}

class Reader {
  constructor(readonly file: string) {}

  bad(field: string, what: string): never {
    throw new SubspaceError('BAD_FILE', `${this.file}: ${field} ${what}`, this.file);
  }

  ints(doc: Doc, field: string): number[] {
    const v = doc[field];
    if (!Array.isArray(v) || v.some((x) => !Number.isInteger(x))) this.bad(field, 'must be a list of whole numbers');
    return v as number[];
  }

  strings(doc: Doc, field: string): string[] {
    const v = doc[field];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) this.bad(field, 'must be a list of strings');
    return v as string[];
  }

  /** A list of numbers of length n; null (how JSON writes NaN) reads as NaN. */
  row(v: unknown, n: number, field: string): number[] {
    if (!Array.isArray(v) || v.length !== n || v.some((x) => x !== null && typeof x !== 'number')) this.bad(field, `must be a list of ${n} numbers`);
    return (v as (number | null)[]).map((x) => (x === null ? NaN : x));
  }

  /** A rows × cols matrix of numbers. */
  matrix(v: unknown, rows: number, cols: number, field: string): number[][] {
    if (!Array.isArray(v) || v.length !== rows) this.bad(field, `must be a list of ${rows} rows`);
    return (v as unknown[]).map((r, i) => this.row(r, cols, `${field}[${i}]`));
  }
}

/** A file-name-safe form of a label (a causal variable such as `w=x`). */
function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9_.=-]+/g, '_') || '_';
}

const defined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** Column labels of a position axis: role names as they are; token indices as `<index>:<token>` when the tokens are known. */
function positionLabels(positions: string[], tokens: string[] | undefined): string[] {
  if (!tokens || !positions.every((p) => /^\d+$/.test(p))) return positions;
  return positions.map((p) => (tokens[Number(p)] === undefined ? p : `${p}:${tokens[Number(p)]}`));
}

/** Whether a sweep's position axis is token indices (so token labels would help). */
export function sweepOverIndices(doc: Doc): boolean {
  return Array.isArray(doc.positions) && doc.positions.length > 0 && doc.positions.every((p) => typeof p === 'string' && /^\d+$/.test(p));
}

function patchTables(r: Reader, doc: Doc, tokens: string[] | undefined): NamedTable[] {
  const kind = String(doc.kind);
  const metric = String(doc.metric);
  const layers = r.ints(doc, 'layers');
  const meta = defined({
    model: doc.model,
    task: doc.task,
    split: doc.split,
    sweep: kind,
    site: doc.site,
    method: doc.method,
    direction: doc.direction,
    metric,
    variable: doc.variable,
    n: doc.n,
    clean: doc.clean,
    corrupt: doc.corrupt,
    unpatched: doc.unpatched,
  });
  if (!Array.isArray(doc.values)) r.bad('values', 'must be a list');
  const values = doc.values as unknown[];
  if (kind === 'heads' && doc.perPosition !== true) {
    const heads = r.ints(doc, 'heads');
    return [{ name: `patch-heads-${slug(metric)}`, ...layerHeadTable(r.matrix(values, layers.length, heads.length, 'values'), layers, heads, { kind: 'patching', meta }) }];
  }
  const positions = r.strings(doc, 'positions');
  const colLabels = positionLabels(positions, tokens);
  if (kind === 'heads') {
    const heads = r.ints(doc, 'heads');
    if (values.length !== layers.length) r.bad('values', `must be a list of ${layers.length} layers`);
    const matrix: number[][] = [];
    const rowLabels: string[] = [];
    layers.forEach((l, i) => {
      const perHead = r.matrix(values[i], heads.length, positions.length, `values[${i}]`);
      heads.forEach((h, j) => {
        matrix.push(perHead[j]);
        rowLabels.push(`L${l}H${h}`);
      });
    });
    return [{ name: `patch-heads-per-position-${slug(metric)}`, kind: 'patching', matrix, rowLabels, colLabels, corner: 'head', meta }];
  }
  if (kind !== 'resid' && kind !== 'attn' && kind !== 'mlp') r.bad('kind', `must be heads, resid, attn or mlp (got '${kind}')`);
  return [{ name: `patch-${kind}-${slug(metric)}`, kind: 'patching', matrix: r.matrix(values, layers.length, positions.length, 'values'), rowLabels: layers.map(String), colLabels, corner: 'layer', meta }];
}

function dasSearchTables(r: Reader, doc: Doc): NamedTable[] {
  const layers = r.ints(doc, 'layers');
  const positions = r.strings(doc, 'positions');
  const variable = String(doc.variable);
  const meta = defined({
    model: doc.model,
    task: doc.task,
    variable,
    variant: doc.variant,
    component: doc.component,
    dim: doc.dim,
    baseline: doc.baseline,
    changedBaseline: doc.changedBaseline,
    best: doc.best,
    testPairs: doc.testPairs,
    changedPairs: doc.changedPairs,
  });
  const table = (name: string, kind: string, field: string): NamedTable => ({
    name: `${name}-${slug(variable)}`,
    kind,
    matrix: r.matrix(doc[field], layers.length, positions.length, field),
    rowLabels: layers.map(String),
    colLabels: positions,
    corner: 'layer',
    meta,
  });
  return [table('das-iia', 'iia', 'iia'), table('das-changed-iia', 'changed_iia', 'changedIia')];
}

/** The per-head metrics an ablation records, with their table names. */
const ABLATED_METRICS = [
  ['logitDiff', 'ablated-logit-diff'],
  ['accuracy', 'ablated-accuracy'],
  ['preferCorrect', 'ablated-prefer-correct'],
] as const;

function ablationTables(r: Reader, doc: Doc): NamedTable[] {
  if (!Array.isArray(doc.effect) || doc.effect.length === 0 || !Array.isArray(doc.effect[0])) r.bad('effect', 'must be a [layer][head] matrix');
  const L = (doc.effect as unknown[]).length;
  const H = (doc.effect as unknown[][])[0].length;
  const layers = Array.from({ length: L }, (_, l) => l);
  const heads = Array.from({ length: H }, (_, h) => h);
  const meta = defined({ model: doc.model, task: doc.task, split: doc.split, n: doc.n, mode: doc.mode, base: doc.base });
  const out: NamedTable[] = [{ name: 'ablation-effect', ...layerHeadTable(r.matrix(doc.effect, L, H, 'effect'), layers, heads, { kind: 'ablation_effect', meta: { ...meta, value: 'base - ablated logitDiff' } }) }];
  if (Array.isArray(doc.ablated)) {
    for (const [field, name] of ABLATED_METRICS) {
      const m = (doc.ablated as unknown[]).map((row, l) => {
        if (!Array.isArray(row) || row.length !== H) r.bad(`ablated[${l}]`, `must be a list of ${H} heads`);
        return r.row(row.map((x) => (x && typeof x === 'object' ? ((x as Doc)[field] ?? null) : null)), H, `ablated[${l}].${field}`);
      });
      if (m.length !== L) r.bad('ablated', `must be a list of ${L} layers`);
      out.push({ name, ...layerHeadTable(m, layers, heads, { kind: 'ablated', meta: { ...meta, value: `${field} with the head ablated` } }) });
    }
  }
  return out;
}

/** RepE's dev grid (layer × coefficient); RED and LoRA results are single figures, not tables. */
function baselineTables(r: Reader, doc: Doc): NamedTable[] {
  const detail = doc.detail as Doc | undefined;
  if (doc.method !== 'repe' || !detail || !Array.isArray(detail.grid)) return [];
  const grid = detail.grid as { layer: unknown; coefficient: unknown; dev: unknown }[];
  const layers = [...new Set(grid.map((g) => g.layer))];
  const coefficients = [...new Set(grid.map((g) => g.coefficient))];
  if (layers.some((l) => !Number.isInteger(l)) || coefficients.some((c) => typeof c !== 'number')) r.bad('detail.grid', 'must list { layer, coefficient, dev } cells');
  const matrix = layers.map(() => coefficients.map(() => NaN));
  for (const g of grid) matrix[layers.indexOf(g.layer)][coefficients.indexOf(g.coefficient)] = typeof g.dev === 'number' ? g.dev : NaN;
  const meta = defined({ model: doc.model, task: doc.task, metric: doc.metric, split: 'dev', chosen: { layer: detail.layer, coefficient: detail.coefficient } });
  return [{ name: 'repe-dev', kind: 'repe_grid', matrix, rowLabels: layers.map(String), colLabels: coefficients.map((c) => `c=${String(c)}`), corner: 'layer', meta }];
}

/**
 * LoFIT's cross-task transfer matrix: row a, column b is step 2 trained and scored on task a with
 * the heads step 1 selected on task b (the diagonal is each task with its own heads).
 */
function transferTables(r: Reader, doc: Doc): NamedTable[] {
  const tasks = r.strings(doc, 'tasks');
  if (tasks.length === 0) r.bad('tasks', 'must name at least one task');
  const meta = defined({
    model: doc.model,
    backend: doc.backend,
    rows: 'task step 2 trained and scored on',
    columns: 'task whose step-1 head selection was used',
    metric: doc.metric,
    base: doc.base,
    k: doc.k,
    parameters: doc.parameters,
    heads: doc.heads,
    examples: doc.examples,
    settings: doc.settings,
  });
  return [{ name: 'transfer-matrix', kind: 'transfer', matrix: r.matrix(doc.matrix, tasks.length, tasks.length, 'matrix'), rowLabels: tasks, colLabels: tasks, corner: 'trained on \\ heads from', meta }];
}

/** The tables of one recorded JSON result; `tokens` label a sweep's token indices. */
export function resultTables(artifactKind: string, file: string, doc: Doc, tokens?: string[]): NamedTable[] {
  const r = new Reader(file);
  if (artifactKind === 'patch') return patchTables(r, doc, tokens);
  if (artifactKind === 'das-search') return dasSearchTables(r, doc);
  if (artifactKind === 'ablation') return ablationTables(r, doc);
  if (artifactKind === 'baseline') return baselineTables(r, doc);
  if (artifactKind === 'transfer') return transferTables(r, doc);
  return [];
}

/** The JSON result artifacts of a run that may hold tables. */
export function tableArtifacts(artifacts: readonly Artifact[]): Artifact[] {
  return artifacts.filter((a) => (TABLE_ARTIFACT_KINDS as readonly string[]).includes(a.kind) && a.path.endsWith('.json'));
}

function readDoc(run: RunSummary, a: Artifact): Doc {
  if (!existsSync(a.path)) throw new SubspaceError('NOT_FOUND', `the ${a.kind} result of run '${run.id}' is gone from ${a.path}`, a.path);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(a.path, 'utf8'));
  } catch (e) {
    throw new SubspaceError('BAD_FILE', `${a.path}: not valid JSON (${errorMessage(e)})`, a.path);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new SubspaceError('BAD_FILE', `${a.path}: not a JSON object`, a.path);
  return doc as Doc;
}

/**
 * Every table of a run's recorded results, each with the run in its meta; names are unique
 * (a second table of the same name gets `-2`, …). Empty when the run recorded none.
 */
export async function runResultTables(run: RunSummary, artifacts: readonly Artifact[], opts: RunTablesOptions = {}): Promise<NamedTable[]> {
  const out: NamedTable[] = [];
  const seen = new Map<string, number>();
  for (const a of tableArtifacts(artifacts)) {
    const doc = readDoc(run, a);
    const tokens = a.kind === 'patch' && sweepOverIndices(doc) ? await opts.positionTokens?.(doc) : undefined;
    for (const t of resultTables(a.kind, a.path, doc, tokens)) {
      const n = (seen.get(t.name) ?? 0) + 1;
      seen.set(t.name, n);
      out.push({ ...t, name: n === 1 ? t.name : `${t.name}-${n}`, meta: { run: run.id, runKind: run.kind, source: basename(a.path), ...t.meta } });
    }
  }
  return out;
}

/** A run as messages name it: `run '<id>' (<kind>, <status>: <name>)`. */
export const runLabel = (run: RunSummary) => `run '${run.id}' (${run.kind}, ${run.status}: ${run.name})`;

/**
 * The tokens of a sweep's first patched prompt (the corrupt prompt when denoising, the clean one when
 * noising), for column labels of a sweep over token indices. Undefined, with a note, when the model's
 * tokenizer or the task is no longer at hand.
 */
export async function patchedPromptTokens(modelFolder: string | undefined, doc: Doc, onNote: (message: string) => void = () => {}): Promise<string[] | undefined> {
  try {
    const tok = await loadTokenizer(modelFolder ?? resolveModelRef(String(doc.model), builtinModelsDir()).folder);
    const task = await loadTask(String(doc.task));
    const split = (task.splits as Record<string, TaskExample[] | undefined>)[String(doc.split ?? 'test')] ?? [];
    const ids = Array.isArray(doc.examples) ? (doc.examples as unknown[]) : undefined;
    const first = ids ? split.find((e) => e.id === ids[0]) : split[0];
    const prompt = doc.direction === 'noise' ? first?.prompt : first?.source?.prompt;
    if (prompt === undefined) throw new SubspaceError('NOT_FOUND', `the first pair of the sweep is not in task '${task.manifest.name}'`, 'task');
    return tok.tokenStrings(tok.encode(prompt));
  } catch (e) {
    onNote(`token indices label the columns without their tokens (${errorMessage(e)})`);
    return undefined;
  }
}

/** One table file written. */
export interface WrittenTable {
  file: string;
  table: string;
  kind?: string;
  rows: number;
  columns: number;
}

/**
 * Writes tables as `<out>/<name>.<format>`, or (unless `folder` says `out` is always a folder) to `out`
 * itself when it names one .csv/.json file and there is one table.
 */
export function writeRunTables(tables: readonly NamedTable[], format: 'csv' | 'json', out: string, run: RunSummary, opts: { folder?: boolean } = {}): WrittenTable[] {
  const oneFile = !opts.folder && /\.(csv|json)$/.test(out);
  if (oneFile && tables.length > 1) {
    throw new SubspaceError('BAD_ARGUMENT', `--out ${out} names one file, but ${runLabel(run)} has ${tables.length} tables (${tables.map((t) => t.name).join(', ')}): give a folder`, 'out');
  }
  return tables.map((t) => {
    const file = oneFile ? out : join(out, `${t.name}.${format}`);
    mkdirSync(dirname(file), { recursive: true });
    const { name, ...table } = t;
    writeTable(file, { format, ...table });
    return { file, table: name, kind: t.kind, rows: t.rowLabels.length, columns: t.colLabels.length };
  });
}
