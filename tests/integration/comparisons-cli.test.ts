import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src-main/store/index.js';
import { runCli } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'subspace-cli-comparisons-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(args, { SUBSPACE_BACKEND: 'wasm', SUBSPACE_DATA_DIR: join(tmp, 'data') });

describe('subspace lofit --heads-from, baseline and ablate (recorded runs)', () => {
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

  it('runs RED, reports and records its figures and result file; refuses unknown methods, and records bad ranks and negative coefficients as failed runs', async () => {
    const r = await cli('baseline', '--model', 'demo-gpt2', '--task', 'truthful', '--method', 'red', '--layers', '3', '--epochs', '1', '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ method: 'red', metric: 'mc1', parameters: 2 * 128 });
    expect(j.score).toBe(j.test.preferCorrect);
    // Recorded: an evaluation run with its config, figures and result file (in the run's folder).
    const { out, ...doc } = j;
    expect(out).toBe(join(tmp, 'data', 'runs', j.run, 'baseline.json'));
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(doc);
    expect(doc.detail.loss.length).toBeGreaterThan(0);
    const shown = JSON.parse((await cli('show', j.run, '--json')).out);
    expect(shown.run.config).toMatchObject({ command: 'baseline', method: 'red', layers: [3], epochs: 1, seed: 42 });
    expect(shown.metrics).toMatchObject({ parameters: { points: 1, last: 256 }, score: { last: j.score }, base: { last: j.base }, 'test.preferCorrect': { last: j.test.preferCorrect }, 'baseTest.meanLogitDiff': { last: j.baseTest.meanLogitDiff } });
    expect(shown.metrics.loss.points).toBeGreaterThan(0);
    expect(shown.artifacts.map((a: { kind: string; path: string }) => [a.kind, a.path])).toEqual([['baseline', out]]);
    // RED's result is single figures: no table to export.
    const csv = await cli('export', j.run, '--format', 'csv', '--out', join(tmp, 'red.csv'));
    expect(csv.code).toBe(2);
    expect(csv.err).toMatch(new RegExp(`run '${j.run}' \\(baseline, succeeded: baseline red truthful on demo-gpt2\\) has no result tables, so it cannot be exported as csv`));

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
    // Settings the engine refuses leave failed runs with the error; an unknown method starts none. Newest first.
    const listed = JSON.parse((await cli('runs', '--kind', 'baseline', '--json')).out);
    expect(listed.map((r: { id: string; name: string; status: string; error: string | null }) => [r.name, r.status, r.error?.split(/[:;]/)[0] ?? null])).toEqual([
      ['baseline red truthful on demo-gpt2', 'failed', 'learning rate must be positive (got -0.1)'],
      ['baseline repe truthful on demo-gpt2', 'failed', 'the RepE coefficient must be a number ≥ 0 (got -1)'],
      ['baseline lora truthful on demo-gpt2', 'failed', 'LoRA rank 200 is larger than the width of the q projection (128 → 128)'],
      ['baseline red truthful on demo-gpt2', 'succeeded', null],
    ]);
    expect(listed[3]).toMatchObject({ id: j.run, kind: 'baseline' });
  });

  it('ablates every head, ranks them and records the run with its effects and ranking; bad K and sources are refused', async () => {
    const r = await cli('ablate', '--model', 'demo-llama', '--task', 'truthful', '--limit', '4', '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.effect).toHaveLength(4);
    expect(j.effect[0]).toHaveLength(8);
    expect(j.ranked).toHaveLength(32);
    const [l, h] = j.ranked[0];
    expect(Math.abs(j.effect[l][h])).toBe(Math.max(...j.effect.flat().map(Math.abs)));
    // Recorded: the result file, the base figures, the effect per head and the ranking.
    const { out, ...doc } = j;
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(doc);
    const listed = JSON.parse((await cli('runs', '--search', 'ablate', '--json')).out);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ id: j.run, kind: 'ablate', status: 'succeeded', name: 'ablate (mean) truthful on demo-llama' });
    const store = openStore({ dataDir: join(tmp, 'data') });
    try {
      expect(store.getRun(j.run)!.config).toEqual({ command: 'ablate', mode: 'mean', split: 'dev', n: 4 });
      expect(store.listArtifacts(j.run).map((a) => [a.kind, a.path])).toEqual([['ablation', out]]);
      const metrics = store.getMetrics(j.run);
      expect(Object.keys(metrics).sort()).toEqual(['base.accuracy', 'base.logitDiff', 'base.preferCorrect', 'n', 'rankedEffect']);
      expect([metrics['base.logitDiff'].values, metrics['base.accuracy'].values, metrics.n.values]).toEqual([[j.base.logitDiff], [j.base.accuracy], [4]]);
      // The ranking: the effect of the head at each rank, largest |effect| first.
      expect(metrics.rankedEffect.steps).toEqual([...Array(32).keys()]);
      expect(metrics.rankedEffect.values).toEqual(j.ranked.map(([a, b]: number[]) => j.effect[a][b]));
      expect(store.getHeadSelection(j.run, 'ablation-ranked')!.heads.map((x) => [x.layer, x.head])).toEqual(j.ranked);
      const scores = store.getHeadScores(j.run, 'ablation-effect')!;
      expect([scores.layers, scores.heads]).toEqual([4, 8]);
      expect(scores.values[2 * 8 + 6]).toBeCloseTo(j.effect[2][6], 5);
    } finally {
      store.close();
    }
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
