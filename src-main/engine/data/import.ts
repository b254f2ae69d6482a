/**
 * Importing datasets from files, in the shapes people have, into TaskExample
 * (src-main/engine/tasks/schema.ts); and writing TaskExamples back as JSONL.
 *
 * Formats
 *   jsonl  one JSON object per line; blank lines are skipped.
 *   csv    a header row, then one record per row; quoted fields may hold commas,
 *          quotes ("") and line ends (see csv.ts). Columns without a header
 *          name (a pandas index column) are ignored.
 *   json   one JSON array of objects; read whole, so only up to 64 MiB.
 *   auto   by extension (.jsonl/.ndjson → jsonl, .csv → csv); otherwise by the
 *          first character: "[" → json, "{" → jsonl, anything else → csv.
 *
 * Shapes, how they are detected and mapped: see shapes.ts. With shape 'auto'
 * the first record that is an object (for CSV: the header) decides.
 * Examples whose data gives no wrong answer borrow one from another example
 * (meta.wrongFrom = 'other-example'): see wrong-filler.ts.
 *
 * Validation. An import takes the whole file or nothing: every bad record is
 * reported with the 1-based line it starts on (for CSV, the physical line where
 * the record begins), the column or key when there is one, and the problem;
 * then no examples are returned. At most `maxErrors` problems are listed
 * (default 1000), followed by one entry saying how many more there were.
 * The file must be UTF-8 (a byte-order mark is accepted and stripped); each
 * line that is not is reported. Given ids must be unique; records without one
 * get `row-{line}`.
 *
 * The file is streamed (1 MiB chunks) and hashed while it is read. With
 * `countOnly` or `onExample`, examples are not kept, so memory stays bounded
 * whatever the file size. `onExample` receives examples as they are read, in
 * order, and stops receiving them at the first problem; since problems can come
 * later in the file, a caller must discard what it received when the result
 * is not ok.
 *
 * What throws (SubspaceError): a missing file (NOT_FOUND), a folder or an
 * unreadable file (BAD_FILE), bad options (BAD_ARGUMENT). Everything about the
 * file's content comes back as { ok: false, errors }.
 */
import { closeSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { basename, dirname, extname, join } from 'node:path';
import { SubspaceError, errorMessage } from '../errors.js';
import { taskExampleSchema, type TaskExample } from '../tasks/schema.js';
import { CsvLineParser, type CsvRecord } from './csv.js';
import { scanJsonArray } from './json-array.js';
import { readLines } from './lines.js';
import { SHAPES, detectShape, mapRecord, missingKeys, normKey, shapeHelp, type DatasetShape } from './shapes.js';
import { WrongFiller } from './wrong-filler.js';

export { SHAPES, type DatasetShape } from './shapes.js';

export const IMPORT_FORMATS = ['jsonl', 'csv', 'json'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** The largest file read as a JSON array (it is read whole). */
export const JSON_ARRAY_MAX_BYTES = 64 * 1024 * 1024;

export interface ImportOptions {
  format?: 'auto' | ImportFormat;
  shape?: 'auto' | DatasetShape;
  /** Problems listed before the rest are only counted (default 1000). */
  maxErrors?: number;
  /** Called after each chunk read and once at the end. */
  onProgress?: (rowsRead: number, bytesRead: number) => void;
  /** Receives each example as it is read instead of collecting them (see above). */
  onExample?: (example: TaskExample) => void;
  /** Validate and count only; `examples` comes back empty. */
  countOnly?: boolean;
}

export interface ImportProblem {
  /** 1-based line where the record starts. */
  line: number;
  /** The column or key concerned, where there is one. */
  column?: string;
  problem: string;
}

export type ImportResult =
  | { ok: true; shape: DatasetShape; format: ImportFormat; examples: TaskExample[]; rows: number; sha256: string }
  | { ok: false; shape?: DatasetShape; format?: ImportFormat; errors: ImportProblem[]; rows: number };

const DEFAULT_MAX_ERRORS = 1000;

/* ------------------------------------------------------------------ helpers */

function statFile(path: string): Stats {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new SubspaceError('NOT_FOUND', `no dataset file at ${path}`, path);
    throw new SubspaceError('BAD_FILE', `cannot read ${path}: ${errorMessage(e)}`, path);
  }
  if (st.isDirectory()) throw new SubspaceError('BAD_FILE', `${path} is a folder, not a dataset file`, path);
  return st;
}

/** The first non-blank character of the file (after a BOM), or '' when there is none in its first 64 KiB. */
function firstChar(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    let i = n >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
    while (i < n && (buf[i] === 32 || buf[i] === 9 || buf[i] === 10 || buf[i] === 13)) i++;
    return i < n ? String.fromCharCode(buf[i]) : '';
  } finally {
    closeSync(fd);
  }
}

