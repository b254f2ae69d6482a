/**
 * The LoFIT view's cross-task transfer end to end (browser mode): choose two tasks on demo-gpt2 with
 * tiny settings, run the transfer job from the panel, follow its progress, and see the matrix as a
 * heatmap with one cell per task pair, the diagonal outlined, hover values and a JSON export equal
 * to the stored result. Screenshots of the panel in both themes. Skipped, with the reason in its
 * name, where Chromium is not installed.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { apiCall, browserSkipReason, browserSuite, screenshot, SCREENSHOTS } from './harness.js';

const skip = browserSkipReason();
if (skip) console.warn(`end-to-end tests of the transfer panel ${skip}`);
const TIMEOUT = 90_000;
const TASKS = ['hierarchical-equality', 'induction'];

/** The panel at 1280×800: its top (note, form, progress) as the window shows it, then the matrix on its own. */
async function panelShots(page: Page, theme: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.locator('section[aria-label="Cross-task transfer"]').evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await page.screenshot({ path: join(SCREENSHOTS, `transfer-panel-${theme}.png`) });
  const matrix = page.getByTestId('transfer-matrix');
  await matrix.scrollIntoViewIfNeeded();
  await matrix.screenshot({ path: join(SCREENSHOTS, `transfer-matrix-${theme}.png`) });
}

describe.skipIf(!!skip)(`Transfer panel in Chromium${skip ? ` (${skip})` : ''}`, () => {
  const suite = browserSuite();

  it('runs a transfer from the panel and shows the tasks × tasks matrix with the diagonal outlined', { timeout: 150_000 }, async () => {
    const { context, page, watch } = await suite.open('#/lofit');
    await page.getByRole('heading', { level: 1, name: 'LoFIT' }).waitFor({ timeout: TIMEOUT });
    const panel = page.locator('section[aria-label="Cross-task transfer"]');
    await panel.scrollIntoViewIfNeeded();
    await expect.poll(() => panel.innerText()).toContain('No transfer run yet');

    await panel.getByLabel('Transfer model').selectOption('demo-gpt2');
    const boxes = panel.getByRole('checkbox');
    await boxes.first().waitFor({ timeout: TIMEOUT });
    for (const box of await boxes.all()) if (await box.isChecked()) await box.uncheck();
    for (const t of TASKS) await panel.getByLabel(`Task ${t}`, { exact: true }).check();
    await panel.getByLabel('Transfer K').fill('2');
    await panel.getByLabel('Transfer epochs').fill('1');
    await panel.getByLabel('Transfer examples per split').fill('8');
    await expect.poll(() => panel.getByText(/2 chosen/).innerText()).toContain('6 job steps');
    await panel.getByRole('button', { name: 'Run transfer' }).click();

    // Progress in the panel, then the matrix: one cell per (trained task, head-source task).
    await panel.getByRole('progressbar', { name: 'Transfer progress' }).waitFor({ timeout: TIMEOUT });
    // The matrix shows at once, its cells hatched until measured.
    const map = panel.locator('svg[aria-label="Cross-task transfer"]');
    await map.waitFor({ timeout: TIMEOUT });
    mkdirSync(SCREENSHOTS, { recursive: true });
    await panel.getByTestId('transfer-matrix').screenshot({ path: join(SCREENSHOTS, 'transfer-matrix-while-running.png') });
    await expect.poll(() => panel.getByTestId('transfer-job-status').innerText(), { timeout: TIMEOUT }).toBe('done');
    await expect.poll(() => map.locator('[data-nan]').count(), { timeout: TIMEOUT }).toBe(0);
    expect(await map.locator('[data-cell]').count()).toBe(TASKS.length * TASKS.length);
    const outlined = await map.locator('[data-outline]').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-row')}:${e.getAttribute('data-col')}`));
    expect(outlined.sort()).toEqual(TASKS.map((_, i) => `${i}:${i}`));

    // What the panel shows is the stored run.
    const runs = (await apiCall(suite.app, 'runs.list', { filters: { kind: ['transfer'] } })).runs as { id: string; status: string }[];
    expect(runs).toHaveLength(1);
    expect(runs[0].status).toBe('succeeded');
    const result = await apiCall(suite.app, 'transfer.result', { runId: runs[0].id });
    expect(result).toMatchObject({ complete: true, tasks: TASKS, k: 2, settings: { k: 2, epochs: 1, limit: 8 } });
    expect(await panel.getByRole('table', { name: 'Transfer runs' }).locator('tbody tr').count()).toBe(1);

    // Hover reads the cell's value; the JSON export is the stored matrix.
    await map.locator('[data-cell][data-row="1"][data-col="0"]').hover();
    const tip = page.getByRole('tooltip');
    await tip.waitFor();
    const text = (await tip.textContent()) ?? '';
    expect(text).toContain(`${TASKS[1]} with the heads of ${TASKS[0]}`);
    expect(text).toContain((result.matrix[1][0] as number).toFixed(3));
    await panel.getByLabel('Export Cross-task transfer').click();
    const [download] = await Promise.all([page.waitForEvent('download'), panel.getByRole('button', { name: 'JSON' }).click()]);
    const exported = JSON.parse(readFileSync((await download.path())!, 'utf8')) as { values: number[][]; rows: string[]; cols: string[] };
    expect(exported.rows).toEqual(TASKS);
    expect(exported.cols).toEqual(TASKS);
    expect(exported.values).toEqual(result.matrix);
    await page.keyboard.press('Escape');
    await page.mouse.move(0, 0);

    await screenshot(page, 'transfer-view');
    await panelShots(page, 'light');
    await page.keyboard.press('Control+Shift+KeyL');
    await panelShots(page, 'dark');
    await page.keyboard.press('Control+Shift+KeyL');

    expect(watch.problems).toEqual([]);
    await context.close();
  });
});
