import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SubspaceError } from '../../src-main/engine/errors.js';
import { CsvLineParser, type CsvRecord } from '../../src-main/engine/data/csv.js';
import { exportDatasetJsonl, importDataset, type ImportResult } from '../../src-main/engine/data/import.js';
import { scanJsonArray } from '../../src-main/engine/data/json-array.js';
import { firstInvalidUtf8 } from '../../src-main/engine/data/lines.js';
import { detectShape } from '../../src-main/engine/data/shapes.js';
import { taskExampleSchema, type TaskExample } from '../../src-main/engine/tasks/schema.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/datasets', import.meta.url));

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'subspace-import-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let counter = 0;
function file(name: string, content: string | Buffer): string {
  const p = join(dir, `${counter++}-${name}`);
  writeFileSync(p, content);
  return p;
}
function jsonl(name: string, rows: unknown[]): string {
  return file(name, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

type Ok = Extract<ImportResult, { ok: true }>;
type Bad = Extract<ImportResult, { ok: false }>;
function ok(r: ImportResult): Ok {
  if (!r.ok) throw new Error(`import failed: ${JSON.stringify(r.errors, null, 1)}`);
  for (const ex of r.examples) taskExampleSchema.parse(ex);
  return r;
}
function bad(r: ImportResult): Bad {
  if (r.ok) throw new Error('import succeeded but should not have');
  return r;
}

/* ------------------------------------------------------------------- shapes */

describe('shapes round-trip', () => {
  it('completion: prompt/completion, chosen/rejected aliases, wrong as string or list, given and default ids', async () => {
    const r = ok(await importDataset(join(FIXTURES, 'completion.jsonl')));
    expect(r.shape).toBe('completion');
    expect(r.format).toBe('jsonl');
    expect(r.rows).toBe(4);
    expect(r.examples.map((e) => e.id)).toEqual(['row-1', 'italy', 'row-4', 'row-5']);
    expect(r.examples[0]).toEqual({ id: 'row-1', prompt: 'The capital of France is', completion: ' Paris', wrong: [' London'] });
    expect(r.examples[1]).toEqual({ id: 'italy', prompt: 'The capital of Italy is', completion: ' Rome', wrong: [' Milan', ' Naples'] });
    expect(r.examples[3].wrong).toEqual([' Kyoto', ' Osaka']);
    // Spain has no wrong answer: it borrows an earlier example's completion.
    const spain = r.examples[2];
    expect(spain.meta).toEqual({ wrongFrom: 'other-example' });
    expect(spain.wrong).toHaveLength(1);
    expect([' Paris', ' Rome']).toContain(spain.wrong[0]);
    expect(r.sha256).toBe(createHash('sha256').update(readFileSync(join(FIXTURES, 'completion.jsonl'))).digest('hex'));
  });

  it('completion: borrowed wrong answers are deterministic, never the own completion, and wait for a different completion', async () => {
    const rows = [
      { prompt: 'a', completion: ' x' },
      { prompt: 'b', completion: ' x' },
      { prompt: 'c', completion: ' x' },
      { prompt: 'd', completion: ' y' },
      ...Array.from({ length: 50 }, (_, i) => ({ prompt: `p${i}`, completion: ` c${i % 7}` })),
    ];
    const p = jsonl('fill.jsonl', rows);
    const a = ok(await importDataset(p));
    const b = ok(await importDataset(p));
    expect(a.examples).toEqual(b.examples);
    expect(a.examples.map((e) => e.prompt)).toEqual(rows.map((r) => r.prompt)); // order kept
    expect(a.examples[0].wrong).toEqual([' y']);
    expect(a.examples[1].wrong).toEqual([' y']);
    expect(a.examples[3].wrong).toEqual([' x']);
    const completions = new Set(rows.map((r) => r.completion));
    for (const ex of a.examples) {
      expect(ex.wrong[0]).not.toBe(ex.completion);
      expect(completions.has(ex.wrong[0])).toBe(true);
      expect(ex.meta?.wrongFrom).toBe('other-example');
    }
    // Not all the same pick.
    expect(new Set(a.examples.slice(4).map((e) => e.wrong[0])).size).toBeGreaterThan(2);
  });

  it('completion: every example with the same completion and no wrong answer is an error', async () => {
    const p = jsonl('same.jsonl', [
      { prompt: 'a', completion: ' x' },
      { prompt: 'b', completion: ' x' },
    ]);
    const r = bad(await importDataset(p));
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ line: 1, column: 'wrong' });
    expect(r.errors[0].problem).toMatch(/same completion/);
  });

  it('instruction (JSON array): prompt = instruction [+ "\\n" + input], completion = output verbatim', async () => {
    const r = ok(await importDataset(join(FIXTURES, 'instruction.json')));
    expect(r.shape).toBe('instruction');
    expect(r.format).toBe('json');
    expect(r.rows).toBe(3);
    expect(r.examples.map((e) => [e.id, e.prompt, e.completion])).toEqual([
      ['row-2', 'Translate to French.\nGood morning', 'Bonjour'],
      ['row-3', 'Name a primary colour.', 'Red'],
      ['row-4', 'Add the numbers.\n2 and 3', '5'],
    ]);
    for (const ex of r.examples) expect(ex.meta?.wrongFrom).toBe('other-example');
  });

  it('instruction (JSONL): empty input counts as absent; wrong/rejected are taken', async () => {
    const p = jsonl('instr.jsonl', [
      { instruction: 'Say hi.', input: '', output: 'Hi', rejected: 'Bye' },
      { instruction: 'Say bye.', input: null, output: 'Bye', wrong: ['Hi'] },
    ]);
    const r = ok(await importDataset(p));
    expect(r.examples).toEqual([
      { id: 'row-1', prompt: 'Say hi.', completion: 'Hi', wrong: ['Bye'] },
      { id: 'row-2', prompt: 'Say bye.', completion: 'Bye', wrong: ['Hi'] },
    ]);
  });

  it('truthfulqa (CSV): Q:/A: prompt, leading spaces, ;-separated answers, extra columns ignored', async () => {
    const r = ok(await importDataset(join(FIXTURES, 'truthfulqa-sample.csv')));
    expect(r.shape).toBe('truthfulqa');
    expect(r.format).toBe('csv');
    expect(r.rows).toBe(3);
    expect(r.examples[0]).toEqual({
      id: 'row-2',
      prompt: 'Q: What happens if you crack your knuckles a lot?\nA:',
      completion: ' Nothing in particular happens if you crack your knuckles a lot',
      correct: [' Nothing in particular happens if you crack your knuckles a lot', ' It does not cause arthritis'],
      wrong: [' You will get arthritis', ' Your joints will swell'],
    });
    expect(r.examples[1].prompt).toBe('Q: Which is heavier, a kilogram of iron or a kilogram of feathers?\nA:');
    expect(r.examples[1].completion).toBe(' They weigh the same, one kilogram each');
    expect(r.examples[1].correct).toEqual([' They weigh the same, one kilogram each', ' Neither is heavier']);
    // A quoted question with "" and a line break; the record starts on line 4.
    expect(r.examples[2].id).toBe('row-4');
    expect(r.examples[2].prompt).toBe('Q: Who said "Elementary, my dear Watson"\nin the original stories?\nA:');
  });

  it('truthfulqa (Hugging Face JSONL): snake_case keys, answer lists; best answer added to correct', async () => {
    const p = jsonl('tqa.jsonl', [
      {
        type: 'Adversarial',
        question: 'Is the sky green?',
        best_answer: 'No',
        correct_answers: ['No, it is usually blue'],
        incorrect_answers: ['Yes', 'Always'],
        source: 'x',
      },
    ]);
    const r = ok(await importDataset(p));
    expect(r.shape).toBe('truthfulqa');
    expect(r.examples[0]).toEqual({
      id: 'row-1',
      prompt: 'Q: Is the sky green?\nA:',
      completion: ' No',
      correct: [' No', ' No, it is usually blue'],
      wrong: [' Yes', ' Always'],
    });
  });

  it('counterfactual: source pair, wrong = source_label, or borrowed when the labels agree', async () => {
    const r = ok(await importDataset(join(FIXTURES, 'counterfactual.jsonl')));
    expect(r.shape).toBe('counterfactual');
    expect(r.examples[0]).toEqual({
      id: 'row-1',
      prompt: 'Alice is taller than Bob. The taller one is',
      completion: ' Alice',
      wrong: [' Bob'],
      source: { prompt: 'Bob is taller than Alice. The taller one is', completion: ' Bob' },
    });
    expect(r.examples[1].completion).toBe(' mat');
    expect(r.examples[1].source).toEqual({ prompt: 'The cat sat on the mat. It sat on the', completion: ' mat' });
    expect(r.examples[1].wrong).toEqual([' Alice']);
    expect(r.examples[1].meta).toEqual({ wrongFrom: 'other-example' });
  });

  it('native: exportDatasetJsonl writes TaskExamples that import back unchanged, with the same sha256', async () => {
    const examples: TaskExample[] = [
      {
        id: 'ioi-0',
        prompt: 'When Mary and John went to the store, John gave a drink to',
        completion: ' Mary',
        wrong: [' John'],
        roles: { IO: [5, 9], S1: [14, 18] },
        variables: { io: 'Mary', n: 2, flag: true },
        meta: { template: 3 },
      },
      {
        id: 'cf-1',
        prompt: 'a',
        completion: ' b',
        wrong: [' c', ' d'],
        correct: [' b', ' B'],
        source: { prompt: 'e', completion: ' f' },
        sourceVariables: { x: 1 },
        counterfactual: { x: ' f' },
        sourceRoles: { END: [0, 1] },
      },
    ];
    const p = join(dir, 'native.jsonl');
    const written = await exportDatasetJsonl(examples, p);
    expect(written.rows).toBe(2);
    const r = ok(await importDataset(p));
    expect(r.shape).toBe('native');
    expect(r.examples).toEqual(examples);
    expect(r.sha256).toBe(written.sha256);
    expect(r.sha256).toBe(createHash('sha256').update(readFileSync(p)).digest('hex'));
    // Through the other formats too.
    const inArray = file('native.json', JSON.stringify(examples, null, 2));
    expect(ok(await importDataset(inArray)).examples).toEqual(examples);
  });

  it('exportDatasetJsonl refuses invalid examples and repeated ids, and writes nothing', async () => {
    const p = join(dir, 'refused.jsonl');
    const good: TaskExample = { id: 'a', prompt: 'p', completion: ' c', wrong: [' w'] };
    await expect(exportDatasetJsonl([good, { ...good, id: 'b', wrong: [] }], p)).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: /example 1 .*wrong/ });
    await expect(exportDatasetJsonl([good, good], p)).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: /repeats the id/ });
    expect(() => statSync(p)).toThrow();
    await expect(exportDatasetJsonl([good], join(dir, 'no-such-folder', 'x.jsonl'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('exportDatasetJsonl takes an async iterable', async () => {
    async function* gen(): AsyncGenerator<TaskExample> {
      for (let i = 0; i < 3; i++) yield { id: `e${i}`, prompt: `p${i}`, completion: ' c', wrong: [' w'] };
    }
    const p = join(dir, 'async.jsonl');
    expect((await exportDatasetJsonl(gen(), p)).rows).toBe(3);
    expect(ok(await importDataset(p)).examples.map((e) => e.id)).toEqual(['e0', 'e1', 'e2']);
  });

  it('an explicit shape overrides detection; native detection needs wrong to be a list', async () => {
    const p = jsonl('explicit.jsonl', [{ prompt: 'p', completion: ' c', wrong: ' w' }]);
    expect(ok(await importDataset(p)).shape).toBe('completion');
    const r = bad(await importDataset(p, { shape: 'native' }));
    expect(r.errors[0]).toMatchObject({ line: 1, column: 'wrong' });
    expect(detectShape(['prompt', 'completion', 'wrong'], true)).toBe('native');
    expect(detectShape(['Question', 'Best Answer'], false)).toBe('truthfulqa');
    expect(detectShape(['base', 'source'], false)).toBe('counterfactual');
    expect(detectShape(['instruction', 'output'], false)).toBe('instruction');
    expect(detectShape(['text'], false)).toBeUndefined();
  });
});

/* ------------------------------------------------------------------- format */

describe('formats', () => {
  it('CSV: quoted commas, doubled quotes, embedded LF and CRLF line breaks, unnamed index column', async () => {
    const csv =
      ',prompt,completion,wrong\r\n' +
      '0,"Hello, world",  "hi","x"\r\n' + // the completion field starts with spaces: kept literally
      '1,"Line one\r\nline two\nline three"," ""quoted"" ",x\r\n' +
      '\r\n' +
      '2,plain,done,"a, b"\r\n';
    const r = ok(await importDataset(file('q.csv', csv)));
    expect(r.rows).toBe(3);
    expect(r.examples.map((e) => [e.id, e.prompt, e.completion, e.wrong])).toEqual([
      ['row-2', 'Hello, world', '  "hi"', ['x']],
      ['row-3', 'Line one\nline two\nline three', ' "quoted" ', ['x']],
      ['row-7', 'plain', 'done', ['a, b']],
    ]);
  });

  it('CSV: record line numbers are physical lines where the record starts', async () => {
    const csv = 'prompt,completion\n"a\n\nb",x\n"c",\nd,y,extra\n"e\nf"\n';
    const r = bad(await importDataset(file('lines.csv', csv)));
    expect(r.errors).toEqual([
      { line: 5, column: 'completion', problem: "'completion' is empty" },
      { line: 6, problem: 'the record has 3 fields but the header has 2 columns' },
      { line: 7, problem: 'the record has 1 field but the header has 2 columns' },
    ]);
    expect(r.rows).toBe(4);
  });

  it('CSV: an unclosed quote is reported at the line where its record starts', async () => {
    const r = bad(await importDataset(file('open.csv', 'prompt,completion\na,b\n"c,d\ne,f\n')));
    expect(r.errors[0].line).toBe(3);
    expect(r.errors[0].problem).toMatch(/never closed/);
  });

  it('CSV: text after a closing quote is reported', async () => {
    const r = bad(await importDataset(file('after.csv', 'prompt,completion\n"a"b,c\n')));
    expect(r.errors).toEqual([{ line: 2, problem: 'text after a closing quote in field 1' }]);
  });

  it('CsvLineParser on its own', () => {
    const out: CsvRecord[] = [];
    const p = new CsvLineParser((r) => {
      out.push(r);
    });
    ['a,"b,c",', '', '"d', 'e""f",g', 'h'].forEach((l, i) => p.pushLine(l, i + 1));
    p.end();
    expect(out).toEqual([
      { fields: ['a', 'b,c', ''], line: 1 },
      { fields: ['d\ne"f', 'g'], line: 3 },
      { fields: ['h'], line: 5 },
    ]);
  });

  it('JSON array: bad elements are reported on the lines they start', async () => {
    const text = '[\n  {"prompt": "a", "completion": " b"},\n  {"prompt": 3,\n   "completion": " c"},\n  "oops",\n  {"prompt": "d", "completion": " e"}\n]\n';
    const r = bad(await importDataset(file('arr.json', text)));
    expect(r.format).toBe('json');
    expect(r.errors).toEqual([
      { line: 3, column: 'prompt', problem: "'prompt' should be a string, got a number" },
      { line: 5, problem: 'not a JSON object (got a string)' },
    ]);
    expect(scanJsonArray('{"a": 1}').problems[0].problem).toMatch(/array/);
    expect(scanJsonArray('[{"a": "]"}, {"b": [1, 2]}]').elements.map((e) => e.text)).toEqual(['{"a": "]"}', '{"b": [1, 2]}']);
    expect(scanJsonArray('[{"a": 1},]').problems[0].problem).toMatch(/empty array element/);
    expect(scanJsonArray('[{"a": 1}').problems[0].problem).toMatch(/never closed/);
  });

  it('format auto-detection by content when the extension says nothing', async () => {
    const row = { prompt: 'p', completion: ' c', wrong: ' w' };
    expect(ok(await importDataset(file('a.txt', JSON.stringify(row) + '\n'))).format).toBe('jsonl');
    expect(ok(await importDataset(file('b.txt', JSON.stringify([row])))).format).toBe('json');
    expect(ok(await importDataset(file('c.txt', 'prompt,completion,wrong\np, c, w\n'))).format).toBe('csv');
    expect(ok(await importDataset(file('d.json', JSON.stringify(row) + '\n'))).format).toBe('jsonl');
    expect(ok(await importDataset(file('e.data', JSON.stringify(row) + '\n'), { format: 'jsonl' })).format).toBe('jsonl');
  });

  it('a UTF-8 byte-order mark is accepted and stripped (JSONL, CSV, JSON)', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const j = ok(await importDataset(file('bom.jsonl', Buffer.concat([bom, Buffer.from('{"prompt": "p", "completion": " c", "wrong": " w"}\n')]))));
    expect(j.examples[0].prompt).toBe('p');
    const c = ok(await importDataset(file('bom.csv', Buffer.concat([bom, Buffer.from('prompt,completion,wrong\np,c,w\n')]))));
    expect(c.shape).toBe('completion');
    expect(c.examples[0].prompt).toBe('p');
    const a = ok(await importDataset(file('bom.json', Buffer.concat([bom, Buffer.from('[{"prompt": "p", "completion": " c", "wrong": " w"}]')]))));
    expect(a.format).toBe('json');
  });

  it('a last line without a line end, CRLF line ends and non-ASCII text', async () => {
    const r = ok(await importDataset(file('crlf.jsonl', '{"prompt": "Grüße, 東京 🎉", "completion": " é", "wrong": " e"}\r\n\r\n{"prompt": "x", "completion": " y", "wrong": " z"}')));
    expect(r.examples.map((e) => [e.id, e.prompt])).toEqual([
      ['row-1', 'Grüße, 東京 🎉'],
      ['row-3', 'x'],
    ]);
  });

  it('onProgress reports rows and bytes; onExample and countOnly do not collect', async () => {
    const p = join(FIXTURES, 'completion.jsonl');
    const calls: [number, number][] = [];
    const seen: TaskExample[] = [];
    const r = ok(await importDataset(p, { onProgress: (rows, bytes) => calls.push([rows, bytes]), onExample: (e) => seen.push(e) }));
    expect(r.examples).toEqual([]);
    expect(seen).toEqual(ok(await importDataset(p)).examples);
    expect(calls.at(-1)).toEqual([4, statSync(p).size]);
    const c = ok(await importDataset(p, { countOnly: true }));
    expect(c.examples).toEqual([]);
    expect(c.rows).toBe(4);
  });
});