function resolveFormat(path: string, format: 'auto' | ImportFormat): ImportFormat {
  if (format !== 'auto') return format;
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.jsonlines') return 'jsonl';
  if (ext === '.csv') return 'csv';
  const c = firstChar(path);
  if (c === '[') return 'json';
  if (c === '{') return 'jsonl';
  return ext === '.json' ? 'json' : 'csv';
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'string' ? 'a string' : `a ${typeof v}`;
}

function shortMessage(e: unknown): string {
  const m = errorMessage(e);
  return m.length > 200 ? m.slice(0, 197) + '...' : m;
}

function quoteShort(s: string): string {
  const q = JSON.stringify(s);
  return q.length > 60 ? q.slice(0, 57) + '..."' : q;
}

function checkOptions(opts: ImportOptions): void {
  if (opts.format !== undefined && opts.format !== 'auto' && !IMPORT_FORMATS.includes(opts.format)) {
    throw new SubspaceError('BAD_ARGUMENT', `unknown format '${String(opts.format)}'; use auto, ${IMPORT_FORMATS.join(', ')}`, 'format');
  }
  if (opts.shape !== undefined && opts.shape !== 'auto' && !SHAPES.includes(opts.shape)) {
    throw new SubspaceError('BAD_ARGUMENT', `unknown shape '${String(opts.shape)}'; use auto, ${SHAPES.join(', ')}`, 'shape');
  }
  if (opts.maxErrors !== undefined && !(Number.isInteger(opts.maxErrors) && opts.maxErrors >= 1)) {
    throw new SubspaceError('BAD_ARGUMENT', `maxErrors must be a positive integer, got ${String(opts.maxErrors)}`, 'maxErrors');
  }
}

/* ----------------------------------------------------------------- importer */

/** The state of one import: records in, examples and problems out. */
class Importer {
  readonly errors: ImportProblem[] = [];
  errorCount = 0;
  private omittedFrom = 0;
  examples: TaskExample[] = [];
  rows = 0;
  shape: DatasetShape | undefined;
  /** Set when reading further is pointless (shape unknown, header unusable). */
  stop = false;
  private readonly givenIds = new Map<string, number>();
  private readonly filler: WrongFiller;
  private readonly maxErrors: number;

  constructor(private readonly opts: ImportOptions) {
    this.maxErrors = opts.maxErrors ?? DEFAULT_MAX_ERRORS;
    this.shape = opts.shape === undefined || opts.shape === 'auto' ? undefined : opts.shape;
    this.filler = new WrongFiller((ex) => this.accept(ex));
  }

  addError(line: number, problem: string, column?: string): void {
    this.errorCount++;
    if (this.errorCount === 1) this.examples = [];
    if (this.errors.length < this.maxErrors) {
      const p: ImportProblem = { line, problem };
      if (column !== undefined) p.column = column;
      this.errors.push(p);
    } else if (this.omittedFrom === 0) {
      this.omittedFrom = line;
    }
  }

  /** Fixes the shape from the first record's keys; false (and an error) when it can't tell. */
  ensureShape(keys: string[], wrongIsList: boolean, line: number, what: string): boolean {
    if (this.shape !== undefined) return true;
    const shape = detectShape(keys, wrongIsList);
    if (shape === undefined) {
      const had = keys.length > 0 ? keys.map((k) => `'${k}'`).join(', ') : 'none';
      this.addError(line, `cannot tell the dataset's shape from the ${what} (${had}); expected one of: ${shapeHelp()}`);
      this.stop = true;
      return false;
    }
    this.shape = shape;
    return true;
  }

