/**
 * The workbench's run export of result tables (runs.exportFormats, runs.export through the compute
 * process) against `subspace export`: the same files, byte for byte, for a patching sweep over token
 * indices (whose column labels need the model's tokenizer); formats a run does not have and a
 * malformed result are refused by name.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { methods } from '../../src-main/api/contract.js';
import { openApi, type Api } from '../../src-main/api/runtime.js';
import { runCli } from '../helpers/cli.js';

let tmp: string;
let data: string;
let api: Api;
let runId: string;
let sweep: { positions: string[] };
const savedDataDir = process.env.SUBSPACE_DATA_DIR;

const cli = (...args: string[]) => runCli(args, { SUBSPACE_BACKEND: 'wasm', SUBSPACE_DATA_DIR: data });

/** A method's result, checked against its response schema; or its error. */
async function call(method: keyof typeof methods, payload: unknown): Promise<{ result?: any; error?: { code: string; message: string; field?: string } }> {
  const r = await api.dispatcher.call(method, payload);
  if (!r.ok) return { error: r.error };
  expect(methods[method].response.safeParse(r.result).success).toBe(true);
  return { result: r.result };
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'subspace-runs-export-'));
  data = join(tmp, 'data');
  process.env.SUBSPACE_DATA_DIR = data;
  const result = join(tmp, 'resid.json');
  const r = await cli('patch', '--model', 'demo-gpt2', '--task', 'ioi', '--sweep', 'resid', '--positions', 'index', '--n', '2', '--out', result, '--json');
  expect(r.code, r.err).toBe(0);
  sweep = JSON.parse(readFileSync(result, 'utf8'));
  runId = JSON.parse(r.out).run;
  api = openApi({ mode: 'browser', dataDir: data, compute: { env: { SUBSPACE_BACKEND: 'wasm' } }, jobs: { env: { SUBSPACE_BACKEND: 'wasm' } }, log: () => {} });
});

afterAll(async () => {
  await api?.close();
  if (savedDataDir === undefined) delete process.env.SUBSPACE_DATA_DIR;
  else process.env.SUBSPACE_DATA_DIR = savedDataDir;
  rmSync(tmp, { recursive: true, force: true });
});

describe('runs.export of result tables', () => {
  it('offers csv and json for a patching sweep and writes the files subspace export writes', async () => {
    const formats = await call('runs.exportFormats', { runId });
    expect(formats.result).toEqual({ runId, formats: ['csv', 'json'], tables: ['patch-resid-logit-diff'] });

    for (const format of ['csv', 'json'] as const) {
      const viaApi = join(tmp, `api-${format}`);
      const viaCli = join(tmp, `cli-${format}`);
      const r = await call('runs.export', { runId, format, dir: viaApi });
      expect(r.error).toBeUndefined();
      const file = join(viaApi, `patch-resid-logit-diff.${format}`);
      expect(r.result).toEqual({ runId, format, method: 'patch', out: viaApi, tables: [{ file, table: 'patch-resid-logit-diff', kind: 'patching', rows: 4, columns: sweep.positions.length }] });
      const c = await cli('export', runId, '--format', format, '--out', viaCli);
      expect(c.code, c.err).toBe(0);
      expect(readdirSync(viaApi)).toEqual(readdirSync(viaCli));
      expect(readFileSync(file, 'utf8')).toBe(readFileSync(join(viaCli, `patch-resid-logit-diff.${format}`), 'utf8'));
    }
    // The compute process labelled the token-index columns with the patched prompt's tokens, as the CLI does.
    const header = readFileSync(join(tmp, 'api-csv', 'patch-resid-logit-diff.csv'), 'utf8').split('\n')[0].split(',');
    expect(header[0]).toBe('layer');
    expect(header[1]).toMatch(/^0:.+/);
    expect(header[2]).toMatch(/^1:.+/);
  });

  it('refuses a format the run does not have, a run without tables, and names a malformed result', async () => {
    const native = await call('runs.export', { runId, format: 'native', dir: join(tmp, 'never') });
    expect(native.error).toMatchObject({ code: 'UNSUPPORTED', field: 'format' });
    expect(native.error!.message).toMatch(new RegExp(`^runs\\.export: format: run '${runId}' \\(patch, succeeded: .*\\) cannot be exported as native; it exports as csv, json$`));

    const store = api.ctx.store;
    const projectId = store.createProject({ name: 'export tests' }).id;
    const finished = (kind: 'eval' | 'transfer', name: string) => store.updateRunStatus(store.createRun({ projectId, kind, name, config: {}, status: 'running' }).id, 'succeeded');
    const empty = finished('eval', 'nothing recorded');
    expect((await call('runs.exportFormats', { runId: empty.id })).result).toEqual({ runId: empty.id, formats: [], tables: [] });
    const none = await call('runs.export', { runId: empty.id, format: 'csv', dir: join(tmp, 'never') });
    expect(none.error).toMatchObject({ code: 'UNSUPPORTED', field: 'format', message: `runs.export: format: run '${empty.id}' (eval, succeeded: nothing recorded) cannot be exported as csv; it has no exported intervention and no result tables` });

    // A transfer result whose matrix does not match its tasks: listed as the problem, and the export names file and field.
    const bad = finished('transfer', 'broken matrix');
    const dir = join(tmp, 'broken');
    mkdirSync(dir);
    const path = join(dir, 'transfer-matrix.json');
    const text = JSON.stringify({ tasks: ['ioi', 'induction'], matrix: [[0.5, 0.25]] });
    writeFileSync(path, text);
    store.addArtifact({ runId: bad.id, kind: 'transfer', path, sizeBytes: text.length, sha256: createHash('sha256').update(text).digest('hex') });
    const f = await call('runs.exportFormats', { runId: bad.id });
    expect(f.result).toMatchObject({ formats: [], tables: [], problem: `${path}: matrix must be a list of 2 rows` });
    const e = await call('runs.export', { runId: bad.id, format: 'json', dir: join(tmp, 'never') });
    expect(e.error).toMatchObject({ code: 'BAD_FILE', message: `${path}: matrix must be a list of 2 rows` });
    expect(() => readdirSync(join(tmp, 'never'))).toThrow();
  });
});
