import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'subspace-cli-reft-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(args, { SUBSPACE_BACKEND: 'wasm', SUBSPACE_DATA_DIR: join(tmp, 'data') });

describe('subspace reft on a demo model', () => {
  const out = join(tmp, 'reft1');

  it('trains, evaluates, saves; eval, generate and directions read the export back', async () => {
    const r = (await cli('reft', '--model', 'demo-gpt2', '--task', 'fact-edit', '--layers', '2', '--rank', '4', '--positions', 'f1+l1', '--epochs', '1', '--out', out, '--json'));
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.parameters).toBe(2 * 128 * 4 + 4);
    expect(j.test.n).toBe(200);
    expect(j.test.meanLogitDiff).not.toBe(j.baseTest.meanLogitDiff); // the intervention is applied at test time
    expect(j.dev).toHaveLength(1);
    expect(existsSync(join(out, 'manifest.json'))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).model.name).toBe('demo-gpt2');

    const ev = JSON.parse((await cli('eval', '--model', 'demo-gpt2', '--task', 'fact-edit', '--intervention', out, '--json')).out);
    expect(ev.accuracy).toBeCloseTo(j.test.accuracy, 5);

    const g = (await cli('generate', '--model', 'demo-gpt2', '--intervention', out, '--prompt', 'In this story the capital of Voland is Maro . the capital of Voland is', '--max-new-tokens', '2', '--json'));
    expect(g.code, g.err).toBe(0);
    expect(JSON.parse(g.out).tokens).toHaveLength(2);
    // Word-level tokenizers: the continuation keeps the space that separates it from the prompt.
    const plain = JSON.parse((await cli('generate', '--model', 'demo-llama', '--prompt', 'the capital of Voland is', '--max-new-tokens', '1', '--json')).out);
    expect(plain.completion).toBe(' Teris');

    const runs = JSON.parse((await cli('runs', '--json')).out);
    expect(runs.length).toBeGreaterThanOrEqual(1);
    expect(runs.find((x: { id: string }) => x.id === j.run)).toMatchObject({ kind: 'reft', status: 'succeeded' });
    const shown = JSON.parse((await cli('show', j.run, '--json')).out);
    expect(shown.metrics.loss.points).toBeGreaterThan(10);
    expect(shown.artifacts.map((a: { path: string }) => a.path.split('/').pop()).sort()).toEqual(['manifest.json', 'weights.safetensors']);

    const py = (await cli('export', j.run, '--format', 'pyreft', '--out', join(tmp, 'pyreft')));
    expect(py.code, py.err).toBe(0);
    const imp = JSON.parse((await cli('import', join(tmp, 'pyreft'), '--model', 'demo-gpt2', '--json')).out);
    expect(imp.kind).toBe('reft');
    const again = JSON.parse((await cli('show', imp.run, '--json')).out);
    expect(again.run.status).toBe('succeeded');

    const d = JSON.parse((await cli('directions', '--intervention', out, '--top', '3', '--json')).out);
    expect(d.directions.length).toBe(8); // 4 rows of R and 4 of W
    expect(d.directions[0].top).toHaveLength(3);
  });

  it('refuses bad settings with one line naming the problem', async () => {
    const cases: [string[], RegExp][] = [
      [['--rank', '500'], /rank 500 must be a whole number from 1 to the site's width 128/],
      [['--layers', '9'], /layer 9 is out of range/],
      [['--component', 'residual'], /unknown component 'residual'/],
      [['--positions', 'f1+x2'], /f1\+x2/],
    ];
    for (const [extra, msg] of cases) {
      const r = (await cli('reft', '--model', 'demo-gpt2', '--task', 'fact-edit', '--out', join(tmp, 'bad'), ...extra));
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(msg);
    }
    const wrongModel = (await cli('eval', '--model', 'demo-llama', '--task', 'fact-edit', '--intervention', out));
    expect(wrongModel.code).toBe(2);
    expect(wrongModel.err).toMatch(/made for demo-gpt2/);
  });
});
