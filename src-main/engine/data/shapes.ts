/**
 * The dataset shapes the importer understands, how each is recognised from a
 * record's keys, and how one record becomes a TaskExample.
 *
 * Keys are matched loosely: case is ignored and spaces, "_" and "-" are the same
 * ("Best Answer" = "best_answer"). Every shape also takes an optional `id`
 * (a non-empty string, or an integer); without one the example's id is
 * `row-{line}`. Values that are `null` or "" count as absent.
 *
 * Mapping rules (texts are kept exactly as given unless said otherwise):
 *
 * native        TaskExample objects, as exportDatasetJsonl writes them. Checked
 *               against the TaskExample schema; nothing is changed.
 *
 * completion    {prompt, completion, wrong?} — `chosen` is an alias of
 *               `completion`, `rejected` of `wrong` (both may be given; their
 *               entries are joined). `wrong` is a string or a list of strings.
 *               Entries equal to the completion, and repeats, are dropped.
 *
 * instruction   {instruction, input?, output, wrong?} (Alpaca / pyreft style)
 *               prompt = instruction, or instruction + "\n" + input when input
 *               is given; completion = output, verbatim (no space is added:
 *               put any separator you need into the data or a template).
 *               `wrong` / `rejected` as for completion.
 *
 * truthfulqa    {Question, Best Answer, Correct Answers, Incorrect Answers}
 *               (extra columns such as Type, Category, Source are ignored).
 *               The answer fields are ";"-separated strings (the CSV) or lists
 *               (the Hugging Face JSON); each answer is trimmed, empty ones dropped.
 *               prompt = "Q: {Question}\nA:", completion = " {Best Answer}",
 *               correct = [" " + each correct answer] with the best answer put
 *               first when the list lacks it, wrong = [" " + each incorrect answer].
 *
 * counterfactual {base, source, base_label, source_label}
 *               prompt = base, completion = base_label,
 *               source = {prompt: source, completion: source_label},
 *               wrong = [source_label] when it differs from base_label.
 *
 * When a completion, instruction or counterfactual row gives no usable wrong
 * answer, the example is returned without `wrong` and `needsWrong` set; the
 * importer then borrows another example's completion (see wrong-filler.ts).
 */
import { taskExampleSchema, type TaskExample } from '../tasks/schema.js';

export const SHAPES = ['native', 'completion', 'instruction', 'truthfulqa', 'counterfactual'] as const;
export type DatasetShape = (typeof SHAPES)[number];

/** What each shape needs, as people write the keys; for messages. */
export const SHAPE_KEYS: Readonly<Record<DatasetShape, string>> = {
  native: '{prompt, completion, wrong: [...]} (TaskExample)',
  completion: '{prompt, completion (or chosen), wrong/rejected?}',
  instruction: '{instruction, input?, output}',
  truthfulqa: '{Question, Best Answer, Correct Answers, Incorrect Answers}',
  counterfactual: '{base, source, base_label, source_label}',
};

/** Required keys per shape: each entry is the display name and its accepted (normalised) spellings. */
const REQUIRED: Readonly<Record<DatasetShape, readonly { name: string; keys: readonly string[] }[]>> = {
  native: [
    { name: 'prompt', keys: ['prompt'] },
    { name: 'completion', keys: ['completion'] },
    { name: 'wrong', keys: ['wrong'] },
  ],
  completion: [
    { name: 'prompt', keys: ['prompt'] },
    { name: 'completion', keys: ['completion', 'chosen'] },
  ],
  instruction: [
    { name: 'instruction', keys: ['instruction'] },
    { name: 'output', keys: ['output'] },
  ],
  truthfulqa: [
    { name: 'Question', keys: ['question'] },
    { name: 'Best Answer', keys: ['best_answer'] },
    { name: 'Correct Answers', keys: ['correct_answers'] },
    { name: 'Incorrect Answers', keys: ['incorrect_answers'] },
  ],
  counterfactual: [
    { name: 'base', keys: ['base'] },
    { name: 'source', keys: ['source'] },
    { name: 'base_label', keys: ['base_label'] },
    { name: 'source_label', keys: ['source_label'] },
  ],
};

/** "Best Answer" → "best_answer". */
export function normKey(key: string): string {
  return key.trim().toLowerCase().replace(/[\s_-]+/g, '_');
}

/** The required columns that `keys` lacks (for a CSV header check): the name, and how to say it. */
export function missingKeys(shape: DatasetShape, keys: Iterable<string>): { column: string; label: string }[] {
  const have = new Set<string>();
  for (const k of keys) have.add(normKey(k));
  return REQUIRED[shape]
    .filter((r) => !r.keys.some((k) => have.has(k)))
    .map((r) => ({ column: r.name, label: r.keys.length > 1 ? `'${r.name}' (or '${r.keys.slice(1).join("', '")}')` : `'${r.name}'` }));
}

