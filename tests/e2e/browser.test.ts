/**
 * Browser mode end to end: `subspace serve` on a fresh data folder, the UI in
 * Debian's Chromium. Skipped, with the reason in its name, where Chromium is
 * not installed.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiCall, browserSkipReason, browserSuite, TOY_MODEL } from './harness.js';
import { toyTask } from '../helpers/toy-task.js';
import { dataScenario, jobTrayScenario, modelsScenario } from './scenarios.js';

const skip = browserSkipReason();
if (skip) console.warn(`end-to-end tests of the browser mode (Chromium) ${skip}`);

describe.skipIf(!!skip)(`browser mode in Chromium${skip ? ` (${skip})` : ''}`, () => {
  const suite = browserSuite();
  let context: BrowserContext;
  let page: Page;
  let watch: { problems: string[] };

  beforeEach(async () => {
    let response;
    ({ context, page, watch, response } = await suite.open());
    expect(response?.status()).toBe(200);
  });

  afterEach(async () => {
    await context?.close();
  });

  it('lists the demo models with their architecture', async () => {
    await modelsScenario(page, 'browser-models');
    expect(watch.problems).toEqual([]);
  });

  it('imports a bad CSV and shows the row errors', async () => {
    await dataScenario(page, 'browser-data');
    expect(watch.problems).toEqual([]);
  });

  it('shows a running job with progress, elapsed time and an estimate, and cancels it', async () => {
    const start = async () =>
      (
        await apiCall<{ jobId: string }>(suite.app, 'jobs.start', {
          kind: 'reft',
          model: TOY_MODEL,
          task: { name: 'toy', examples: toyTask(32, 1) },
          config: { layers: [1], epochs: 500, batchSize: 8 },
          name: 'toy reft',
        })
      ).jobId;
    await jobTrayScenario(page, start, 'browser-jobs-dark');
    expect(watch.problems).toEqual([]);
  });

  it('switches views and the theme with the keyboard', async () => {
    await page.getByRole('heading', { level: 1, name: 'Models' }).waitFor();
    await page.keyboard.press('Alt+Shift+Digit2');
    await page.getByRole('heading', { level: 1, name: 'Data' }).waitFor();
    await page.keyboard.press('Alt+Shift+Digit7');
    await page.getByRole('heading', { level: 1, name: 'Runs' }).waitFor();
    expect(page.url()).toMatch(/#\/runs$/);
    const before = await page.evaluate(() => document.documentElement.dataset.theme);
    await page.keyboard.press('Control+Shift+KeyL');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe(before === 'dark' ? 'light' : 'dark');
    // Ctrl+O goes to Models and puts the cursor in the folder field (browser mode has no native dialog).
    await page.keyboard.press('Control+KeyO');
    await page.getByRole('heading', { level: 1, name: 'Models' }).waitFor();
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('placeholder') ?? '')).toContain('/path/to/model');
  });

  it('refuses requests without the token, and with a wrong one', async () => {
    const { app } = suite;
    const call = (token?: string) =>
      fetch(`${app.url}/api/app.info`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(token !== undefined && { 'x-subspace-token': token }) }, body: '{}' });
    const none = await call();
    expect(none.status).toBe(403);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
    expect((await call('0'.repeat(64))).status).toBe(403);
    expect((await call(app.token)).status).toBe(200);
    // The page and its assets too.
    expect((await fetch(`${app.url}/`)).status).toBe(403);
    expect((await fetch(`${app.url}/app.js`)).status).toBe(403);
    const res = await page.goto(`${app.url}/#/models`);
    expect(res?.status()).toBe(403);
    // The events socket as well: a browser's WebSocket without the token never opens.
    const opened = await page.evaluate(
      (url) =>
        new Promise<boolean>((done) => {
          const ws = new WebSocket(url);
          ws.onopen = () => done(true);
          ws.onerror = () => done(false);
        }),
      `${app.url.replace('http', 'ws')}/events`,
    );
    expect(opened).toBe(false);
  });
});
