import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'subspace-cli-comparisons-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(args, { SUBSPACE_BACKEND: 'wasm', SUBSPACE_DATA_DIR: join(tmp, 'data') });

describe('subspace lofit --heads-from, baseline and ablate', () => {
  it('tunes K random heads (seeded) with step 2 only, and heads from an earlier export', async () => {
    const out = join(tmp, 'random');
    const r = await cli('lofit', '--model', 'demo-gpt2', '--task', 'truthful', '--heads-from', 'random', '--k', '3', '--seed', '5', '--epochs', '1', '--out', out, '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.headsFrom).toBe('random');
    expect(j.selected).toHaveLength(3);
    expect(j.parameters).toBe(3 * 16);
    expect(j.selectLoss).toBeUndefined(); // no step 1
    // The score matrix marks the chosen heads.
    expect(j.scores.flat().reduce((a: number, v: number) => a + v, 0)).toBe(3);
    const again = JSON.parse((await cli('lofit', '--model', 'demo-gpt2', '--task', 'truthful', '--heads-from', 'random', '--k', '3', '--seed', '5', '--epochs', '1', '--out', join(tmp, 'random2'), '--json')).out);
    expect(again.selected).toEqual(j.selected);
    const reuse = JSON.parse((await cli('lofit', '--model', 'demo-gpt2', '--task', 'truthful', '--heads-from', out, '--epochs', '1', '--out', join(tmp, 'reuse'), '--json')).out);
    expect(reuse.selected).toEqual(j.selected);
  });

  it('runs RED and reports its parameter count; refuses unknown methods, bad ranks and negative coefficients', async () => {
    const r = await cli('baseline', '--model', 'demo-gpt2', '--task', 'truthful', '--method', 'red', '--layers', '3', '--epochs', '1', '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ method: 'red', metric: 'mc1', parameters: 2 * 128 });
    expect(j.score).toBe(j.test.preferCorrect);
    for (const [args, msg] of [
      [['--method', 'prefix'], /unknown baseline 'prefix' \(known: red, lora, repe\)/],
      [['--method', 'lora', '--rank', '200'], /LoRA rank 200 is larger than the width/],
      [['--method', 'repe', '--coefficient=-1'], /coefficient must be a number ≥ 0/],
      [['--method', 'red', '--lr', '-0.1'], /learning rate must be positive/],
    ] as [string[], RegExp][]) {
      const bad = await cli('baseline', '--model', 'demo-gpt2', '--task', 'truthful', ...args);
      expect(bad.code, bad.err).toBe(2);
      expect(bad.err).toMatch(msg);
    }
  });

  it('ablates every head and ranks them; bad K and sources are refused', async () => {
    const r = await cli('ablate', '--model', 'demo-llama', '--task', 'truthful', '--limit', '4', '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.effect).toHaveLength(4);
    expect(j.effect[0]).toHaveLength(8);
    expect(j.ranked).toHaveLength(32);
    const [l, h] = j.ranked[0];
    expect(Math.abs(j.effect[l][h])).toBe(Math.max(...j.effect.flat().map(Math.abs)));
    for (const [args, msg] of [
      [['--heads-from', 'random', '--k', '0'], /k = 0 must be a whole number of heads from 1 to 32/],
      [['--heads-from', 'random', '--k', '40'], /k = 40/],
      [['--heads-from', 'nowhere'], /neither random, iti, all nor an export folder/],
    ] as [string[], RegExp][]) {
      const bad = await cli('lofit', '--model', 'demo-gpt2', '--task', 'truthful', '--out', join(tmp, 'bad'), ...args);
      expect(bad.code, bad.err).toBe(2);
      expect(bad.err).toMatch(msg);
    }
  });
});