  /** One record that is a JSON object, or a CSV row keyed by its header. */
  object(record: Record<string, unknown>, line: number): void {
    if (!this.ensureShape(Object.keys(record), Array.isArray(record.wrong), line, "first record's keys")) return;
    const result = mapRecord(this.shape as DatasetShape, record, line);
    if (!result.ok) {
      for (const p of result.problems) this.addError(line, p.problem, p.column);
      return;
    }
    const id = result.draft.example.id;
    if (id !== `row-${line}`) {
      const before = this.givenIds.get(id);
      if (before !== undefined) {
        this.addError(line, `id ${quoteShort(id)} is already used on line ${before}`, 'id');
        return;
      }
      this.givenIds.set(id, line);
    }
    this.filler.push(result.draft, line);
  }

  /** One JSONL line or JSON array element. */
  json(text: string, line: number): void {
    this.rows++;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      this.addError(line, `invalid JSON: ${shortMessage(e)}`);
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.addError(line, `not a JSON object (got ${typeName(value)})`);
      return;
    }
    this.object(value as Record<string, unknown>, line);
  }

  private accept(example: TaskExample): void {
    if (this.errorCount > 0) return;
    if (this.opts.onExample) this.opts.onExample(example);
    else if (!this.opts.countOnly) this.examples.push(example);
  }

  /**
   * Ends the import: examples still waiting for a wrong answer become a problem
   * (only when nothing else failed: skipped bad rows might have supplied one).
   */
  finish(): void {
    const left = this.filler.finish();
    if (left !== undefined && this.errorCount === 0) {
      this.addError(
        left.line,
        `no wrong answer is given and every example has the same completion ${quoteShort(left.completion)}, ` +
          "so none can be borrowed from another example; add a 'wrong' key or column",
        'wrong',
      );
    }
  }

  failure(format: ImportFormat | undefined): ImportResult {
    const errors = this.errors.slice();
    const more = this.errorCount - errors.length;
    if (more > 0) {
      errors.push({ line: this.omittedFrom, problem: `and ${more} more problem${more === 1 ? '' : 's'} not listed (maxErrors is ${this.maxErrors})` });
    }
    const r: ImportResult = { ok: false, errors, rows: this.rows };
    if (this.shape !== undefined) r.shape = this.shape;
    if (format !== undefined) r.format = format;
    return r;
  }
}

/* ------------------------------------------------------------------ formats */

type Progress = (bytes: number) => void;

async function importJsonl(path: string, imp: Importer, progress: Progress): Promise<{ sha256: string; fatal?: ImportProblem }> {
  const read = await readLines(path, {
    onChunk: progress,
    onLine: (text, line, problem) => {
      if (problem !== undefined) {
        imp.rows++;
        imp.addError(line, problem);
        return;
      }
      if (text.trim() === '') return;
      imp.json(text, line);
      return !imp.stop;
    },
  });
  return { sha256: read.sha256, fatal: read.fatal };
}

