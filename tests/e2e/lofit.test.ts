/**
 * The LoFIT view end to end (browser mode): run LoFIT and ITI on a few examples of a built-in task,
 * see the head-score heatmap with layers × heads cells and the top K outlined, toggle a head, then
 * export and find the files on disk. Skipped, with the reason in its name, where Chromium is not
 * installed.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserSkipReason, browserSuite, ROOT, screenshot, SCREENSHOTS } from './harness.js';

const skip = browserSkipReason();
if (skip) console.warn(`end-to-end tests of the LoFIT view ${skip}`);
const TIMEOUT = 90_000;
const K = 4;

const demo = JSON.parse(readFileSync(join(ROOT, 'assets', 'models', 'demo-gpt2', 'config.json'), 'utf8')) as { n_layer: number; n_head: number };

/** Each section of the view on its own (the page scrolls inside the app's main area). */
async function sectionShots(page: Page, theme: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  for (const name of ['Run LoFIT', 'Jobs', 'Heads', 'Accuracy against K']) {
    await page.locator(`section[aria-label="${name}"]`).screenshot({ path: join(SCREENSHOTS, `lofit-${name.toLowerCase().replace(/ /g, '-')}-${theme}.png`) });
  }
}

async function fill(page: Page, label: string, value: string): Promise<void> {
  await page.getByLabel(label, { exact: true }).fill(value);
}

describe.skipIf(!!skip)(`LoFIT view in Chromium${skip ? ` (${skip})` : ''}`, () => {
  const suite = browserSuite();
  let out: string;

  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'subspace-lofit-export-'));
  });

  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('runs LoFIT, shows layers × heads scores with the top K outlined, and exports files', { timeout: 180_000 }, async () => {
    const { context, page, watch } = await suite.open('#/lofit');
    await page.getByRole('heading', { level: 1, name: 'LoFIT' }).waitFor({ timeout: TIMEOUT });

    await page.getByLabel('Model', { exact: true }).selectOption('demo-gpt2');
    await page.getByLabel('Task', { exact: true }).selectOption('ioi');
    await fill(page, 'Examples per split', '16');
    await fill(page, 'K', String(K));
    await fill(page, 'Epochs', '1');
    await page.getByRole('button', { name: 'Run LoFIT' }).click();

    // Progress shows while it runs, then the heatmap: one cell per (layer, head), K outlined.
    await page.getByRole('progressbar', { name: 'LoFIT steps 1 + 2 progress' }).waitFor({ timeout: TIMEOUT });
    const map = page.locator('svg[aria-label="LoFIT head scores ‖A‖"]');
    await map.waitFor({ timeout: TIMEOUT });
    await expect.poll(() => map.locator('[data-cell]').count(), { timeout: TIMEOUT }).toBe(demo.n_layer * demo.n_head);
    await expect.poll(() => map.locator('[data-outline]').count(), { timeout: TIMEOUT }).toBe(K);
    const rows = new Set(await map.locator('[data-cell]').evaluateAll((els) => els.map((e) => e.getAttribute('data-row'))));
    const cols = new Set(await map.locator('[data-cell]').evaluateAll((els) => els.map((e) => e.getAttribute('data-col'))));
    expect([rows.size, cols.size]).toEqual([demo.n_layer, demo.n_head]);

    // Both jobs end, and the ITI probe accuracy appears beside the scores.
    await expect.poll(async () => (await page.getByTestId('lofit-job-status').allInnerTexts()).join('|'), { timeout: TIMEOUT }).toBe('done|done');
    const iti = page.locator('svg[aria-label="ITI probe accuracy"]');
    await iti.waitFor({ timeout: TIMEOUT });
    expect(await iti.locator('[data-cell]').count()).toBe(demo.n_layer * demo.n_head);
    expect(await iti.locator('[data-outline]').count()).toBe(K);
    await page.getByTestId('lofit-jaccard').waitFor({ timeout: TIMEOUT });

    // A click on a head outside the selection adds it; the re-run button counts it.
    const outlined = new Set(await map.locator('[data-outline]').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-row')}:${e.getAttribute('data-col')}`)));
    const free = (await map.locator('[data-cell]').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-row')}:${e.getAttribute('data-col')}`))).find((c) => !outlined.has(c))!;
    const [r, c] = free.split(':');
    await map.locator(`[data-cell][data-row="${r}"][data-col="${c}"]`).click();
    await expect.poll(() => map.locator('[data-outline]').count()).toBe(K + 1);
    await page.getByRole('button', { name: `Re-run step 2 with these ${K + 1} heads` }).waitFor();
    await screenshot(page, 'lofit-view');
    await sectionShots(page, 'light');
    await page.keyboard.press('Control+Shift+KeyL');
    await sectionShots(page, 'dark');
    await page.keyboard.press('Control+Shift+KeyL');

    // Export into a fresh folder; the view lists what was written, and it is on disk.
    await page.getByPlaceholder('/path/to/export-folder').fill(out);
    await page.getByRole('button', { name: 'Use' }).click();
    const files = page.getByTestId('lofit-exported-file');
    await files.first().waitFor({ timeout: TIMEOUT });
    const listed = (await files.allInnerTexts()).map((t) => t.trim());
    expect(listed).toEqual(expect.arrayContaining(['lofit-npy/top_heads.npy', 'tables/head-scores.csv', 'tables/head-scores.json', 'native/manifest.json']));
    for (const f of listed) expect(statSync(join(out, f)).size).toBeGreaterThan(0);
    // The CSV holds one row per layer and one column per head.
    const csv = readFileSync(join(out, 'tables', 'head-scores.csv'), 'utf8').trim().split('\n');
    expect(csv.length).toBeGreaterThanOrEqual(2);
    expect(existsSync(join(out, 'native', 'manifest.json'))).toBe(true);

    // Step 2 again on the hand-edited selection: a run with the given list appears with K + 1 heads.
    await page.getByRole('button', { name: `Re-run step 2 with these ${K + 1} heads` }).click();
    const table = page.getByRole('table', { name: 'LoFIT runs on this model and task' });
    const given = table.locator('tr', { hasText: 'given list' });
    await expect.poll(async () => (await given.count()) > 0 && (await given.first().innerText()), { timeout: TIMEOUT }).toMatch(/succeeded/);
    const cells = (await given.first().locator('td').allInnerTexts()).map((t) => t.trim());
    expect(cells[3]).toBe(String(K + 1));
    expect(cells[4]).toContain(`L${r}H${c}`);

    expect(watch.problems).toEqual([]);
    await context.close();
  });
});
