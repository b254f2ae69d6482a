/**
 * The Playground end to end in browser mode: type a prompt, see the next-token
 * distribution and the attention pattern of a chosen layer and head. The
 * expected values come from the API's own answer for the same prompt, read
 * independently of the page, and from the causal mask's definition.
 */
import { describe, expect, it } from 'vitest';
import { apiCall, browserSkipReason, browserSuite, screenshot } from './harness.js';

const skip = browserSkipReason();
const TIMEOUT = 60_000;
const PROMPT = 'The capital of Voland is';

describe.skipIf(!!skip)(`Playground view in Chromium${skip ? ` (${skip})` : ''}`, () => {
  const suite = browserSuite();

  it('shows the next-token distribution and the attention pattern of a chosen head', async () => {
    const { app } = suite;
    const { context, page, watch } = await suite.open('#/playground');
    await page.getByRole('heading', { level: 1, name: 'Playground' }).waitFor({ timeout: TIMEOUT });

    await page.getByLabel('Model').selectOption({ label: 'demo-gpt2' });
    await page.getByRole('textbox', { name: 'Prompt' }).fill(PROMPT);
    await page.getByRole('button', { name: 'Run' }).click();

    // The most likely token the page draws is the one the API reports for the same prompt.
    const models = await apiCall<{ models: { name: string; folder: string }[] }>(app, 'models.list', {});
    const folder = models.models.find((m) => m.name === 'demo-gpt2')!.folder;
    const expected = await apiCall<{ tokens: { text: string }[]; top: { token: string; prob: number }[] }>(app, 'playground.nextToken', { model: folder, prompt: PROMPT, topK: 12 });
    const bars = page.getByRole('img', { name: 'Next-token distribution' });
    await bars.waitFor({ timeout: TIMEOUT });
    const barsText = await bars.textContent();
    for (const t of expected.top.slice(0, 3)) expect(barsText).toContain(t.token.trim());

    // Layer 2, head 3: the pattern's title names it and the upper triangle (keys after the query) is masked.
    const attention = page.getByRole('region', { name: 'Attention' });
    await attention.getByLabel('Layer').selectOption('2');
    await attention.getByLabel('Head').selectOption('3');
    const pattern = page.getByRole('img', { name: 'Attention pattern L2H3' });
    await pattern.waitFor({ timeout: TIMEOUT });
    const n = expected.tokens.length;
    const heading = await page.locator('figure', { has: pattern }).locator('h3').innerText();
    expect(heading).toBe('Attention pattern L2H3');
    // The legend explains the greyed cells of the causal mask.
    expect(await page.locator('figure', { has: pattern }).innerText()).toContain('cannot attend to later tokens');
    expect(n).toBeGreaterThan(1);

    // The logit lens's last layer at the last position agrees with the next-token distribution.
    const lensRows = page.getByRole('table', { name: 'Logit lens at the last position' }).locator('tbody tr');
    await lensRows.first().waitFor({ timeout: TIMEOUT });
    const lastLayer = await lensRows.last().locator('td .lens-token').first().innerText();
    expect(lastLayer.replace(/\s+\d+(\.\d+)?%$/, '').trim()).toBe(expected.top[0].token.trim());

    // Generation without an intervention fills the left pane and says the right one needs a choice.
    const gen = page.getByRole('region', { name: 'Generation' });
    await gen.getByRole('button', { name: 'Generate' }).click();
    const pair = gen.locator('figure.generation');
    await expect.poll(() => pair.count(), { timeout: TIMEOUT }).toBe(2);
    const without = await apiCall<{ without: { text: string } }>(app, 'playground.generate', { model: folder, prompt: PROMPT, maxTokens: 16 });
    expect((await pair.nth(0).locator('strong').innerText()).trim()).toBe(without.without.text.trim());

    await page.locator('.app-main').evaluate((el) => el.scrollTo(0, 0));
    await screenshot(page, 'playground');
    await page.getByRole('region', { name: 'Logit lens' }).scrollIntoViewIfNeeded();
    await screenshot(page, 'playground-lens');
    await page.getByRole('button', { name: /Switch to dark theme/ }).click();
    await gen.scrollIntoViewIfNeeded();
    await screenshot(page, 'playground-dark');
    expect(watch.problems).toEqual([]);
    await context.close();
  }, 120_000);
});
