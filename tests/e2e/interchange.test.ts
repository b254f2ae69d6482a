/**
 * Interchange view end to end (browser mode): a heads sweep started from the view runs as a
 * 'patch' job, its heatmap appears, and clicking a cell shows the base and source tokens and
 * the clean / patched / corrupt next-token distributions for one example.
 */
import type { Locator } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserSkipReason, browserSuite, screenshot } from './harness.js';

/** Text of a figure (in the browser's own font) that runs outside the figure or out of its scroll box's sight. */
function textOutside(svg: Locator): Promise<string[]> {
  return svg.evaluate((el) => {
    const fig = el.getBoundingClientRect();
    const view = el.parentElement!.getBoundingClientRect();
    const left = Math.max(fig.left, view.left) - 0.5;
    const right = Math.min(fig.right, view.right) + 0.5;
    return Array.from(el.querySelectorAll('text'))
      .map((t) => ({ text: t.textContent ?? '', box: t.getBoundingClientRect() }))
      .filter(({ box }) => box.width > 0 && (box.left < left || box.right > right))
      .map(({ text, box }) => `"${text}" at ${Math.round(box.left)}..${Math.round(box.right)} (visible ${Math.round(left)}..${Math.round(right)})`);
  });
}

const skip = browserSkipReason();

describe.skipIf(!!skip)(`Interchange view${skip ? ` (${skip})` : ''}`, () => {
  const suite = browserSuite();

  it('runs a head sweep and clicks a cell', async () => {
    const { context, page, watch } = await suite.open('#/interchange');
    await page.getByRole('heading', { level: 1, name: 'Interchange' }).waitFor();
    await page.getByLabel('Pairs').fill('2');
    await page.getByRole('button', { name: 'Run sweep' }).click();
    // The view's own progress, then the heatmap of the finished run.
    await page.getByRole('progressbar', { name: /patch heads ioi progress/ }).waitFor();
    const heatmap = page.locator('svg[data-figure="heatmap"]').first();
    await heatmap.waitFor({ timeout: 90_000 });
    await expect.poll(() => page.getByTestId('ix-job-status').textContent()).toBe('done');
    // 4 layers × 8 heads of demo-gpt2; the legend says which sign is which.
    expect(await heatmap.locator('[data-cell]').count()).toBe(32);
    expect(await page.locator('section[aria-label="Result"]').textContent()).toContain('restores the clean answer');
    // L0H0 carries the name in the demo model's IOI circuit: the largest effect (see the CLI sweep).
    await screenshot(page, 'interchange-head-sweep');
    await heatmap.locator('[data-cell][data-row="0"][data-col="0"]').click();
    await heatmap.locator('[data-locked][data-row="0"][data-col="0"]').waitFor();
    const bars = page.locator('svg[role="img"][aria-label^="Next token: clean, patched (L0H0"]');
    await bars.waitFor({ timeout: 60_000 });
    const panel = page.getByLabel('Patched cell');
    expect(await panel.getByRole('textbox', { name: 'base prompt' }).inputValue()).not.toBe('');
    expect(await panel.textContent()).toContain('Base (corrupt)');
    expect(await panel.textContent()).toContain('Source (clean)');
    // Token strips show indices: "tok (0)".
    expect(await panel.textContent()).toMatch(/\(0\)/);
    await bars.scrollIntoViewIfNeeded();
    expect(await textOutside(bars)).toEqual([]);
    await screenshot(page, 'interchange-cell');
    await page.evaluate(() => (document.documentElement.dataset.theme = 'dark'));
    await panel.scrollIntoViewIfNeeded();
    await screenshot(page, 'interchange-cell-dark');
    // A narrow window: the panels wrap instead of running out of sight.
    await page.setViewportSize({ width: 820, height: 800 });
    await expect.poll(async () => Number(await bars.getAttribute('width'))).toBeLessThan(500);
    expect(await textOutside(bars)).toEqual([]);
    await bars.scrollIntoViewIfNeeded();
    await screenshot(page, 'interchange-cell-narrow-dark');
    expect(watch.problems).toEqual([]);
    await context.close();
  }, 180_000);
});
