import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'subspace-cli-reft-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'subspace.js'), ...args], { encoding: 'utf8', env: { ...process.env, SUBSPACE_BACKEND: 'wasm', SUBSPACE_DATA_DIR: join(tmp, 'data') }, timeout: 300_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('subspace reft on a demo model', () => {
  const out = join(tmp, 'reft1');

  it('trains, evaluates, saves; eval, generate and directions read the export back', () => {
    const r = cli('reft', '--model', 'demo-gpt2', '--task', 'fact-edit', '--layers', '2', '--rank', '4', '--positions', 'f1+l1', '--epochs', '1', '--out', out, '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.parameters).toBe(2 * 128 * 4 + 4);
    expect(j.test.n).toBe(200);
    expect(j.test.accuracy).toBeGreaterThan(j.baseTest.accuracy);
    expect(existsSync(join(out, 'manifest.json'))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).model.name).toBe('demo-gpt2');

    const ev = JSON.parse(cli('eval', '--model', 'demo-gpt2', '--task', 'fact-edit', '--intervention', out, '--json').out);
    expect(ev.accuracy).toBeCloseTo(j.test.accuracy, 5);

    const g = cli('generate', '--model', 'demo-gpt2', '--intervention', out, '--prompt', 'In this story the capital of Voland is Maro . the capital of Voland is', '--max-new-tokens', '2', '--json');
    expect(g.code, g.err).toBe(0);
    expect(JSON.parse(g.out).tokens).toHaveLength(2);

    const runs = JSON.parse(cli('runs', '--json').out);
    expect(runs.length).toBeGreaterThanOrEqual(1);
    expect(runs.find((x: { id: string }) => x.id === j.run)).toMatchObject({ kind: 'reft', status: 'succeeded' });
    const shown = JSON.parse(cli('show', j.run, '--json').out);
    expect(shown.metrics.loss.points).toBeGreaterThan(10);
    expect(shown.artifacts.map((a: { path: string }) => a.path.split('/').pop()).sort()).toEqual(['manifest.json', 'weights.safetensors']);

    const py = cli('export', j.run, '--format', 'pyreft', '--out', join(tmp, 'pyreft'));
    expect(py.code, py.err).toBe(0);
    const imp = JSON.parse(cli('import', join(tmp, 'pyreft'), '--model', 'demo-gpt2', '--json').out);
    expect(imp.kind).toBe('reft');
    const again = JSON.parse(cli('show', imp.run, '--json').out);
    expect(again.run.status).toBe('succeeded');

    const d = JSON.parse(cli('directions', '--intervention', out, '--top', '3', '--json').out);
    expect(d.directions.length).toBe(8); // 4 rows of R and 4 of W
    expect(d.directions[0].top).toHaveLength(3);
  });

  it('refuses bad settings with one line naming the problem', () => {
    const cases: [string[], RegExp][] = [
      [['--rank', '500'], /rank 500 must be a whole number from 1 to the site's width 128/],
      [['--layers', '9'], /layer 9 is out of range/],
      [['--component', 'residual'], /unknown component 'residual'/],
      [['--positions', 'f1+x2'], /f1\+x2/],
    ];
    for (const [extra, msg] of cases) {
      const r = cli('reft', '--model', 'demo-gpt2', '--task', 'fact-edit', '--out', join(tmp, 'bad'), ...extra);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(msg);
    }
    const wrongModel = cli('eval', '--model', 'demo-llama', '--task', 'fact-edit', '--intervention', out);
    expect(wrongModel.code).toBe(2);
    expect(wrongModel.err).toMatch(/made for demo-gpt2/);
  });
});