async function importCsv(path: string, imp: Importer, progress: Progress): Promise<{ sha256: string; fatal?: ImportProblem }> {
  let header: string[] | undefined;
  let headerOk = false;
  let tainted = false;

  const onRecord = (rec: CsvRecord): boolean => {
    const badEncoding = tainted;
    tainted = false;
    if (header === undefined) {
      header = rec.fields.map((h) => h.trim());
      if (rec.problem !== undefined) imp.addError(rec.line, `header: ${rec.problem}`);
      if (badEncoding || rec.problem !== undefined) {
        imp.stop = true;
        return false;
      }
      const named = header.filter((h) => h !== '');
      const seen = new Map<string, string>();
      for (const h of named) {
        const k = normKey(h);
        const prev = seen.get(k);
        if (prev !== undefined) imp.addError(rec.line, `the header names the column '${h}' twice${prev !== h ? ` (as '${prev}' and '${h}')` : ''}`, h);
        seen.set(k, h);
      }
      if (!imp.ensureShape(named, false, rec.line, 'header')) return false;
      for (const m of missingKeys(imp.shape as DatasetShape, named)) {
        imp.addError(rec.line, `missing column ${m.label} for the ${imp.shape} shape`, m.column);
      }
      headerOk = imp.errorCount === 0;
      if (!headerOk) imp.stop = true;
      return headerOk;
    }
    imp.rows++;
    if (rec.problem !== undefined) imp.addError(rec.line, rec.problem);
    if (rec.fields.length !== header.length) {
      imp.addError(rec.line, `the record has ${rec.fields.length} field${rec.fields.length === 1 ? '' : 's'} but the header has ${header.length} columns`);
      return true;
    }
    if (badEncoding || rec.problem !== undefined) return true;
    const obj: Record<string, unknown> = {};
    for (let k = 0; k < header.length; k++) if (header[k] !== '') obj[header[k]] = rec.fields[k];
    imp.object(obj, rec.line);
    return !imp.stop;
  };

  const parser = new CsvLineParser(onRecord);
  const read = await readLines(path, {
    onChunk: progress,
    onLine: (text, line, problem) => {
      if (problem !== undefined) {
        imp.addError(line, problem);
        tainted = true;
      }
      const go = parser.pushLine(text, line);
      if (!parser.inRecord) tainted = false;
      return go && !imp.stop;
    },
  });
  if (!read.stopped && read.fatal === undefined) parser.end();
  if (read.fatal === undefined && !imp.stop && imp.errorCount === 0) {
    if (header === undefined) imp.addError(1, 'the file has no header row and no records (only blank lines)');
    else if (imp.rows === 0) imp.addError(1, 'the file has a header row but no records');
  }
  return { sha256: read.sha256, fatal: read.fatal };
}

async function importJsonArray(path: string, size: number, imp: Importer, progress: Progress): Promise<{ sha256: string; fatal?: ImportProblem }> {
  if (size > JSON_ARRAY_MAX_BYTES) {
    const mb = (n: number): string => `${Math.round(n / (1024 * 1024))} MiB`;
    imp.addError(1, `the file is too large to read as one JSON array (${mb(size)}; the limit is ${mb(JSON_ARRAY_MAX_BYTES)}); convert it to JSONL, one object per line`);
    return { sha256: '' };
  }
  const lines: string[] = [];
  const read = await readLines(path, {
    onChunk: progress,
    onLine: (text, line, problem) => {
      if (problem !== undefined) imp.addError(line, problem);
      lines.push(text);
    },
  });
  if (read.fatal !== undefined || imp.errorCount > 0) return { sha256: read.sha256, fatal: read.fatal };
  const scan = scanJsonArray(lines.join('\n'));
  lines.length = 0;
  let p = 0;
  for (const el of scan.elements) {
    // Problems with the array itself go in line order among the elements' own.
    while (p < scan.problems.length && scan.problems[p].line <= el.line) {
      imp.addError(scan.problems[p].line, scan.problems[p].problem);
      p++;
    }
    imp.json(el.text, el.line);
    if (imp.stop) return { sha256: read.sha256 };
  }
  for (; p < scan.problems.length; p++) imp.addError(scan.problems[p].line, scan.problems[p].problem);
  return { sha256: read.sha256 };
}

/* ---------------------------------------------------------------------- API */

/**
 * Reads a dataset file into TaskExamples. See the top of this file for the
 * formats, validation and what throws; shapes.ts for the shapes.
 */
