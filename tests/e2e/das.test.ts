/**
 * DAS in the Interchange view end to end (browser mode): a DAS run at one site and a DAS search
 * started from the view on demo-gpt2 / hierarchical-equality run as 'das' jobs; the view shows
 * the site's IIA and the search's layer × position IIA heatmap, with the values the run stored.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { apiCall, browserSkipReason, browserSuite, screenshot } from './harness.js';

const skip = browserSkipReason();
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Tiny settings: a few pairs, one epoch, a 4-dimensional subspace. */
async function fillDas(page: Page, what: 'das' | 'das-search') {
  const form = page.getByRole('form', { name: 'Start a sweep' });
  await form.getByLabel('Task').selectOption('hierarchical-equality');
  await form.getByLabel('Sweep').selectOption(what);
  await form.getByLabel('Variable').selectOption('w=x');
  await form.getByLabel('Dim').fill('4');
  await form.getByLabel('Epochs').fill('1');
  await form.getByLabel('Train pairs').fill('16');
  await form.getByLabel('Test pairs').fill('8');
}

describe.skipIf(!!skip)(`DAS in the Interchange view${skip ? ` (${skip})` : ''}`, () => {
  const suite = browserSuite();

  it('trains DAS at one site and runs a DAS search; shows the IIA and the heatmap the runs stored', async () => {
    const { context, page, watch } = await suite.open('#/interchange');
    await page.getByRole('heading', { level: 1, name: 'Interchange' }).waitFor();

    // ---- one site: layer 2, END
    await fillDas(page, 'das');
    const form = page.getByRole('form', { name: 'Start a sweep' });
    await form.getByLabel('Layer').selectOption('2');
    await form.getByLabel('Position').selectOption('END');
    await form.getByRole('button', { name: 'Train DAS' }).click();
    await page.getByRole('progressbar', { name: /DAS w=x at L2 END on hierarchical-equality progress/ }).waitFor();
    await page.getByTestId('das-iia').waitFor({ timeout: 60_000 });
    await expect.poll(() => page.getByTestId('ix-job-status').textContent()).toBe('done');

    const site = (await apiCall(suite.app, 'runs.list', { filters: { kind: ['das'] } })).runs;
    expect(site).toHaveLength(1);
    expect(site[0].status).toBe('succeeded');
    const siteRun = site[0].id as string;
    const stored = (await apiCall(suite.app, 'interchange.result', { runId: siteRun })).result;
    expect(stored).toMatchObject({ variable: 'w=x', dim: 4, site: { layer: 2, position: 'END' }, test: { n: 8 } });
    const iia = stored.test.iia as number;
    expect(iia).toBeGreaterThanOrEqual(0);
    expect(iia).toBeLessThanOrEqual(1);
    // The metric the job recorded is the same figure.
    const metrics = await apiCall(suite.app, 'runs.metrics', { runId: siteRun, names: ['test.iia'] });
    expect(metrics.series['test.iia'].values.at(-1)).toBe(iia);
    expect(await page.getByTestId('das-iia').textContent()).toBe(pct(iia));
    const status = await page.getByRole('status').filter({ hasText: 'IIA of' }).textContent();
    expect(status).toContain('layer 2 block_output, position END');
    expect(status).toContain('on 8 test pairs');
    await page.locator('section[aria-label="Result"]').scrollIntoViewIfNeeded();
    await screenshot(page, 'das-site');

    // ---- a search over every layer × role
    await page.getByRole('form', { name: 'Start a sweep' }).scrollIntoViewIfNeeded();
    await fillDas(page, 'das-search');
    await form.getByRole('button', { name: 'Run DAS search' }).click();
    await page.getByRole('progressbar', { name: /DAS search w=x on hierarchical-equality progress/ }).waitFor();
    const heatmap = page.locator('svg[data-figure="heatmap"]').first();
    await heatmap.waitFor({ timeout: 60_000 });
    await expect.poll(() => page.getByTestId('ix-job-status').textContent()).toBe('done');

    // The job's own curves stay in view: the loss per step and each layer's best IIA (4 layers).
    const jobSection = page.locator('section[aria-label="New sweep or DAS run"]');
    await jobSection.locator('figure', { hasText: 'Training loss' }).waitFor();
    await jobSection.locator('figure', { hasText: 'Test IIA' }).waitFor();
    const runs = (await apiCall(suite.app, 'runs.list', { filters: { kind: ['das'] }, sort: { by: 'createdAt', direction: 'desc' } })).runs;
    expect(runs).toHaveLength(2);
    const searchRun = runs.find((r: { id: string }) => r.id !== siteRun).id as string;
    const search = (await apiCall(suite.app, 'interchange.result', { runId: searchRun })).result;
    expect(search).toMatchObject({ method: 'das-search', variable: 'w=x', dim: 4, layers: [0, 1, 2, 3], positions: ['W', 'X', 'Y', 'Z', 'END'], testPairs: 8, trainPairs: 16 });
    // demo-gpt2: 4 layers × the task's 5 roles.
    expect(await heatmap.locator('[data-cell]').count()).toBe(20);
    expect(await heatmap.locator('[data-nan]').count()).toBe(0);
    const best = search.best as { layer: number; position: string; iia: number };
    await heatmap.locator(`[data-locked][data-row="${best.layer}"][data-col="${search.positions.indexOf(best.position)}"]`).waitFor();
    expect((await apiCall(suite.app, 'runs.metrics', { runId: searchRun, names: ['iia'] })).series.iia.values).toHaveLength(4);
    const subtitle = await page.locator('section[aria-label="Result"]').textContent();
    expect(subtitle).toContain(`Best: L${best.layer} ${best.position}, ${pct(best.iia)} (ringed)`);

    // The chart's own data (its JSON export) is the stored heatmap, every value an accuracy.
    await page.getByLabel(/^Export DAS IIA for w=x/).click();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'JSON' }).click()]);
    const exported = JSON.parse(readFileSync((await download.path())!, 'utf8')) as { values: number[][]; rows: string[]; cols: string[] };
    expect(exported.rows).toEqual(['L0', 'L1', 'L2', 'L3']);
    expect(exported.cols).toEqual(['W', 'X', 'Y', 'Z', 'END']);
    expect(exported.values).toEqual(search.iia);
    for (const v of exported.values.flat()) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    // Hovering the best cell reads its IIA.
    await heatmap.locator(`[data-cell][data-row="${best.layer}"][data-col="${search.positions.indexOf(best.position)}"]`).hover();
    const tip = page.getByRole('tooltip');
    await tip.waitFor();
    expect(await tip.textContent()).toContain(pct(best.iia));

    await heatmap.scrollIntoViewIfNeeded();
    await screenshot(page, 'das-search');
    await page.evaluate(() => (document.documentElement.dataset.theme = 'dark'));
    await screenshot(page, 'das-search-dark');
    await page.getByLabel('Run', { exact: true }).selectOption(siteRun);
    await page.getByTestId('das-iia').waitFor();
    await screenshot(page, 'das-site-dark');
    expect(watch.problems).toEqual([]);
    await context.close();
  }, 150_000);
});