/**
 * The shape a record's keys point to, or undefined. `wrongIsList` says whether
 * the record's `wrong` value is an array (what tells native examples apart).
 * In order: native {prompt, completion, wrong: [..]} (exact keys); truthfulqa
 * (question plus any of the answer columns); counterfactual (base_label or
 * source_label, or base and source); instruction (instruction); completion (prompt).
 * A partial match picks the shape, so the missing keys can be named.
 */
export function detectShape(keys: Iterable<string>, wrongIsList: boolean): DatasetShape | undefined {
  const raw = new Set<string>();
  const k = new Set<string>();
  for (const key of keys) {
    raw.add(key);
    k.add(normKey(key));
  }
  // Native examples are matched on the exact keys the schema uses.
  if (raw.has('prompt') && raw.has('completion') && raw.has('wrong') && wrongIsList) return 'native';
  if (k.has('question') && (k.has('best_answer') || k.has('correct_answers') || k.has('incorrect_answers'))) return 'truthfulqa';
  if (k.has('base_label') || k.has('source_label') || (k.has('base') && k.has('source'))) return 'counterfactual';
  if (k.has('instruction')) return 'instruction';
  if (k.has('prompt')) return 'completion';
  return undefined;
}

export function shapeHelp(): string {
  return SHAPES.map((s) => `${s} ${SHAPE_KEYS[s]}`).join('; ');
}

export interface RowProblem {
  column?: string;
  problem: string;
}

/** A mapped example; `wrong` may still be empty when `needsWrong` is set. */
export interface Draft {
  example: TaskExample;
  needsWrong: boolean;
}

export type MapResult = { ok: true; draft: Draft } | { ok: false; problems: RowProblem[] };

/** A record's values by normalised key, remembering each key as written. */
class Fields {
  private readonly map = new Map<string, { key: string; value: unknown }>();
  readonly problems: RowProblem[] = [];

  constructor(record: Record<string, unknown>) {
    for (const key of Object.keys(record)) {
      const nk = normKey(key);
      if (!this.map.has(nk)) this.map.set(nk, { key, value: record[key] });
    }
  }

  private find(keys: readonly string[]): { key: string; value: unknown } | undefined {
    for (const k of keys) {
      const f = this.map.get(k);
      if (f !== undefined && f.value !== null && f.value !== undefined && f.value !== '') return f;
    }
    // Present but empty: report against the first spelling found.
    for (const k of keys) {
      const f = this.map.get(k);
      if (f !== undefined) return f;
    }
    return undefined;
  }

  /** A required, non-blank string. */
  text(name: string, keys: readonly string[] = [normKey(name)]): string | undefined {
    const f = this.find(keys);
    const alts = keys.length > 1 ? ` (or '${keys.slice(1).join("', '")}')` : '';
    if (f === undefined) {
      this.problems.push({ column: name, problem: `missing key '${name}'${alts}` });
      return undefined;
    }
    return this.check(f.key, f.value, true);
  }

  /** An optional string: undefined when absent, null or "". */
  optionalText(keys: readonly string[]): string | undefined {
    const f = this.find(keys);
    if (f === undefined || f.value === null || f.value === '') return undefined;
    return this.check(f.key, f.value, false);
  }

  private check(column: string, value: unknown, required: boolean): string | undefined {
    if (value === null || value === undefined) {
      this.problems.push({ column, problem: `'${column}' is null` });
      return undefined;
    }
    if (typeof value !== 'string') {
      this.problems.push({ column, problem: `'${column}' should be a string, got ${typeName(value)}` });
      return undefined;
    }
    if (value.trim() === '') {
      this.problems.push({ column, problem: required ? `'${column}' is empty` : `'${column}' is blank` });
      return undefined;
    }
    return value;
  }

  /**
   * A list of strings given as a list or one string (split on `separator` when
   * given, each piece trimmed and empty pieces dropped). Absent → [].
   */
  list(keys: readonly string[], separator?: string, required?: string): string[] {
    const f = this.find(keys);
    if (f === undefined || f.value === null || f.value === '') {
      if (required !== undefined) {
        const problem = f === undefined ? `missing key '${required}'` : `'${f.key}' is empty`;
        this.problems.push({ column: required, problem });
      }
      return [];
    }
    const { key, value } = f;
    let items: string[];
    if (typeof value === 'string') {
      items = separator === undefined ? [value] : value.split(separator);
    } else if (Array.isArray(value)) {
      items = [];
      for (let i = 0; i < value.length; i++) {
        const v = value[i];
        if (typeof v !== 'string') {
          this.problems.push({ column: key, problem: `'${key}'[${i}] should be a string, got ${typeName(v)}` });
          return [];
        }
        items.push(v);
      }
    } else {
      this.problems.push({ column: key, problem: `'${key}' should be a string or a list of strings, got ${typeName(value)}` });
      return [];
    }
    if (separator !== undefined) {
      items = items.map((s) => s.trim()).filter((s) => s !== '');
    } else {
      for (const s of items) {
        if (s.trim() === '') {
          this.problems.push({ column: key, problem: `'${key}' holds an empty answer` });
          return [];
        }
      }
    }
    if (required !== undefined && items.length === 0) {
      this.problems.push({ column: key, problem: `'${key}' holds no answers` });
    }
    return items;
  }

