/**
 * The same scenarios against the desktop app, through Playwright's Electron
 * support. Skipped, with the reason in its name, where the Electron binary is
 * not installed (it is an optional dependency whose install downloads it) or
 * there is no display.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureElectronBuild } from '../../scripts/build-electron.js';
import { ensureRenderer } from '../../scripts/build-renderer.js';
import { electronStatus, ROOT, watchPage } from './harness.js';
import { dataScenario, modelsScenario } from './scenarios.js';

const status = electronStatus();
if (status.skip) console.warn(`end-to-end tests of the desktop app (Electron) ${status.skip}`);

describe.skipIf(!!status.skip)(`desktop app in Electron${status.skip ? ` (${status.skip})` : ''}`, () => {
  let app: ElectronApplication;
  let page: Page;
  let dataDir: string;
  let watch: { problems: string[] };

  beforeAll(async () => {
    await Promise.all([ensureElectronBuild(), ensureRenderer()]);
    dataDir = mkdtempSync(join(tmpdir(), 'subspace-e2e-electron-'));
    const env = { ...process.env, SUBSPACE_DATA_DIR: dataDir } as Record<string, string>;
    delete env.ELECTRON_RUN_AS_NODE;
    app = await _electron.launch({ executablePath: status.binary!, args: [ROOT], env });
    page = await app.firstWindow();
    watch = watchPage(page);
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  afterAll(async () => {
    await app?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('exposes only window.subspace to the page, with no Node', async () => {
    const shape = await page.evaluate(() => ({
      bridge: Object.keys((window as unknown as { subspace: object }).subspace).sort(),
      require: typeof (window as unknown as { require?: unknown }).require,
      process: typeof (window as unknown as { process?: unknown }).process,
    }));
    expect(shape).toEqual({ bridge: ['call', 'onEvent'], require: 'undefined', process: 'undefined' });
  });

  it('lists the demo models with their architecture', async () => {
    await modelsScenario(page, 'electron-models');
  });

  it('imports a bad CSV and shows the row errors', async () => {
    await dataScenario(page, 'electron-data');
    expect(watch.problems).toEqual([]);
  });
});
