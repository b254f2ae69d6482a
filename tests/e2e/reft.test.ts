/**
 * The ReFT view end to end in browser mode: configure a one-epoch run on a
 * demo model, watch its progress reach the end, and see its learned
 * directions. The number of directions and the step count come from the
 * configuration (LoReFT rank r: r rows of R and r of W; one epoch of n train
 * examples in batches of b is ceil(n / b) steps), not from the app.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { browserSkipReason, browserSuite, ROOT, screenshot } from './harness.js';

const skip = browserSkipReason();
const TIMEOUT = 90_000;
const TASK = 'fact-recall';
const RANK = 2;
const BATCH = 48;

describe.skipIf(!!skip)(`ReFT view in Chromium${skip ? ` (${skip})` : ''}`, () => {
  const suite = browserSuite();

  it('trains a ReFT run, shows its progress to the end and its learned directions', async () => {
    const { context, page, watch } = await suite.open('#/reft');
    await page.getByRole('heading', { level: 1, name: 'ReFT' }).waitFor({ timeout: TIMEOUT });

    const form = page.getByRole('form', { name: 'ReFT run' });
    await form.getByLabel('Model').selectOption({ label: 'demo-gpt2' });
    await form.getByLabel('Task').selectOption(TASK);
    await form.getByLabel('Type').selectOption('LoReFT');
    await form.getByLabel('Rank').fill(String(RANK));
    await form.getByLabel('Epochs').fill('1');
    await form.getByLabel('Batch size').fill(String(BATCH));
    await form.getByRole('button', { name: 'Train' }).click();

    const manifest = JSON.parse(readFileSync(join(ROOT, 'assets', 'tasks', TASK, 'manifest.json'), 'utf8')) as { sizes: { train: number; dev: number } };
    const steps = Math.ceil(manifest.sizes.train / BATCH);
    const status = page.getByTestId('reft-step');
    await expect.poll(async () => (await status.innerText().catch(() => '')).trim(), { timeout: TIMEOUT, interval: 500 }).toBe(`done: ${steps} of ${steps} steps`);
    const bar = page.getByRole('progressbar', { name: 'Training progress' });
    expect(await bar.getAttribute('aria-valuenow')).toBe(String(steps));

    // The directions: r rows of R and r of W, each with the tokens it promotes.
    const table = page.getByRole('table', { name: 'Learned directions' });
    await table.waitFor({ timeout: TIMEOUT });
    const rows = table.locator('tbody tr');
    expect(await rows.count()).toBe(2 * RANK);
    expect(await rows.locator('th').allInnerTexts()).toEqual(['L2 R[0]', 'L2 R[1]', 'L2 W[0]', 'L2 W[1]']);
    expect(await rows.first().locator('td').first().locator('.token-chip').count()).toBe(8);

    // The cosine heatmap is square over the run's own directions, and the scatter appears.
    await page.getByRole('img', { name: 'Cosine similarity between directions' }).waitFor({ timeout: TIMEOUT });
    await page.getByRole('region', { name: 'Representations on two directions' }).locator('figure').waitFor({ timeout: TIMEOUT });
    await page.getByRole('heading', { name: 'Projections of the representations' }).waitFor({ timeout: TIMEOUT });
    // One point per dev example (the default split).
    expect(await page.getByRole('region', { name: 'Representations on two directions' }).locator('figure p').first().innerText()).toContain(`${manifest.sizes.dev} dev examples of ${TASK}`);

    // Generations before and after, on the first test prompt of the task.
    const gen = page.getByRole('region', { name: 'Generations before and after' });
    await expect.poll(async () => (await gen.getByLabel('Prompt').inputValue()).length, { timeout: TIMEOUT }).toBeGreaterThan(0);
    await gen.getByRole('button', { name: 'Generate' }).click();
    const pair = gen.locator('figure.generation');
    await expect.poll(() => pair.count(), { timeout: TIMEOUT }).toBe(2);
    expect(await pair.nth(0).locator('figcaption').innerText()).toBe('Before (base model)');
    expect(await pair.nth(1).locator('figcaption').innerText()).toBe('After (with the intervention)');

    await page.locator('.app-main').evaluate((el) => el.scrollTo(0, 0));
    await screenshot(page, 'reft');
    await page.getByRole('region', { name: 'Cosine similarity' }).scrollIntoViewIfNeeded();
    await screenshot(page, 'reft-directions');
    await gen.scrollIntoViewIfNeeded();
    await screenshot(page, 'reft-generations');
    await page.getByRole('button', { name: /Switch to dark theme/ }).click();
    await page.getByRole('region', { name: 'Representations on two directions' }).scrollIntoViewIfNeeded();
    await screenshot(page, 'reft-dark');
    expect(watch.problems).toEqual([]);
    await context.close();
  }, 180_000);
});
