/**
 * End-to-end harness: the real `subspace serve` (browser mode) on a fresh data
 * folder, Debian's Chromium driven by playwright-core, screenshots in
 * test-results/e2e/. The Electron variant (electron.test.ts) runs the same
 * scenarios against the desktop app where its binary is installed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page, type Response } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { buildRenderer } from '../../scripts/build-renderer.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CHROMIUM = process.env.SUBSPACE_E2E_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(ROOT, 'test-results', 'e2e');
/** A two-layer GPT-2 fixture, small enough for jobs that finish in seconds. */
export const TOY_MODEL = join(ROOT, 'tests', 'fixtures', 'reference', 'gpt2-tied');
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'];

/** Why the browser-mode suite cannot run here, or undefined when it can. */
export function browserSkipReason(): string | undefined {
  if (!existsSync(CHROMIUM)) return `skipped: ${CHROMIUM} is not installed (apt-get install chromium, or set SUBSPACE_E2E_CHROMIUM)`;
  return undefined;
}

/** Why the Electron suite cannot run here, or undefined; `binary` is Electron's executable when present. */
export function electronStatus(): { binary?: string; skip?: string } {
  let binary: string;
  try {
    // The electron package's main export is the path of its binary.
    binary = createRequire(join(ROOT, 'package.json'))('electron') as string;
  } catch {
    return { skip: 'skipped: the Electron binary is not installed (the optional dependency "electron" is missing; npm install electron downloads it)' };
  }
  if (typeof binary !== 'string' || !existsSync(binary)) return { skip: `skipped: the electron package is installed but its binary is missing (${String(binary)}); its install script could not download it` };
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return { binary, skip: 'skipped: Electron needs a display; run the tests under xvfb-run' };
  return { binary };
}

export interface ServedApp {
  url: string;
  appUrl: string;
  token: string;
  dataDir: string;
  /** What the server wrote to stderr so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** Builds the UI once per test file into a temporary folder (parallel files never share an output folder). */
export async function buildUiOnce(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'subspace-ui-'));
  await buildRenderer({ outDir: join(dir, 'ui') });
  return join(dir, 'ui');
}

/** Starts `subspace serve` on a fresh data folder and waits for its address. */
export async function serveBrowserMode(uiDir: string, env: NodeJS.ProcessEnv = {}): Promise<ServedApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'subspace-e2e-data-'));
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'bin', 'subspace.js'), 'serve', '--json', '--renderer-dir', uiDir], {
    env: { ...process.env, SUBSPACE_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const info = await new Promise<{ url: string; appUrl: string; token: string }>((done, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`subspace serve did not print its address within 60 s; stderr: ${err}`)), 60_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      const line = out.split('\n').find((l) => l.trim().startsWith('{'));
      if (line) {
        clearTimeout(timer);
        done(JSON.parse(line) as { url: string; appUrl: string; token: string });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`subspace serve exited with code ${code}; stderr: ${err}`));
    });
  });
  return {
    ...info,
    dataDir,
    log: () => err,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((done) => {
          const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.once('exit', () => {
            clearTimeout(t);
            done();
          });
          child.kill('SIGTERM');
        });
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
}

/**
 * Chromium on the X display when there is one (e.g. under xvfb-run, so screenshots come from a
 * real X server), headless otherwise (CI).
 */
export async function launchChromiumOnDisplay(): Promise<Browser> {
  if (!process.env.DISPLAY) return launchChromium();
  return chromium.launch({ executablePath: CHROMIUM, headless: false, args: CHROMIUM_FLAGS.filter((f) => f !== '--headless') });
}

/** Problems the page reported: uncaught errors, console errors (CSP violations among them). */
export function watchPage(page: Page): { problems: string[] } {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}${m.location().url ? ` (${m.location().url})` : ''}`);
  });
  return { problems };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Calls one API method with the session token and returns its result; a refusal fails the test with the server's error. */
export async function apiCall<T = any>(app: ServedApp, method: string, payload: unknown): Promise<T> {
  const res = await fetch(`${app.url}/api/${method}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'x-subspace-token': app.token }, body: JSON.stringify(payload) });
  const body = (await res.json()) as { ok: boolean; result: T; error?: unknown };
  expect(body.ok, JSON.stringify(body.error)).toBe(true);
  return body.result;
}

export interface OpenedPage {
  context: BrowserContext;
  page: Page;
  watch: { problems: string[] };
  response: Response | null;
}

export interface BrowserSuite {
  readonly app: ServedApp;
  readonly browser: Browser;
  /** A fresh 1280×800 context on the app, at `hash` (e.g. '#/runs'), with its problems watched. */
  open(hash?: string): Promise<OpenedPage>;
}

/**
 * The shared setup of a browser-mode file, called inside its describe: builds
 * the UI, serves it on a fresh data folder and launches Chromium before the
 * tests, and stops and removes all of it after them.
 */
export function browserSuite(): BrowserSuite {
  let ui: string | undefined;
  let app: ServedApp | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    ui = await buildUiOnce();
    [app, browser] = await Promise.all([serveBrowserMode(ui), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    if (ui) rmSync(dirname(ui), { recursive: true, force: true });
  });

  return {
    get app() {
      return app!;
    },
    get browser() {
      return browser!;
    },
    async open(hash = '') {
      const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      const watch = watchPage(page);
      const response = await page.goto(`${app!.appUrl}${hash}`);
      return { context, page, watch, response };
    },
  };
}
