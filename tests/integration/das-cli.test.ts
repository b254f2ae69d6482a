import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src-main/store/index.js';
import { runCli } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'subspace-cli-das-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(args, { SUBSPACE_BACKEND: 'wasm', SUBSPACE_DATA_DIR: join(tmp, 'data') });
const task = ['--model', 'demo-gpt2', '--task', 'hierarchical-equality', '--variable', 'w=x'];
const small = ['--epochs', '1', '--n-train', '32', '--n-test', '24', '--batch', '16'];

describe('subspace das on a demo model', () => {
  it('trains at one site, saves the export, records the run; --search prints and saves the heatmap', async () => {
    const out = join(tmp, 'das1');
    const r = await cli('das', ...task, '--layer', '2', '--position', 'END', '--dim', '4', '--variant', 'lowrank', ...small, '--out', out, '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ method: 'das', model: 'demo-gpt2', task: 'hierarchical-equality', variable: 'w=x', variant: 'lowrank', pyveneClass: 'LowRankRotatedSpaceIntervention', dim: 4, parameters: 128 * 4, trainPairs: 32, cacheMode: 'window' });
    expect(j.site).toMatchObject({ layer: 2, component: 'block_output', position: 'END', width: 128 });
    expect(j.test.n).toBe(24);
    expect(j.test.iia).toBeGreaterThanOrEqual(0);
    expect(j.test.iia).toBeLessThanOrEqual(1);
    expect(j.loss).toHaveLength(2);
    expect(j.orthonormalityError).toBeLessThan(1e-5);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.method).toBe('das');
    expect(manifest.sites[0]).toMatchObject({ layer: 2, position: 'END', variable: 'w=x', variant: 'lowrank', dim: 4 });

    const s = await cli('das', '--search', ...task, '--layers', '1,3', '--positions', 'X,END', ...small, '--out', join(tmp, 'search.json'));
    expect(s.code, s.err).toBe(0);
    expect(s.out).toMatch(/layer\s+X\s+END/);
    expect(s.out).toMatch(/^\s*L1\s+\d+\.\d%.*\n\s*L3\s+\d+\.\d%/m);
    expect(s.out).toMatch(/best site: layer [13], position (X|END): IIA \d+\.\d%/);
    const saved = JSON.parse(readFileSync(join(tmp, 'search.json'), 'utf8'));
    expect(saved).toMatchObject({ method: 'das-search', model: 'demo-gpt2', layers: [1, 3], positions: ['X', 'END'], testPairs: 24 });
    expect(saved.iia).toHaveLength(2);
    expect(saved.iia[0]).toHaveLength(2);
    expect(saved.cells).toHaveLength(4);

    const store = openStore(join(tmp, 'data', 'subspace.db'));
    try {
      const runs = store.listRuns({ kind: 'das' });
      expect(runs.map((x) => `${x.kind}:${x.status}`)).toEqual(['das:succeeded', 'das:succeeded']);
      expect(store.listArtifacts(j.run).map((a) => a.path.split('/').pop()).sort()).toEqual(['manifest.json', 'weights.safetensors']);
      expect(store.getMetrics(j.run).loss.steps).toHaveLength(2);
      const searchRun = runs.find((x) => x.id !== j.run)!;
      expect(store.listArtifacts(searchRun.id).map((a) => a.kind)).toEqual(['das-search']);
      expect(store.getMetrics(searchRun.id).iia.steps).toHaveLength(2); // each layer's best, as its sites finish
    } finally {
      store.close();
    }
  });

  it('refuses bad settings with one line naming the problem', async () => {
    // The engine's tests cover every refusal; here, that the command reports them and records no run.
    const cases: [string[], RegExp][] = [
      [['--layer', '2', '--position', 'END', '--dim', '500'], /subspace dimension 500 must be a whole number from 1 to the site's width 128/],
      [['--search', '--positions', 'X,Q'], /position role 'Q' is not defined by task 'hierarchical-equality'; it defines: W, X, Y, Z, END, first, last/],
    ];
    for (const [extra, msg] of cases) {
      const r = await cli('das', ...task, ...extra, '--out', join(tmp, 'bad'));
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(msg);
    }
    expect(existsSync(join(tmp, 'bad'))).toBe(false);
    const store = openStore(join(tmp, 'data', 'subspace.db'));
    try {
      expect(store.listRuns({ kind: 'das' }).map((x) => x.status)).toEqual(['succeeded', 'succeeded']);
    } finally {
      store.close();
    }
  });
});