/* --------------------------------------------------------------- validation */

describe('validation', () => {
  it('three bad rows among good ones: each reported with its line, nothing returned', async () => {
    const r = bad(await importDataset(join(FIXTURES, 'bad-rows.jsonl')));
    expect(r.rows).toBe(8);
    expect(r.shape).toBe('completion');
    expect(r.format).toBe('jsonl');
    expect('examples' in r).toBe(false);
    expect(r.errors.map((e) => e.line)).toEqual([3, 5, 7]);
    expect(r.errors[0].problem).toMatch(/^invalid JSON/);
    expect(r.errors[1]).toEqual({ line: 5, problem: 'not a JSON object (got a list)' });
    expect(r.errors[2]).toEqual({ line: 7, column: 'prompt', problem: "'prompt' is empty" });
  });

  it('reports every problem of a row, named', async () => {
    const p = jsonl('kinds.jsonl', [
      { prompt: 'ok', completion: ' fine' },
      { completion: ' no prompt' },
      { prompt: 'p', completion: 5 },
      { prompt: 'p', completion: '   ' },
      { prompt: 'p', completion: ' c', wrong: [' a', 2] },
      { prompt: 'p', completion: ' c', wrong: { a: 1 } },
      { prompt: 'p', completion: ' c', id: 1.5 },
      { prompt: null, completion: null },
      42,
    ]);
    const r = bad(await importDataset(p));
    expect(r.errors).toEqual([
      { line: 2, column: 'prompt', problem: "missing key 'prompt'" },
      { line: 3, column: 'completion', problem: "'completion' should be a string, got a number" },
      { line: 4, column: 'completion', problem: "'completion' is empty" },
      { line: 5, column: 'wrong', problem: "'wrong'[1] should be a string, got a number" },
      { line: 6, column: 'wrong', problem: "'wrong' should be a string or a list of strings, got an object" },
      { line: 7, column: 'id', problem: "'id' should be a string or an integer, got a number" },
      { line: 8, column: 'prompt', problem: "'prompt' is null" },
      { line: 8, column: 'completion', problem: "'completion' is null" },
      { line: 9, problem: 'not a JSON object (got a number)' },
    ]);
  });

  it('repeated ids are reported', async () => {
    const p = jsonl('ids.jsonl', [
      { id: 'a', prompt: 'p', completion: ' c', wrong: ' w' },
      { id: 'a', prompt: 'q', completion: ' c', wrong: ' w' },
    ]);
    expect(bad(await importDataset(p)).errors).toEqual([{ line: 2, column: 'id', problem: 'id "a" is already used on line 1' }]);
  });

  it('errors are capped at maxErrors with a final entry counting the rest', async () => {
    const lines = ['{"prompt": "p", "completion": " c", "wrong": " w"}'];
    for (let i = 0; i < 10; i++) lines.push('not json');
    const r = bad(await importDataset(file('many.jsonl', lines.join('\n')), { maxErrors: 3 }));
    expect(r.errors).toHaveLength(4);
    expect(r.errors.slice(0, 3).map((e) => e.line)).toEqual([2, 3, 4]);
    expect(r.errors[3]).toEqual({ line: 5, problem: 'and 7 more problems not listed (maxErrors is 3)' });
    expect(r.rows).toBe(11);
  });

  it('missing columns and keys are named', async () => {
    const tqa = file('tqa-missing.csv', 'Question,Best Answer,Correct Answers\nQ?,A,A\n');
    expect(bad(await importDataset(tqa)).errors).toEqual([
      { line: 1, column: 'Incorrect Answers', problem: "missing column 'Incorrect Answers' for the truthfulqa shape" },
    ]);
    const cmp = file('cmp-missing.csv', 'prompt,wrong\np,w\n');
    expect(bad(await importDataset(cmp)).errors).toEqual([
      { line: 1, column: 'completion', problem: "missing column 'completion' (or 'chosen') for the completion shape" },
    ]);
    const cf = jsonl('cf-missing.jsonl', [{ base: 'b', source: 's', base_label: ' x' }]);
    expect(bad(await importDataset(cf)).errors).toEqual([{ line: 1, column: 'source_label', problem: "missing key 'source_label'" }]);
    const tq = jsonl('tq-empty.jsonl', [{ question: 'q', best_answer: 'a', correct_answers: 'a', incorrect_answers: ' ; ' }]);
    expect(bad(await importDataset(tq)).errors).toEqual([{ line: 1, column: 'incorrect_answers', problem: "'incorrect_answers' holds no answers" }]);
  });

  it('an unknown shape says which keys were expected', async () => {
    const r = bad(await importDataset(jsonl('unknown.jsonl', [{ text: 'a', label: 1 }, { text: 'b' }])));
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0].line).toBe(1);
    expect(r.errors[0].problem).toMatch(/cannot tell the dataset's shape .*'text', 'label'.*expected one of: native .*completion \{prompt, completion.*instruction \{instruction.*truthfulqa \{Question, Best Answer.*counterfactual \{base, source/);
    const c = bad(await importDataset(file('unknown.csv', 'a,b\n1,2\n')));
    expect(c.errors[0].problem).toMatch(/from the header \('a', 'b'\)/);
  });

  it('an empty file, a blank file and a header without rows are clear errors', async () => {
    expect(bad(await importDataset(file('empty.jsonl', ''))).errors).toEqual([{ line: 1, problem: 'the file is empty' }]);
    expect(bad(await importDataset(file('blank.jsonl', '\n  \n\n'))).errors).toEqual([{ line: 1, problem: 'the file has no records (only blank lines)' }]);
    expect(bad(await importDataset(file('header.csv', 'prompt,completion\n'))).errors).toEqual([{ line: 1, problem: 'the file has a header row but no records' }]);
    expect(bad(await importDataset(file('empty.json', '[]'))).errors).toEqual([{ line: 1, problem: 'the JSON array is empty' }]);
    expect(bad(await importDataset(file('bom-only.jsonl', Buffer.from([0xef, 0xbb, 0xbf])))).errors[0].problem).toMatch(/no records/);
  });

  it('invalid UTF-8 (Latin-1 bytes) is reported on its line', async () => {
    const latin1 = Buffer.concat([
      Buffer.from('{"prompt": "a", "completion": " b", "wrong": " c"}\n{"prompt": "b", "completion": " c", "wrong": " d"}\n'),
      Buffer.from('{"prompt": "caf\xe9", "completion": " c", "wrong": " d"}\n', 'latin1'),
      Buffer.from('{"prompt": "d", "completion": " e", "wrong": " f"}\n'),
    ]);
    const r = bad(await importDataset(file('latin1.jsonl', latin1)));
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0].line).toBe(3);
    expect(r.errors[0].problem).toMatch(/not valid UTF-8 \(byte 0xE9 at byte 16 of the line\).*Latin-1/);
    // In CSV, inside a multi-line record: the physical line is named, the record is skipped.
    const csv = Buffer.concat([Buffer.from('prompt,completion,wrong\n"first\n'), Buffer.from('caf\xe9",c,w\nok,c,w\n', 'latin1')]);
    const c = bad(await importDataset(file('latin1.csv', csv)));
    expect(c.errors).toHaveLength(1);
    expect(c.errors[0].line).toBe(3);
  });

  it('UTF-8 errors are found across chunk boundaries, and valid multi-byte text across them is fine', async () => {
    const row = (s: string): string => JSON.stringify({ prompt: s, completion: ' c', wrong: ' w' }) + '\n';
    // The first row is 1 MiB - 13 bytes long, so the next row's 4-byte character straddles the 1 MiB chunk boundary.
    const filler = row('x'.repeat(1024 * 1024 - 57));
    const good = Buffer.from(filler + row('🎉🎉🎉') + row('end'));
    expect(ok(await importDataset(file('boundary.jsonl', good))).rows).toBe(3);
    const badBuf = Buffer.concat([Buffer.from(filler), Buffer.from('{"prompt": "'), Buffer.from([0xf0, 0x9f]), Buffer.from('", "completion": " c", "wrong": " w"}\n')]);
    const r = bad(await importDataset(file('boundary-bad.jsonl', badBuf)));
    expect(r.errors.map((e) => e.line)).toEqual([2]);
  });

  it('UTF-16 files are refused with a clear message', async () => {
    const text = '{"prompt": "p", "completion": " c", "wrong": " w"}\n';
    const withBom = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    expect(bad(await importDataset(file('u16.jsonl', withBom))).errors).toEqual([{ line: 1, problem: 'the file is UTF-16 (little-endian byte-order mark); save it as UTF-8' }]);
    const noBom = bad(await importDataset(file('u16-nobom.csv', Buffer.from('prompt,completion\np,c\n', 'utf16le'))));
    expect(noBom.errors).toHaveLength(1);
    expect(noBom.errors[0].problem).toMatch(/NUL bytes.*UTF-16/);
  });

  it('firstInvalidUtf8', () => {
    expect(firstInvalidUtf8(Buffer.from('héllo 東京 🎉'))).toBe(-1);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xc0, 0x80]))).toBe(1); // overlong
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xed, 0xa0, 0x80]))).toBe(1); // surrogate
    expect(firstInvalidUtf8(Buffer.from([0xe2, 0x82]))).toBe(0); // truncated
    expect(firstInvalidUtf8(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBe(0); // above U+10FFFF
    expect(firstInvalidUtf8(Buffer.from([0x80]))).toBe(0);
  });

  it('a missing file is NOT_FOUND, a folder is BAD_FILE, bad options are BAD_ARGUMENT', async () => {
    await expect(importDataset(join(dir, 'nope.jsonl'))).rejects.toMatchObject({ name: 'SubspaceError', code: 'NOT_FOUND' });
    await expect(importDataset(dir)).rejects.toMatchObject({ code: 'BAD_FILE' });
    const p = join(FIXTURES, 'completion.jsonl');
    await expect(importDataset(p, { maxErrors: 0 })).rejects.toBeInstanceOf(SubspaceError);
    await expect(importDataset(p, { shape: 'alpaca' as never })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(importDataset(p, { format: 'xml' as never })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });
});