  /** The given id as a string, or the default. */
  id(fallback: string): string {
    const f = this.map.get('id');
    if (f === undefined || f.value === null || f.value === '') return fallback;
    if (typeof f.value === 'string') {
      if (f.value.trim() === '') {
        this.problems.push({ column: f.key, problem: `'${f.key}' is blank` });
        return fallback;
      }
      return f.value;
    }
    if (typeof f.value === 'number' && Number.isInteger(f.value)) return String(f.value);
    this.problems.push({ column: f.key, problem: `'${f.key}' should be a string or an integer, got ${typeName(f.value)}` });
    return fallback;
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return typeof v === 'string' ? 'a string' : `a ${typeof v}`;
}

/** Drops repeats and anything in `exclude`. */
function distinct(items: readonly string[], exclude: readonly string[]): string[] {
  const seen = new Set(exclude);
  const out: string[] = [];
  for (const s of items) {
    if (!seen.has(s)) {
      seen.add(s);
      out.push(s);
    }
  }
  return out;
}

const WRONG_KEYS = ['wrong', 'rejected'] as const;

function wrongAnswers(f: Fields, completion: string | undefined): string[] {
  const all: string[] = [];
  for (const k of WRONG_KEYS) all.push(...f.list([k]));
  return completion === undefined ? all : distinct(all, [completion]);
}

function draft(example: TaskExample, wrong: string[]): Draft {
  if (wrong.length > 0) {
    example.wrong = wrong;
    return { example, needsWrong: false };
  }
  example.wrong = [];
  return { example, needsWrong: true };
}

/** Maps one record (a JSON object, or a CSV row keyed by header) of a known shape. */
export function mapRecord(shape: DatasetShape, record: Record<string, unknown>, line: number): MapResult {
  const fallbackId = `row-${line}`;
  if (shape === 'native') return mapNative(record, fallbackId);

  const f = new Fields(record);
  const id = f.id(fallbackId);
  let result: Draft | undefined;

  switch (shape) {
    case 'completion': {
      const prompt = f.text('prompt');
      const completion = f.text('completion', ['completion', 'chosen']);
      const wrong = wrongAnswers(f, completion);
      if (prompt !== undefined && completion !== undefined) result = draft({ id, prompt, completion, wrong: [] }, wrong);
      break;
    }
    case 'instruction': {
      const instruction = f.text('instruction');
      const input = f.optionalText(['input']);
      const output = f.text('output');
      const wrong = wrongAnswers(f, output);
      if (instruction !== undefined && output !== undefined) {
        const prompt = input === undefined ? instruction : `${instruction}\n${input}`;
        result = draft({ id, prompt, completion: output, wrong: [] }, wrong);
      }
      break;
    }
    case 'truthfulqa': {
      const question = f.text('Question', ['question']);
      const best = f.text('Best Answer', ['best_answer']);
      const correct = f.list(['correct_answers'], ';', 'Correct Answers');
      const incorrect = f.list(['incorrect_answers'], ';', 'Incorrect Answers');
      if (question !== undefined && best !== undefined && correct.length > 0 && incorrect.length > 0) {
        const completion = ' ' + best.trim();
        const correctAll = distinct([completion, ...correct.map((a) => ' ' + a)], []);
        const wrong = distinct(incorrect.map((a) => ' ' + a), []);
        result = { example: { id, prompt: `Q: ${question.trim()}\nA:`, completion, wrong, correct: correctAll }, needsWrong: false };
      }
      break;
    }
    case 'counterfactual': {
      const base = f.text('base');
      const source = f.text('source');
      const baseLabel = f.text('base_label');
      const sourceLabel = f.text('source_label');
      if (base !== undefined && source !== undefined && baseLabel !== undefined && sourceLabel !== undefined) {
        const example: TaskExample = { id, prompt: base, completion: baseLabel, wrong: [], source: { prompt: source, completion: sourceLabel } };
        result = draft(example, sourceLabel !== baseLabel ? [sourceLabel] : []);
      }
      break;
    }
  }
  if (f.problems.length > 0 || result === undefined) {
    return { ok: false, problems: f.problems.length > 0 ? f.problems : [{ problem: 'the record could not be read' }] };
  }
  return { ok: true, draft: result };
}

function mapNative(record: Record<string, unknown>, fallbackId: string): MapResult {
  const problems: RowProblem[] = [];
  let id: unknown = record.id;
  if (id === undefined || id === null || id === '') id = fallbackId;
  else if (typeof id === 'number' && Number.isInteger(id)) id = String(id);
  const parsed = taskExampleSchema.safeParse({ ...record, id });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const column = issue.path.map(String).join('.');
      problems.push(column === '' ? { problem: issue.message } : { column, problem: `'${column}': ${issue.message}` });
    }
    return { ok: false, problems };
  }
  const example = parsed.data;
  for (const k of ['prompt', 'completion'] as const) {
    if (example[k].trim() === '') problems.push({ column: k, problem: `'${k}' is empty` });
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, draft: { example, needsWrong: false } };
}
