/**
 * A tour of every workbench view at 1280×800 in both themes (browser mode): each view opens as a
 * researcher first sees it, with content where it is cheap (a prompt run in the Playground; one
 * small LoFIT + ITI, ReFT and patching run recorded so LoFIT, ReFT, Interchange and Runs have
 * results), shows no errors, and cuts nothing off horizontally: neither the page nor any scrolling
 * panel scrolls sideways, every chart lies inside the window, and no svg label runs past its
 * figure. A screenshot of each is saved in test-results/views/<view>-<theme>.png, with the view's
 * whole length unrolled in <view>-<theme>-full.png. Under an X display (xvfb-run) Chromium runs
 * headed, so the screenshots come from a real X server.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VIEWS, type ViewId } from '../../src-main/api/shell.js';
import { inlineTaskName } from '../../src-renderer/views/lofit/data.js';
import { apiCall, browserSkipReason, buildUiOnce, launchChromiumOnDisplay, ROOT, serveBrowserMode, watchPage, type ServedApp } from './harness.js';

const skip = browserSkipReason();
if (skip) console.warn(`the views tour ${skip}`);
const TIMEOUT = 60_000;
const SHOTS = join(ROOT, 'test-results', 'views');
const THEMES = ['light', 'dark'] as const;
const EXAMPLES = 16;

/** One small run of each kind the views read back; resolves when all of them have succeeded. */
async function recordRuns(app: ServedApp): Promise<void> {
  const split = async (split: string) => (await apiCall<{ examples: unknown[] }>(app, 'tasks.examples', { task: 'ioi', split, limit: EXAMPLES })).examples;
  const [examples, dev, test] = await Promise.all([split('train'), split('dev'), split('test')]);
  // The inline task is named as the LoFIT view names its own, so the view can rebuild it.
  const ioi = { name: inlineTaskName('ioi', EXAMPLES), examples, dev, test, multipleChoice: false };
  const jobs = [
    { kind: 'patch', model: 'demo-gpt2', task: 'ioi', name: 'patch heads ioi on demo-gpt2', config: { sweep: 'heads', n: 2 } },
    { kind: 'lofit', model: 'demo-gpt2', task: ioi, name: 'LoFIT ioi on demo-gpt2', config: { k: 4, epochs: 1 } },
    { kind: 'iti', model: 'demo-gpt2', task: ioi, name: 'ITI ioi on demo-gpt2', config: { k: 4 } },
    { kind: 'reft', model: 'demo-gpt2', task: 'fact-recall', name: 'LoReFT L2 r2 on fact-recall (demo-gpt2)', config: { type: 'LoReFT', layers: [2], rank: 2, epochs: 1, batchSize: 48 } },
  ];
  const ids = await Promise.all(jobs.map(async (j) => (await apiCall<{ runId: string }>(app, 'jobs.start', j)).runId));
  await expect
    .poll(
      async () => {
        const statuses = await Promise.all(ids.map(async (runId) => (await apiCall<{ run: { status: string; error?: string } }>(app, 'runs.get', { runId })).run));
        const failed = statuses.find((r) => r.status === 'failed' || r.status === 'cancelled');
        if (failed) throw new Error(`a recorded run ended ${failed.status}: ${failed.error ?? ''}`);
        return statuses.every((r) => r.status === 'succeeded');
      },
      { timeout: 120_000, interval: 500 },
    )
    .toBe(true);
}

