/**
 * Runs view end to end (browser mode): two small ReFT runs on the toy model, compared in the
 * view (final metrics, overlaid loss curves), then one deleted after its confirmation.
 */
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
});
