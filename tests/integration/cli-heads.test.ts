import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'subspace-cli-heads-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(args, { SUBSPACE_BACKEND: 'wasm', SUBSPACE_DATA_DIR: join(tmp, 'data') });

describe('subspace lofit, iti and heads on a demo model', () => {
  it('lofit selects K heads from a layers × heads score matrix and tunes them; heads reads it back', async () => {
    const out = join(tmp, 'lofit');
    const r = (await cli('lofit', '--model', 'demo-llama', '--task', 'fact-edit', '--k', '4', '--epochs', '1', '--out', out, '--json'));
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.scores).toHaveLength(4);
    expect(j.scores[0]).toHaveLength(8);
    expect(j.selected).toHaveLength(4);
    expect(j.parameters).toBe(4 * 16);
    // The selection is the top 4 of the score matrix.
    const flat = j.scores.flatMap((row: number[], l: number) => row.map((v: number, h: number) => ({ v, key: `${l}.${h}` }))).sort((a: { v: number }, b: { v: number }) => b.v - a.v);
    expect(j.selected.map(([l, h]: number[]) => `${l}.${h}`).sort()).toEqual(flat.slice(0, 4).map((x: { key: string }) => x.key).sort());
    const heads = JSON.parse((await cli('heads', '--run', out, '--json')).out);
    expect(heads.method).toBe('lofit');
    expect(heads.selected).toEqual(j.selected);
    const runs = JSON.parse((await cli('runs', '--kind', 'lofit', '--json')).out);
    expect(runs[0]).toMatchObject({ kind: 'lofit', status: 'succeeded' });

    // Exports: the .npy head list (NumPy reads it in the unit tests), the score table, and a merged checkpoint.
    const npy = JSON.parse((await cli('export', runs[0].id, '--format', 'lofit-npy', '--out', join(tmp, 'heads.npy'), '--json')).out);
    expect(npy.wrote.heads).toEqual(j.selected);
    const csv = (await cli('export', runs[0].id, '--format', 'csv', '--out', join(tmp, 'scores.csv')));
    expect(csv.code, csv.err).toBe(0);
    expect(readFileSync(join(tmp, 'scores.csv'), 'utf8').split('\n')[0]).toBe('layer,h0,h1,h2,h3,h4,h5,h6,h7');
    const merged = (await cli('export', runs[0].id, '--format', 'merged', '--out', join(tmp, 'merged')));
    expect(merged.code, merged.err).toBe(0);
    // The merged model runs in the plain runtime and gives the LoFIT accuracy without any intervention.
    const ev = JSON.parse((await cli('eval', '--model', join(tmp, 'merged'), '--task', 'fact-edit', '--json')).out);
    expect(ev.accuracy).toBeCloseTo(j.test.accuracy, 5);
    const imported = JSON.parse((await cli('import', join(tmp, 'heads.npy'), '--model', 'demo-llama', '--json')).out);
    expect(imported).toMatchObject({ kind: 'lofit', heads: j.selected });
  });

  it('iti ranks heads by held-out probe accuracy', async () => {
    const out = join(tmp, 'iti');
    const r = (await cli('iti', '--model', 'demo-gpt2', '--task', 'truthful', '--k', '3', '--out', out, '--json'));
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.accuracy).toHaveLength(4);
    expect(j.selected).toHaveLength(3);
    for (const row of j.accuracy) {
      for (const v of row) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
    }
  });

  it('bad K, λ and loss are refused by name', async () => {
    for (const [extra, msg] of [
      [['--k', '0'], /k/],
      [['--k', '33'], /33/],
      [['--lambda', '-1'], /λ|lambda|l1/i],
      [['--loss', 'mse'], /--loss must be ce or dpo/],
    ] as [string[], RegExp][]) {
      const r = (await cli('lofit', '--model', 'demo-gpt2', '--task', 'fact-edit', '--out', join(tmp, 'bad'), ...extra));
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(msg);
    }
  });

  it('head-patterns prints three layers × heads matrices as text and JSON, and names a length the model cannot hold', async () => {
    const r = await cli('head-patterns', '--model', 'demo-llama', '--sequences', '8', '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ model: 'demo-llama', sequences: 8, length: 8, seed: 0 });
    for (const key of ['previousToken', 'duplicateToken', 'induction']) {
      expect(j[key]).toHaveLength(4);
      for (const v of j[key].flat()) expect(v >= 0 && v <= 1, `${key} ${v}`).toBe(true);
    }
    const text = await cli('head-patterns', '--model', 'demo-llama', '--sequences', '8');
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(/previous token[\s\S]*duplicate token[\s\S]*induction/);
    const fromTask = JSON.parse((await cli('head-patterns', '--model', 'demo-llama', '--sequences', '2', '--task', 'induction', '--json')).out);
    expect(fromTask).toMatchObject({ tokensFrom: 'induction', poolSize: 50 });
    const bad = await cli('head-patterns', '--model', 'demo-gpt2', '--length', '40');
    expect(bad.code, bad.err).toBe(2);
    expect(bad.err).toMatch(/length 40 repeated twice after BOS is 81 tokens, more than the model's 64 positions/);
  });
});