/** Brings each view to the state the tour shows: its first state, plus cheap content. */
const PREPARE: Record<ViewId, (page: Page) => Promise<void>> = {
  async models(page) {
    await page.locator('tr[data-model="demo-gpt2"]').waitFor({ timeout: TIMEOUT });
    await page.locator('dl[aria-label="demo-gpt2 details"]').waitFor({ timeout: TIMEOUT });
    for (const title of ['Previous token', 'Duplicate token', 'Induction']) await page.locator(`svg[aria-label="${title}"] [data-cell]`).first().waitFor({ timeout: TIMEOUT });
  },
  async data(page) {
    await page.locator('tr[data-task="ioi"]').click({ timeout: TIMEOUT });
    await page.getByRole('table', { name: 'ioi train examples' }).waitFor({ timeout: TIMEOUT });
  },
  async playground(page) {
    await page.getByLabel('Model').selectOption({ label: 'demo-gpt2' }, { timeout: TIMEOUT });
    await page.getByRole('textbox', { name: 'Prompt' }).fill('When Mary and John went to the store, John gave a drink to');
    await page.getByRole('button', { name: 'Run' }).click();
    await page.getByRole('img', { name: 'Next-token distribution' }).waitFor({ timeout: TIMEOUT });
    await page.getByRole('img', { name: 'Attention pattern L0H0' }).waitFor({ timeout: TIMEOUT });
    await page.getByRole('table', { name: 'Logit lens at the last position' }).locator('tbody tr').first().waitFor({ timeout: TIMEOUT });
    const gen = page.getByRole('region', { name: 'Generation' });
    await gen.getByRole('button', { name: 'Generate' }).click();
    await expect.poll(() => gen.locator('figure.generation').count(), { timeout: TIMEOUT }).toBe(2);
  },
  async lofit(page) {
    await page.locator('svg[aria-label="LoFIT head scores ‖A‖"] [data-cell]').first().waitFor({ timeout: TIMEOUT });
    await page.locator('svg[aria-label="ITI probe accuracy"] [data-cell]').first().waitFor({ timeout: TIMEOUT });
    await page.getByTestId('lofit-jaccard').waitFor({ timeout: TIMEOUT });
  },
  async reft(page) {
    await page.getByRole('table', { name: 'Learned directions' }).waitFor({ timeout: TIMEOUT });
    await page.getByRole('img', { name: 'Cosine similarity between directions' }).waitFor({ timeout: TIMEOUT });
    await page.getByRole('region', { name: 'Representations on two directions' }).locator('figure').waitFor({ timeout: TIMEOUT });
    const gen = page.getByRole('region', { name: 'Generations before and after' });
    await expect.poll(async () => (await gen.getByLabel('Prompt').inputValue()).length, { timeout: TIMEOUT }).toBeGreaterThan(0);
    await gen.getByRole('button', { name: 'Generate' }).click();
    await expect.poll(() => gen.locator('figure.generation').count(), { timeout: TIMEOUT }).toBe(2);
  },
  async interchange(page) {
    const heatmap = page.locator('svg[data-figure="heatmap"]').first();
    await heatmap.locator('[data-cell]').first().waitFor({ timeout: TIMEOUT });
    await heatmap.locator('[data-cell][data-row="0"][data-col="0"]').click();
    await page.locator('svg[role="img"][aria-label^="Next token: clean, patched (L0H0"]').waitFor({ timeout: TIMEOUT });
  },
  async runs(page) {
    await page.getByRole('checkbox', { name: 'Compare LoFIT ioi on demo-gpt2' }).check({ timeout: TIMEOUT });
    await page.getByRole('checkbox', { name: 'Compare LoReFT L2 r2 on fact-recall (demo-gpt2)' }).check();
    await page.getByRole('button', { name: 'Compare 2 runs' }).click();
    await page.getByRole('table', { name: 'Final metrics' }).waitFor({ timeout: TIMEOUT });
    await page.locator('section[aria-label="Compare 2 runs"] .js-plotly-plot').first().waitFor({ timeout: TIMEOUT });
    await page.getByRole('button', { name: 'LoReFT L2 r2 on fact-recall (demo-gpt2)' }).click();
    await page.getByRole('heading', { name: 'Run: LoReFT L2 r2 on fact-recall (demo-gpt2)' }).waitFor({ timeout: TIMEOUT });
  },
};

/**
 * What runs out of sight sideways: the document or a panel that scrolls (or hides its overflow)
 * wider than it is, except one-line text that ends in an ellipsis; an svg or canvas that runs
 * past the window; an svg label outside its own svg, which clips it.
 */