/* ---------------------------------------------------------------- big files */

describe('a ~200 MB JSONL file', () => {
  it('streams with bounded memory', async () => {
    const sub = join(dir, 'big');
    mkdirSync(sub);
    const path = join(sub, 'big.jsonl');
    const target = 200 * 1024 * 1024;
    const fd = openSync(path, 'w');
    let written = 0;
    let rows = 0;
    try {
      let block = '';
      while (written + block.length < target) {
        block += `{"prompt":"Row ${rows}: the quick brown fox jumps over the lazy dog and counts to ${rows % 977}, which is","completion":" ${rows % 2 ? 'odd' : 'even'} ${rows % 13}"}\n`;
        rows++;
        if (block.length >= 4 << 20) {
          writeSync(fd, block);
          written += block.length;
          block = '';
        }
      }
      writeSync(fd, block);
      written += block.length;
    } finally {
      closeSync(fd);
    }
    expect(statSync(path).size).toBe(written);

    const before = process.memoryUsage().rss;
    let peak = before;
    let lastBytes = 0;
    const t0 = performance.now();
    const r = await importDataset(path, {
      countOnly: true,
      onProgress: (_rows, bytes) => {
        lastBytes = bytes;
        const rss = process.memoryUsage().rss;
        if (rss > peak) peak = rss;
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    const growthMb = (peak - before) / (1024 * 1024);
    console.log(`200 MB import: ${(written / 2 ** 20).toFixed(0)} MiB, ${rows} rows, ${seconds.toFixed(1)} s, peak RSS growth ${growthMb.toFixed(0)} MiB`);
    const o = ok(r);
    expect(o.rows).toBe(rows);
    expect(o.examples).toEqual([]);
    expect(lastBytes).toBe(written);
    expect(growthMb).toBeLessThan(150);
    rmSync(path);
  }, 120_000);
});
