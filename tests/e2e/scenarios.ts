/**
 * One scenario per workflow, written against a Playwright Page so the same
 * steps run in browser mode (Chromium) and in the desktop app (Electron).
 * Expected values come from the files themselves (config.json, the CSV), not
 * from the app's own code.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { ROOT, screenshot } from './harness.js';

const TIMEOUT = 60_000;

function demoConfig(name: string): Record<string, number> {
  return JSON.parse(readFileSync(join(ROOT, 'assets', 'models', name, 'config.json'), 'utf8')) as Record<string, number>;
}

async function rowCells(page: Page, model: string): Promise<string[]> {
  const row = page.locator(`tr[data-model="${model}"]`);
  await row.waitFor({ timeout: TIMEOUT });
  return (await row.locator('th, td').allInnerTexts()).map((t) => t.trim());
}

/** Models: both demo models are listed with the architecture their config.json gives. */
export async function modelsScenario(page: Page, shotName: string): Promise<void> {
  await page.locator('nav[aria-label="Views"] a', { hasText: 'Models' }).click();
  await page.getByRole('heading', { level: 1, name: 'Models' }).waitFor({ timeout: TIMEOUT });

  const gpt2 = demoConfig('demo-gpt2');
  const g = await rowCells(page, 'demo-gpt2');
  // Name, source, family, layers, heads, kv heads, width, vocab, parameters.
  expect(g.slice(0, 8)).toEqual(['demo-gpt2', 'built-in', 'gpt2', String(gpt2.n_layer), String(gpt2.n_head), String(gpt2.n_head), String(gpt2.n_embd), String(gpt2.vocab_size)]);

  const llama = demoConfig('demo-llama');
  const l = await rowCells(page, 'demo-llama');
  expect(l.slice(0, 8)).toEqual([
    'demo-llama',
    'built-in',
    'llama',
    String(llama.num_hidden_layers),
    String(llama.num_attention_heads),
    String(llama.num_key_value_heads),
    String(llama.hidden_size),
    String(llama.vocab_size),
  ]);

  // The details of a model with grouped-query attention say so.
  await page.locator('tr[data-model="demo-llama"] button').click();
  const details = page.locator('dl[aria-label="demo-llama details"]');
  await details.waitFor({ timeout: TIMEOUT });
  expect(await details.innerText()).toContain(`${llama.num_attention_heads} query, ${llama.num_key_value_heads} key/value (grouped-query)`);

  // Its head patterns: three layers × heads heatmaps, the highest head of each outlined; the
  // induction head the view outlines reads from an earlier layer's previous-token head, so it is past layer 0.
  for (const title of ['Previous token', 'Duplicate token', 'Induction']) {
    const map = page.locator(`section[aria-label="Head patterns"] svg[aria-label="${title}"]`);
    await map.waitFor({ timeout: TIMEOUT });
    await expect.poll(() => map.locator('[data-cell]').count(), { timeout: TIMEOUT }).toBe(llama.num_hidden_layers * llama.num_attention_heads);
    expect(await map.locator('[data-outline]').count(), title).toBe(1);
    if (title === 'Induction') expect(Number(await map.locator('[data-outline]').getAttribute('data-row'))).toBeGreaterThan(0);
  }

  // The header names the backend once the compute process is up.
  const badge = page.getByTestId('backend-badge');
  await expect.poll(async () => (await badge.innerText()).trim(), { timeout: TIMEOUT }).toMatch(/^(wasm|cpu|tensorflow|tensorflow-gpu) · /);

  await screenshot(page, shotName);
}

/**
 * A CSV with three bad rows among four: line 3 has no prompt, line 4 no
 * completion, line 5 one field too many.
 */
export const BAD_CSV = 'prompt,completion,wrong\n"The capital of France is", Paris, London\n, Berlin, Rome\n"Water is",,dry\n"Grass is", green, blue, extra\n';

/** Data: importing a bad CSV lists every bad row and imports nothing; the task browser pages through a task. */
export async function dataScenario(page: Page, shotName: string): Promise<void> {
  await page.locator('nav[aria-label="Views"] a', { hasText: 'Data' }).click();
  await page.getByRole('heading', { level: 1, name: 'Data' }).waitFor({ timeout: TIMEOUT });

  await page.locator('#dataset-file').setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(BAD_CSV) });
  const errors = page.getByRole('table', { name: 'Row errors' });
  await errors.waitFor({ timeout: TIMEOUT });
  const rows = await errors.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => (td.textContent ?? '').trim())));
  expect(rows.map((r) => r.slice(0, 2))).toEqual([
    ['3', 'prompt'],
    ['4', 'completion'],
    ['5', '–'],
  ]);
  expect(rows[0][2]).toContain('prompt');
  expect(rows[1][2]).toContain('completion');
  expect(rows[2][2]).toMatch(/4 fields.*3 columns/);
  expect(await page.locator('.import-errors [role="alert"]').innerText()).toContain('3 problems in 4 rows (csv, completion shape); nothing was imported');
  // Nothing was kept.
  await expect.poll(() => page.locator('section[aria-label="Imported datasets"]').innerText(), { timeout: TIMEOUT }).toContain('None yet.');
  await screenshot(page, shotName);

  // The task browser: every built-in task with its split sizes, and a page of examples.
  const manifest = JSON.parse(readFileSync(join(ROOT, 'assets', 'tasks', 'ioi', 'manifest.json'), 'utf8')) as { title: string; sizes: { train: number; dev: number; test: number } };
  const ioi = page.locator('tr[data-task="ioi"]');
  await ioi.waitFor({ timeout: TIMEOUT });
  expect((await ioi.locator('td.num').allInnerTexts()).map((t) => t.trim())).toEqual([String(manifest.sizes.train), String(manifest.sizes.dev), String(manifest.sizes.test)]);
  await ioi.click();
  const examples = page.getByRole('table', { name: 'ioi train examples' });
  await examples.waitFor({ timeout: TIMEOUT });
  expect(await examples.locator('tbody tr').count()).toBe(Math.min(20, manifest.sizes.train));
  expect(await page.locator('.pager .note').first().innerText()).toBe(`1–${Math.min(20, manifest.sizes.train)} of ${manifest.sizes.train}`);
}

/**
 * The job tray: a job started through the API shows up with a progress bar,
 * elapsed time and an estimate, and its Cancel button stops it. `start` starts
 * the job (through the same API the views use) and returns its id.
 */
export async function jobTrayScenario(page: Page, start: () => Promise<string>, shotName: string): Promise<void> {
  const jobId = await start();
  const row = page.locator(`li[data-job="${jobId}"]`);
  await row.waitFor({ timeout: TIMEOUT });
  const bar = row.getByRole('progressbar');
  await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: TIMEOUT }).toBeGreaterThan(0);
  const meta = await row.locator('.job-meta').innerText();
  expect(meta).toMatch(/\d+\/\d+/);
  expect(meta).toMatch(/elapsed/);
  expect(meta).toMatch(/left|estimating/);
  // The rest of the UI answers while the job runs.
  await page.locator('nav[aria-label="Views"] a', { hasText: 'Models' }).click();
  await page.locator('tr[data-model="demo-gpt2"]').waitFor({ timeout: TIMEOUT });
  await page.getByRole('button', { name: /Switch to dark theme/ }).click();
  expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
  await screenshot(page, shotName);
  await row.getByRole('button', { name: /^Cancel / }).click();
  await expect.poll(() => row.locator('.job-meta').innerText(), { timeout: TIMEOUT }).toContain('cancelled');
}