function cutOff(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const name = (el: Element) => {
      const label = el.getAttribute('aria-label') ?? el.closest('[aria-label]')?.getAttribute('aria-label');
      const cls = typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
      return `${el.tagName.toLowerCase()}${cls}${label ? ` in "${label}"` : ''}`;
    };
    const doc = document.documentElement;
    if (doc.scrollWidth > doc.clientWidth + 1) out.push(`the document is ${doc.scrollWidth}px wide in a ${doc.clientWidth}px window`);
    for (const el of Array.from(document.body.querySelectorAll('*'))) {
      if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement) continue;
      const style = getComputedStyle(el);
      if (style.display === 'none' || style.overflowX === 'visible' || el.clientWidth === 0) continue;
      if (style.overflowX === 'hidden' && style.textOverflow === 'ellipsis') continue;
      // Text for screen readers only is clipped on purpose.
      if (style.clip !== 'auto' || style.clipPath !== 'none') continue;
      if (el instanceof SVGElement) continue;
      if (el.scrollWidth > el.clientWidth + 1) out.push(`${name(el)} holds ${el.scrollWidth}px in ${el.clientWidth}px (overflow-x ${style.overflowX})`);
    }
    const width = window.innerWidth;
    // Plotly measures text in an svg of its own, placed out of sight on purpose.
    const measuring = (el: Element) => el.closest('#js-plotly-tester') !== null;
    for (const el of Array.from(document.querySelectorAll('svg, canvas'))) {
      if (measuring(el)) continue;
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.height === 0) continue;
      if (box.left < -1 || box.right > width + 1) out.push(`${name(el)} spans ${Math.round(box.left)}..${Math.round(box.right)} of a ${width}px window`);
    }
    for (const t of Array.from(document.querySelectorAll('svg text'))) {
      const svg = (t as SVGTextElement).ownerSVGElement;
      const text = (t.textContent ?? '').trim();
      const box = t.getBoundingClientRect();
      if (!svg || measuring(svg) || !text || box.width === 0 || getComputedStyle(t).visibility === 'hidden') continue;
      const frame = svg.getBoundingClientRect();
      if (box.left < frame.left - 1 || box.right > frame.right + 1 || box.top < frame.top - 1 || box.bottom > frame.bottom + 1)
        out.push(`"${text}" at x ${Math.round(box.left)}..${Math.round(box.right)}, y ${Math.round(box.top)}..${Math.round(box.bottom)} outside its ${name(svg)} (x ${Math.round(frame.left)}..${Math.round(frame.right)}, y ${Math.round(frame.top)}..${Math.round(frame.bottom)})`);
    }
    return out;
  });
}

/** The window as seen, then the main area unrolled to its whole length (the same width). */
async function shots(page: Page, file: string): Promise<void> {
  // The pointer on the navigation's empty end: no tooltip or chart toolbar over the picture.
  await page.mouse.move(84, 760);
  await page.locator('.app-main').evaluate((el) => el.scrollTo(0, 0));
  await page.screenshot({ path: `${file}.png` });
  // Unrolled, the document scrolls instead; without its scrollbar the layout keeps its width.
  await page.addStyleTag({ content: 'html, body, #root, .app { height: auto !important; } html { scrollbar-width: none; } .app-main { overflow: visible !important; }' });
  await page.screenshot({ path: `${file}-full.png`, fullPage: true });
}

describe.skipIf(!!skip)(`views tour at 1280×800${skip ? ` (${skip})` : ''}`, () => {
  let ui: string | undefined;
  let app: ServedApp | undefined;
  let browser: Browser | undefined;
  let recorded: Promise<void>;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    ui = await buildUiOnce();
    [app, browser] = await Promise.all([serveBrowserMode(ui), launchChromiumOnDisplay()]);
    // The runs record while the first views are toured; the views that read them wait.
    recorded = recordRuns(app);
    recorded.catch(() => {});
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    if (ui) rmSync(dirname(ui), { recursive: true, force: true });
  });

  for (const theme of THEMES) {
    for (const view of VIEWS) {
      it(`${view.title}, ${theme} theme`, async () => {
        if (['lofit', 'reft', 'interchange', 'runs'].includes(view.id)) await recorded;
        const context = await browser!.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: theme });
        try {
          const page = await context.newPage();
          const watch = watchPage(page);
          await page.goto(`${app!.appUrl}#/${view.id}`);
          await page.getByRole('heading', { level: 1, name: view.title }).waitFor({ timeout: TIMEOUT });
          expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe(theme);
          await PREPARE[view.id](page);
          expect(await page.getByRole('heading', { level: 1, name: view.title }).isVisible()).toBe(true);
          const problems = await cutOff(page);
          await shots(page, join(SHOTS, `${view.id}-${theme}`));
          if (problems.length) console.warn(`${view.id} (${theme}):\n  ${problems.join('\n  ')}`);
          expect(problems).toEqual([]);
          expect(watch.problems).toEqual([]);
        } finally {
          await context.close();
        }
      }, 150_000);
    }
  }
});
