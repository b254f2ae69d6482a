/**
 * Runs view end to end (browser mode): two small ReFT runs on the toy model, compared in the
 * view (final metrics, overlaid loss curves), then one deleted after its confirmation; a patching
 * sweep's result tables exported as CSV and JSON from the view, with the files it wrote listed;
 * LoFIT and ITI runs on an unnamed inline task: a readable task label, every phase's loss curve,
 * and a head overlap over the runs that chose heads only.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toyTask } from '../helpers/toy-task.js';
import { apiCall, browserSkipReason, browserSuite, screenshot, TOY_MODEL } from './harness.js';

const skip = browserSkipReason();

describe.skipIf(!!skip)(`Runs view${skip ? ` (${skip})` : ''}`, () => {
  const suite = browserSuite();
  const call = (method: string, payload: unknown) => apiCall(suite.app, method, payload);

  it('compares two runs', async () => {
    const ids: string[] = [];
    for (const [name, lr] of [['toy reft lr 0.01', 0.01], ['toy reft lr 0.05', 0.05]] as const) {
      const r = await call('jobs.start', { kind: 'reft', model: TOY_MODEL, task: { name: 'toy', examples: toyTask(16, 1) }, config: { layers: [1], epochs: 3, batchSize: 8, lr }, name });
      ids.push(r.runId);
    }
    await expect.poll(async () => (await call('runs.list', { filters: { status: ['succeeded'] } })).total, { timeout: 90_000, interval: 500 }).toBe(2);

    const { context, page, watch } = await suite.open('#/runs');
    await page.getByRole('heading', { level: 1, name: 'Runs' }).waitFor();
    await page.getByRole('checkbox', { name: 'Compare toy reft lr 0.01' }).check();
    await page.getByRole('checkbox', { name: 'Compare toy reft lr 0.05' }).check();
    await page.getByRole('button', { name: 'Compare 2 runs' }).click();
    const table = page.getByRole('table', { name: 'Final metrics' });
    await table.waitFor();
    // Final loss of each run, as the store has it.
    const metrics = await Promise.all(ids.map((runId) => call('runs.metrics', { runId, names: ['loss'] })));
    const text = await table.textContent();
    for (const m of metrics) expect(text).toContain((m.series.loss.values.at(-1) as number).toFixed(4));
    // The config difference (lr) is listed, and the loss curves are overlaid, one line per run.
    expect(text).toContain('config lr');
    await page.locator('section[aria-label="Compare 2 runs"] .js-plotly-plot').first().waitFor();
    expect(await page.locator('section[aria-label="Compare 2 runs"] .js-plotly-plot .scatterlayer .trace').count()).toBe(2);
    // Filters: kind patch shows none.
    await page.getByLabel('Kind filter').selectOption('patch');
    await page.getByText('No runs match these filters.').waitFor();
    await page.getByLabel('Kind filter').selectOption('');
    await screenshot(page, 'runs-compare');

    // Delete one, with confirmation.
    await page.getByRole('button', { name: 'toy reft lr 0.05' }).click();
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('button', { name: 'Delete run' }).click();
    await expect.poll(async () => (await call('runs.list', {})).total).toBe(1);
    await page.getByRole('button', { name: 'toy reft lr 0.05' }).waitFor({ state: 'detached' });
    expect(watch.problems).toEqual([]);
    await context.close();
  }, 180_000);

  it('exports a patching sweep as result tables and lists the files', async () => {
    const out = mkdtempSync(join(tmpdir(), 'subspace-runs-export-'));
    try {
      const { runId } = await call('jobs.start', { kind: 'patch', model: 'demo-gpt2', task: 'ioi', config: { sweep: 'resid', positions: ['S2', 'END'], n: 2 }, name: 'ioi resid sweep' });
      await expect.poll(async () => (await call('runs.get', { runId })).run.status, { timeout: 90_000, interval: 500 }).toBe('succeeded');

      const { context, page, watch } = await suite.open('#/runs');
      await page.getByRole('button', { name: 'ioi resid sweep' }).click();
      const format = page.getByLabel('Export format');
      await format.waitFor();
      expect(await format.locator('option').allTextContents()).toEqual(['result tables CSV', 'result tables JSON']);
      await page.getByText('patch-resid-logit-diff.csv').waitFor();

      // Browser mode: the folder is typed.
      await page.getByLabel('Export to folder').fill(out);
      await page.getByRole('button', { name: 'Use' }).click();
      const files = page.getByTestId('runs-exported-file');
      await expect.poll(() => files.allTextContents()).toEqual([join(out, 'patch-resid-logit-diff.csv')]);
      expect(readFileSync(join(out, 'patch-resid-logit-diff.csv'), 'utf8').split('\n')[0]).toBe('layer,S2,END');
      expect(await page.getByRole('table', { name: 'Exported files' }).textContent()).toContain('4 × 2');

      await format.selectOption('json');
      await page.getByRole('button', { name: 'Use' }).click();
      await expect.poll(() => files.allTextContents()).toEqual([join(out, 'patch-resid-logit-diff.json')]);
      expect(JSON.parse(readFileSync(join(out, 'patch-resid-logit-diff.json'), 'utf8'))).toMatchObject({ kind: 'patching', rows: ['0', '1', '2', '3'], columns: ['S2', 'END'] });
      await page.getByRole('table', { name: 'Exported files' }).scrollIntoViewIfNeeded();
      await screenshot(page, 'runs-export-tables');
      await page.evaluate(() => (document.documentElement.dataset.theme = 'dark'));
      await screenshot(page, 'runs-export-tables-dark');
      await page.evaluate(() => (document.documentElement.dataset.theme = 'light'));

      // A folder that cannot be made (under a file): the error says why, and no file list is shown.
      const blocker = join(out, 'a-file');
      writeFileSync(blocker, '');
      await page.getByLabel('Export to folder').fill(join(blocker, 'tables'));
      await page.getByRole('button', { name: 'Use' }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toContain(`cannot create ${join(blocker, 'tables')}`);
      expect(await files.count()).toBe(0);

      // A ReFT run has no tables: only its intervention's formats.
      await page.getByRole('button', { name: 'toy reft lr 0.01' }).click();
      await expect.poll(() => page.getByLabel('Export format').locator('option').allTextContents()).toEqual(['native (Subspace)', 'pyreft']);
      // The refused export above is the one failed request the page logs.
      expect(watch.problems.filter((p) => !/status of 400 .*\/api\/runs\.export\)$/.test(p))).toEqual([]);
      expect(watch.problems).toHaveLength(1);
      await context.close();
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 180_000);

  it('labels inline tasks, draws every phase of a loss, and overlaps only the runs that chose heads', async () => {
    const task = { examples: toyTask(16, 4), dev: toyTask(8, 5) };
    const started = await Promise.all([
      call('jobs.start', { kind: 'lofit', model: TOY_MODEL, task, config: { epochs: 1, k: 2 }, name: 'toy lofit' }),
      call('jobs.start', { kind: 'iti', model: TOY_MODEL, task, config: { k: 2 }, name: 'toy iti' }),
    ]);
    const [lofitId, itiId] = started.map((r: { runId: string }) => r.runId);
    for (const runId of [lofitId, itiId]) await expect.poll(async () => (await call('runs.get', { runId })).run.status, { timeout: 90_000, interval: 500 }).toBe('succeeded');
    const reftId = (await call('runs.list', { filters: { kind: ['reft'] } })).runs.find((r: { name: string }) => r.name === 'toy reft lr 0.01').id as string;

    const { context, page, watch } = await suite.open('#/runs');
    await page.getByRole('heading', { level: 1, name: 'Runs' }).waitFor();
    // The task: what it is, not its hash, on one line; the id on hover.
    const taskCell = page.locator(`tr[data-run-id="${lofitId}"] .runs-task`);
    await expect.poll(() => taskCell.textContent()).toBe('inline (24 examples)');
    expect(await taskCell.getAttribute('title')).toMatch(/^inline task inline-[0-9a-f]{16} · 24 examples$/);
    const oneLine = await taskCell.evaluate((el) => el.getBoundingClientRect().height < 2 * parseFloat(getComputedStyle(el).fontSize));
    expect(oneLine).toBe(true);
    expect(await page.locator(`tr[data-run-id="${itiId}"] .runs-task`).textContent()).toBe('inline (24 examples)');
    await screenshot(page, 'runs-inline-tasks');

    // ReFT beside LoFIT: one line per run and loss series; no overlap from a run without heads.
    await page.getByRole('checkbox', { name: 'Compare toy reft lr 0.01' }).check();
    await page.getByRole('checkbox', { name: 'Compare toy lofit' }).check();
    await page.getByRole('button', { name: 'Compare 2 runs' }).click();
    const two = page.locator('section[aria-label="Compare 2 runs"]');
    await two.locator('.js-plotly-plot').first().waitFor();
    const lossSeries = async (runId: string) => Object.entries((await call('runs.metrics', { runId })).series as Record<string, { values: (number | null)[] }>).filter(([n, s]) => /(^|\.)loss$/.test(n) && s.values.filter((v) => v !== null).length > 1).map(([n]) => n).sort();
    expect(await lossSeries(reftId)).toEqual(['loss']);
    expect(await lossSeries(lofitId)).toEqual(['select.loss', 'tune.loss']);
    await expect.poll(() => two.locator('.js-plotly-plot .scatterlayer .trace').count()).toBe(3);
    expect(await two.locator('.js-plotly-plot .legendtext').allTextContents()).toEqual(['toy reft lr 0.01 · loss', 'toy lofit · select.loss', 'toy lofit · tune.loss']);
    await two.getByText('Only toy lofit chose heads (2 heads), so there is no overlap; no head selection: toy reft lr 0.01').waitFor();
    expect(await two.textContent()).not.toContain('Jaccard');
    await two.locator('.js-plotly-plot').first().scrollIntoViewIfNeeded();
    await screenshot(page, 'runs-compare-loss-phases');

    // With ITI too: the overlap is over LoFIT and ITI, as their stored selections give it.
    await page.getByRole('checkbox', { name: 'Compare toy iti' }).check();
    await page.getByRole('button', { name: 'Compare 3 runs' }).click();
    const three = page.locator('section[aria-label="Compare 3 runs"]');
    const chosen = async (runId: string) => new Set(((await call('heads.get', { runId })).selections[0].heads as { layer: number; head: number }[]).map((h) => `${h.layer}.${h.head}`));
    const [a, b] = await Promise.all([chosen(lofitId), chosen(itiId)]);
    const common = [...a].filter((k) => b.has(k)).length;
    const union = new Set([...a, ...b]).size;
    const expected = `${common} head${common === 1 ? '' : 's'} chosen by all 2 runs with a selection, ${union} by any (Jaccard ${(common / union).toFixed(2)}); no head selection: toy reft lr 0.01`;
    await three.getByText(expected).waitFor();
    expect(await three.getByRole('table', { name: 'Head selections' }).textContent()).toContain('no head selection (not in the overlap)');
    await three.getByRole('table', { name: 'Head selections' }).scrollIntoViewIfNeeded();
    await screenshot(page, 'runs-compare-heads');
    await page.evaluate(() => (document.documentElement.dataset.theme = 'dark'));
    await screenshot(page, 'runs-compare-heads-dark');
    await page.evaluate(() => (document.documentElement.dataset.theme = 'light'));
    expect(watch.problems).toEqual([]);
    await context.close();
  }, 180_000);
});
