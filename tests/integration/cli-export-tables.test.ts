import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { matrixToCsv, tableToJson } from '../../src-main/engine/export/tables.js';
import { JobManager } from '../../src-main/jobs/runner.js';
import { openStore } from '../../src-main/store/index.js';
import { resultTables } from '../../src-main/store/run-tables.js';
import { runCli } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'subspace-cli-tables-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(args, { SUBSPACE_BACKEND: 'wasm', SUBSPACE_DATA_DIR: join(tmp, 'data') });

/** RFC 4180, read by hand: quoted fields may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  expect(field, 'the file ends with a line break').toBe('');
  expect(row).toEqual([]);
  return rows;
}

/** A CSV cell as a number: `nan`, `inf`, `-inf` as Python writes them. */
const cell = (s: string) => (s === 'nan' ? NaN : s === 'inf' ? Infinity : s === '-inf' ? -Infinity : Number(s));
/** A JSON result value: null is an undefined metric. */
const value = (v: number | null) => (v === null ? NaN : v);

/** The table a CSV file holds, checked to be rectangular. */
function readCsv(file: string): { corner: string; columns: string[]; rows: string[]; values: number[][] } {
  const [header, ...body] = parseCsv(readFileSync(file, 'utf8'));
  for (const r of body) expect(r).toHaveLength(header.length);
  return { corner: header[0], columns: header.slice(1), rows: body.map((r) => r[0]), values: body.map((r) => r.slice(1).map(cell)) };
}

function readJson(file: string): { kind: string; corner: string; rows: string[]; columns: string[]; values: (number | null)[][]; meta: Record<string, unknown> } {
  return JSON.parse(readFileSync(file, 'utf8'));
}