export async function importDataset(path: string, opts: ImportOptions = {}): Promise<ImportResult> {
  checkOptions(opts);
  const st = statFile(path);
  const imp = new Importer(opts);
  const explicitFormat = opts.format === undefined || opts.format === 'auto' ? undefined : opts.format;
  if (st.size === 0) {
    imp.addError(1, 'the file is empty');
    return imp.failure(explicitFormat);
  }

  let format: ImportFormat;
  let run: { sha256: string; fatal?: ImportProblem };
  let bytesRead = 0;
  const progress: Progress = (bytes) => {
    bytesRead = bytes;
    opts.onProgress?.(imp.rows, bytes);
  };
  try {
    format = resolveFormat(path, opts.format ?? 'auto');
    if (format === 'csv') run = await importCsv(path, imp, progress);
    else if (format === 'jsonl') run = await importJsonl(path, imp, progress);
    else run = await importJsonArray(path, st.size, imp, progress);
  } catch (e) {
    if (e instanceof SubspaceError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('E')) throw new SubspaceError('BAD_FILE', `cannot read ${path}: ${errorMessage(e)}`, path);
    throw e;
  }

  if (run.fatal !== undefined) {
    imp.addError(run.fatal.line, run.fatal.problem);
    return imp.failure(format);
  }
  if (!imp.stop) imp.finish();
  if (imp.errorCount === 0 && imp.rows === 0) imp.addError(1, format === 'json' ? 'the JSON array is empty' : 'the file has no records (only blank lines)');
  opts.onProgress?.(imp.rows, bytesRead);
  if (imp.errorCount > 0) return imp.failure(format);
  return { ok: true, shape: imp.shape as DatasetShape, format, examples: imp.examples, rows: imp.rows, sha256: run.sha256 };
}

/**
 * Writes examples as JSONL, one TaskExample per line (the 'native' shape, which
 * importDataset detects and reads back unchanged). Every example is checked
 * against the TaskExample schema first, ids must be unique, and prompts and
 * completions must not be blank; a bad one throws BAD_ARGUMENT naming it and
 * nothing is written. The file is written through a temporary file in the same
 * folder and renamed into place. Returns the rows written and the file's sha256
 * (the same hash importDataset reports for it).
 */
export async function exportDatasetJsonl(
  examples: Iterable<TaskExample> | AsyncIterable<TaskExample>,
  path: string,
): Promise<{ rows: number; sha256: string }> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const hash = createHash('sha256');
  const ids = new Map<string, number>();
  let rows = 0;
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'w');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SubspaceError('NOT_FOUND', `the folder ${dirname(path)} does not exist`, path);
    throw new SubspaceError('BAD_FILE', `cannot write ${path}: ${errorMessage(e)}`, path);
  }
  const handle = fh;
  let done = false;
  try {
    let buffer = '';
    const flush = async (): Promise<void> => {
      if (buffer === '') return;
      const bytes = Buffer.from(buffer, 'utf8');
      hash.update(bytes);
      await handle.write(bytes);
      buffer = '';
    };
    for await (const ex of examples) {
      const parsed = taskExampleSchema.safeParse(ex);
      const where = `example ${rows}${ex && typeof ex.id === 'string' ? ` (id ${quoteShort(ex.id)})` : ''}`;
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const at = issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
        throw new SubspaceError('BAD_ARGUMENT', `${where} is not a valid TaskExample: ${at}${issue.message}`, 'examples');
      }
      if (parsed.data.prompt.trim() === '' || parsed.data.completion.trim() === '') {
        throw new SubspaceError('BAD_ARGUMENT', `${where} has a blank prompt or completion`, 'examples');
      }
      const before = ids.get(parsed.data.id);
      if (before !== undefined) throw new SubspaceError('BAD_ARGUMENT', `${where} repeats the id of example ${before}`, 'examples');
      ids.set(parsed.data.id, rows);
      buffer += JSON.stringify(parsed.data) + '\n';
      rows++;
      if (buffer.length >= 1 << 20) await flush();
    }
    await flush();
    await handle.sync();
    fh = undefined;
    await handle.close();
    await rename(tmp, path);
    done = true;
  } catch (e) {
    if (e instanceof SubspaceError) throw e;
    throw new SubspaceError('BAD_FILE', `cannot write ${path}: ${errorMessage(e)}`, path);
  } finally {
    if (fh !== undefined) await fh.close().catch(() => undefined);
    if (!done) await rm(tmp, { force: true });
  }
  return { rows, sha256: hash.digest('hex') };
}