describe('subspace export --format csv|json: result tables of patching, DAS search, ablation, RepE and transfer runs', () => {
  it('exports a residual sweep over token indices, columns labelled with the tokens of the patched prompt', async () => {
    const result = join(tmp, 'resid.json');
    const r = await cli('patch', '--model', 'demo-gpt2', '--task', 'ioi', '--sweep', 'resid', '--positions', 'index', '--n', '2', '--out', result, '--json');
    expect(r.code, r.err).toBe(0);
    const doc = JSON.parse(readFileSync(result, 'utf8'));
    // Denoising patches the corrupt run: the first pair's source prompt, tokenized by `subspace run`.
    const first = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'assets', 'tasks', 'ioi', 'test.jsonl'), 'utf8').split('\n')[0]);
    const tokens: string[] = JSON.parse((await cli('run', '--model', 'demo-gpt2', '--prompt', first.source.prompt, '--top', '1', '--json')).out).tokens.map((t: { text: string }) => t.text);
    expect(tokens.length).toBeGreaterThan(5);
    const labels = doc.positions.map((p: string) => (tokens[Number(p)] === undefined ? p : `${p}:${tokens[Number(p)]}`));
    expect(labels.filter((l: string) => l.includes(':')).length).toBe(Math.min(tokens.length, doc.positions.length));

    const dir = join(tmp, 'resid-tables');
    const csv = await cli('export', doc.run, '--format', 'csv', '--out', dir, '--json');
    expect(csv.code, csv.err).toBe(0);
    const file = join(dir, 'patch-resid-logit-diff.csv');
    expect(JSON.parse(csv.out)).toMatchObject({ run: doc.run, format: 'csv', method: 'patch', wrote: { tables: [{ file, table: 'patch-resid-logit-diff', rows: 4, columns: doc.positions.length }] } });
    const t = readCsv(file);
    expect(t.corner).toBe('layer');
    expect(t.rows).toEqual(['0', '1', '2', '3']);
    expect(t.columns).toEqual(labels);
    // Exact: the CSV holds each number in its shortest round-trip form.
    expect(t.values).toEqual(doc.values.map((row: (number | null)[]) => row.map(value)));

    const json = await cli('export', doc.run, '--format', 'json', '--out', dir);
    expect(json.code, json.err).toBe(0);
    const j = readJson(join(dir, 'patch-resid-logit-diff.json'));
    expect(j).toMatchObject({ kind: 'patching', corner: 'layer', rows: t.rows, columns: labels, values: doc.values });
    expect(j.meta).toMatchObject({ run: doc.run, runKind: 'patch', model: 'demo-gpt2', task: 'ioi', sweep: 'resid', metric: 'logit-diff', direction: 'denoise', clean: doc.clean, corrupt: doc.corrupt });

    // A sweep has no intervention: other formats are refused with what it does export.
    const bad = await cli('export', doc.run, '--format', 'pyreft', '--out', join(tmp, 'never'));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(new RegExp(`run '${doc.run}' \\(patch, succeeded: patch resid ioi on demo-gpt2\\) has no exported intervention, so it cannot be exported as pyreft; it exports as csv, json`));
  });

  it('exports head sweeps over some layers and heads: layer × head, and one row per head by role', async () => {
    const heads = join(tmp, 'heads.json');
    const perPos = join(tmp, 'heads-pos.json');
    // One after the other: a command that starts a run marks any other run still running in the store as interrupted.
    const a = await cli('patch', '--model', 'demo-llama', '--task', 'ioi', '--sweep', 'heads', '--layers', '1,3', '--heads', '0,5', '--n', '2', '--out', heads, '--json');
    const b = await cli('patch', '--model', 'demo-llama', '--task', 'ioi', '--sweep', 'heads', '--per-position', '--positions', 'S2,END', '--layers', '2,3', '--heads', '1,4,6', '--metric', 'prob', '--n', '2', '--out', perPos, '--json');
    expect(a.code, a.err).toBe(0);
    expect(b.code, b.err).toBe(0);
    const da = JSON.parse(readFileSync(heads, 'utf8'));
    const db = JSON.parse(readFileSync(perPos, 'utf8'));

    const fa = join(tmp, 'heads.csv');
    expect((await cli('export', da.run, '--format', 'csv', '--out', fa)).code).toBe(0);
    const ta = readCsv(fa);
    expect([ta.corner, ta.rows, ta.columns]).toEqual(['layer', ['1', '3'], ['h0', 'h5']]);
    expect(ta.values).toEqual(da.values);

    const dir = join(tmp, 'heads-pos');
    expect((await cli('export', db.run, '--format', 'json', '--out', dir)).code).toBe(0);
    expect(readdirSync(dir)).toEqual(['patch-heads-per-position-prob.json']);
    const tb = readJson(join(dir, 'patch-heads-per-position-prob.json'));
    expect(tb.corner).toBe('head');
    expect(tb.rows).toEqual(['L2H1', 'L2H4', 'L2H6', 'L3H1', 'L3H4', 'L3H6']);
    expect(tb.columns).toEqual(['S2', 'END']);
    // values[layer][head][position] → row (layer, head), column position.
    expect(tb.values).toEqual([0, 1].flatMap((i) => [0, 1, 2].map((j) => db.values[i][j])));
    expect(tb.meta).toMatchObject({ metric: 'prob', sweep: 'heads' });
  });

  it('exports a DAS search as IIA and changed-pair IIA heatmaps (layer × position) for its variable', async () => {
    const result = join(tmp, 'das.json');
    const r = await cli('das', '--search', '--model', 'demo-llama', '--task', 'hierarchical-equality', '--variable', 'w=x', '--layers', '0,2,3', '--positions', 'X,END', '--epochs', '1', '--n-train', '16', '--n-test', '16', '--dim', '2', '--out', result, '--json');
    expect(r.code, r.err).toBe(0);
    const run = JSON.parse(r.out).run;
    const doc = JSON.parse(readFileSync(result, 'utf8'));
    const dir = join(tmp, 'das-tables');
    for (const format of ['csv', 'json']) expect((await cli('export', run, '--format', format, '--out', dir)).code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['das-changed-iia-w=x.csv', 'das-changed-iia-w=x.json', 'das-iia-w=x.csv', 'das-iia-w=x.json']);
    for (const [name, field] of [['das-iia-w=x', 'iia'], ['das-changed-iia-w=x', 'changedIia']]) {
      const t = readCsv(join(dir, `${name}.csv`));
      expect([t.corner, t.rows, t.columns]).toEqual(['layer', ['0', '2', '3'], ['X', 'END']]);
      expect(t.values).toEqual(doc[field]);
      const j = readJson(join(dir, `${name}.json`));
      expect(j.values).toEqual(doc[field]);
      expect(j.meta).toMatchObject({ run, runKind: 'das', variable: 'w=x', baseline: doc.baseline, best: doc.best });
    }
    // Two tables do not fit one file.
    const one = await cli('export', run, '--format', 'csv', '--out', join(tmp, 'das.csv'));
    expect(one.code).toBe(2);
    expect(one.err).toMatch(/--out .*das\.csv names one file, but run .* has 2 tables \(das-iia-w=x, das-changed-iia-w=x\): give a folder/);
  });

  it('exports a head ablation (effect and ablated metrics per head) and a RepE dev grid; refuses runs without tables', async () => {
    const ab = await cli('ablate', '--model', 'demo-gpt2', '--task', 'truthful', '--limit', '2', '--json');
    const repe = await cli('baseline', '--model', 'demo-gpt2', '--task', 'truthful', '--method', 'repe', '--layers', '1,3', '--coefficient', '1', '4', '--json');
    const lora = await cli('baseline', '--model', 'demo-gpt2', '--task', 'truthful', '--method', 'lora', '--rank', '200');
    expect(ab.code, ab.err).toBe(0);
    expect(repe.code, repe.err).toBe(0);
    expect(lora.code).toBe(2);
    const a = JSON.parse(ab.out);
    const dir = join(tmp, 'ablation');
    expect((await cli('export', a.run, '--format', 'csv', '--out', dir)).code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['ablated-accuracy.csv', 'ablated-logit-diff.csv', 'ablated-prefer-correct.csv', 'ablation-effect.csv']);
    const effect = readCsv(join(dir, 'ablation-effect.csv'));
    expect([effect.corner, effect.rows, effect.columns]).toEqual(['layer', ['0', '1', '2', '3'], ['h0', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7']]);
    expect(effect.values).toEqual(a.effect);
    expect(readCsv(join(dir, 'ablated-logit-diff.csv')).values).toEqual(a.ablated.map((row: { logitDiff: number }[]) => row.map((x) => x.logitDiff)));
    // effect = base − ablated, from the two tables.
    expect(effect.values[2][5]).toBeCloseTo(a.base.logitDiff - readCsv(join(dir, 'ablated-logit-diff.csv')).values[2][5], 10);

    const p = JSON.parse(repe.out);
    const grid = join(tmp, 'repe.json');
    expect((await cli('export', p.run, '--format', 'json', '--out', grid)).code).toBe(0);
    const g = readJson(grid);
    expect(g).toMatchObject({ kind: 'repe_grid', corner: 'layer', rows: ['1', '3'], columns: ['c=1', 'c=4'] });
    const dev = (l: number, c: number) => p.detail.grid.find((x: { layer: number; coefficient: number }) => x.layer === l && x.coefficient === c).dev;
    expect(g.values).toEqual([[dev(1, 1), dev(1, 4)], [dev(3, 1), dev(3, 4)]]);
    expect(g.meta).toMatchObject({ metric: 'mc1', chosen: { layer: p.detail.layer, coefficient: p.detail.coefficient } });

    // The failed LoRA run recorded nothing: it has no tables and no other format.
    const store = openStore({ dataDir: join(tmp, 'data') });
    const failed = store.listRuns({ status: 'failed' });
    store.close();
    expect(failed).toHaveLength(1);
    const none = await cli('export', failed[0].id, '--format', 'csv', '--out', join(tmp, 'never'));
    expect(none.code).toBe(2);
    expect(none.err).toMatch(new RegExp(`run '${failed[0].id}' \\(baseline, failed: baseline lora truthful on demo-gpt2\\) has no result tables, so it cannot be exported as csv; it has no export format`));
    const unknown = await cli('export', 'no-such-run', '--format', 'json', '--out', join(tmp, 'never'));
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/no run 'no-such-run'/);
  });

  it('exports a LoFIT transfer run (the job, tiny settings) as its task × task matrix: rows the trained task, columns the head source', { timeout: 180_000 }, async () => {
    const data = join(tmp, 'data');
    const tasks = ['hierarchical-equality', 'induction', 'family'];
    const jobs = new JobManager({ dataDir: data, env: { SUBSPACE_DATA_DIR: data } });
    let runId: string;
    try {
      runId = jobs.submit({ kind: 'transfer', model: 'demo-gpt2', task: tasks[0], backend: 'wasm', config: { tasks, limit: 4, k: 2, epochs: 1, batchSize: 4, seed: 3 } });
      expect(await jobs.wait(runId)).toMatchObject({ type: 'done' });
    } finally {
      await jobs.close();
    }
    const store = openStore({ dataDir: data });
    const artifact = store.listArtifacts(runId).find((a) => a.kind === 'transfer');
    const metrics = store.getMetrics(runId);
    store.close();
    expect(artifact?.path).toMatch(/transfer-matrix\.json$/);
    const doc = JSON.parse(readFileSync(artifact!.path, 'utf8'));
    expect(doc.tasks).toEqual(tasks);

    const dir = join(tmp, 'transfer');
    const csv = await cli('export', runId, '--format', 'csv', '--out', dir, '--json');
    expect(csv.code, csv.err).toBe(0);
    const file = join(dir, 'transfer-matrix.csv');
    expect(JSON.parse(csv.out)).toMatchObject({ run: runId, format: 'csv', method: 'transfer', wrote: { tables: [{ file, table: 'transfer-matrix', kind: 'transfer', rows: 3, columns: 3 }] } });
    const t = readCsv(file);
    expect([t.corner, t.rows, t.columns]).toEqual(['trained on \\ heads from', tasks, tasks]);
    expect(t.values).toEqual(doc.matrix.map((row: (number | null)[]) => row.map(value)));
    // Orientation from an independent record: each cell's metric, sent by the job as the cell ended,
    // is named transfer.<task trained and scored on>.<task whose heads were used>.
    tasks.forEach((a, i) => tasks.forEach((b, j) => expect(t.values[i][j]).toBe(metrics[`transfer.${a}.${b}`].values[0])));

    const one = join(tmp, 'transfer.json');
    expect((await cli('export', runId, '--format', 'json', '--out', one)).code).toBe(0);
    const j = readJson(one);
    expect(j).toMatchObject({ kind: 'transfer', corner: 'trained on \\ heads from', rows: tasks, columns: tasks, values: doc.matrix });
    expect(j.meta).toMatchObject({ run: runId, runKind: 'transfer', source: 'transfer-matrix.json', model: 'demo-gpt2', metric: doc.metric, base: doc.base, k: 2, heads: doc.heads });

    const bad = await cli('export', runId, '--format', 'lofit-npy', '--out', join(tmp, 'never'));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/has no exported intervention, so it cannot be exported as lofit-npy; it exports as csv, json/);
  });

  it('keeps an undefined metric (null in the result) as nan / null, and names the file and field of a malformed result', () => {
    const doc = { kind: 'resid', metric: 'normalised', layers: [0, 2], positions: ['S2', 'END'], values: [[0.5, null], [1, -0.25]], clean: 1, corrupt: 0, unpatched: 0 };
    const [t] = resultTables('patch', '/x/resid.json', doc);
    expect(t.name).toBe('patch-resid-normalised');
    expect(matrixToCsv(t.matrix, t.rowLabels, t.colLabels, { corner: t.corner })).toBe('layer,S2,END\n0,0.5,nan\n2,1,-0.25\n');
    expect(JSON.parse(tableToJson(t)).values).toEqual(doc.values);
    // Token labels apply to token indices only.
    expect(resultTables('patch', '/x/resid.json', { ...doc, positions: ['0', '1'] }, ['<s>', ' a,b'])[0].colLabels).toEqual(['0:<s>', '1: a,b']);
    expect(resultTables('patch', '/x/resid.json', doc, ['<s>', 'x'])[0].colLabels).toEqual(['S2', 'END']);
    expect(() => resultTables('patch', '/x/resid.json', { ...doc, values: [[0.5, 1]] })).toThrow('/x/resid.json: values must be a list of 2 rows');
    expect(() => resultTables('das-search', '/x/das.json', { layers: [0], positions: ['W'], variable: 'w=x', iia: [[0.5]], changedIia: [['a']] })).toThrow('/x/das.json: changedIia[0] must be a list of 1 numbers');
    expect(resultTables('baseline', '/x/red.json', { method: 'red', detail: { loss: [] } })).toEqual([]);
    const [m] = resultTables('transfer', '/x/transfer-matrix.json', { tasks: ['a', 'b,c'], matrix: [[1, null], [0.5, 0.25]], k: 2 });
    expect(m).toMatchObject({ name: 'transfer-matrix', kind: 'transfer', rowLabels: ['a', 'b,c'], colLabels: ['a', 'b,c'] });
    expect(matrixToCsv(m.matrix, m.rowLabels, m.colLabels, { corner: m.corner })).toBe('trained on \\ heads from,a,"b,c"\na,1,nan\n"b,c",0.5,0.25\n');
    expect(() => resultTables('transfer', '/x/transfer-matrix.json', { tasks: ['a', 'b'], matrix: [[1, 0]] })).toThrow('/x/transfer-matrix.json: matrix must be a list of 2 rows');
    expect(() => resultTables('transfer', '/x/transfer-matrix.json', { tasks: 'a', matrix: [] })).toThrow('/x/transfer-matrix.json: tasks must be a list of strings');
  });
});
