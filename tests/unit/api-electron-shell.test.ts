/**
 * The desktop shell's main process (dist-main/electron/main.cjs, as built for
 * packaging) run by Node against a stand-in `electron` module that records
 * what the shell asks of Electron and plays the window's part. It checks the
 * wiring that must hold wherever Electron is installed: secure window
 * settings, the IPC transport over the real API, the app protocol with its
 * CSP, navigation and window-open guards, menu commands and a clean quit.
 * (tests/e2e/electron.test.ts drives the real app where the binary exists.)
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../src-main/api/csp.js';
import { buildElectron } from '../../scripts/build-electron.js';
import { ensureRenderer } from '../../scripts/build-renderer.js';

const ROOT = join(import.meta.dirname, '..', '..');

const FAKE_ELECTRON = String.raw`
const out = { sent: [], opened: [] };
const events = {};
const handlers = {};
let protocolHandler, windowOptions, loaded, menuTemplate, win;
function finish(code) {
  process.stdout.write('FAKE-ELECTRON ' + JSON.stringify(out) + '\n');
  process.exit(code ?? 0);
}
const app = {
  isPackaged: false,
  requestSingleInstanceLock: () => true,
  whenReady: () => Promise.resolve(),
  quit() { out.quitCalled = true; },
  exit(code) { out.exitCode = code; finish(code); },
  getVersion: () => '0.0.0',
  setName() {},
  on(ev, fn) { (events[ev] = events[ev] || []).push(fn); },
};
class BrowserWindow {
  constructor(o) {
    windowOptions = o;
    win = this;
    this.webContents = { send: (ch, e) => out.sent.push([ch, e]), isDestroyed: () => false, on() {}, setWindowOpenHandler() {}, toggleDevTools() {} };
  }
  loadURL(u) { loaded = u; setTimeout(() => scenario().catch((e) => { out.error = String(e && e.stack || e); finish(1); }), 10); return Promise.resolve(); }
  isDestroyed() { return false; } isMinimized() { return false; } restore() {} focus() {} show() {} on() {} once() {}
  static getAllWindows() { return win ? [win] : []; }
}
async function scenario() {
  const call = (url, m, p) => handlers['subspace:call']({ senderFrame: { url } }, m, p);
  out.info = await call('subspace://app/index.html', 'app.info', {});
  out.remote = await call('https://evil.example/', 'app.info', {});
  out.bad = await call('subspace://app/index.html', 'models.open', {});
  out.dialog = await call('subspace://app/index.html', 'dialogs.openFolder', { title: 'Pick' });
  const page = await protocolHandler({ url: 'subspace://app/index.html' });
  out.page = { status: page.status, csp: page.headers.get('content-security-policy'), body: (await page.text()).slice(0, 15) };
  out.escape = (await protocolHandler({ url: 'subspace://app/%2e%2e/package.json' })).status;
  out.otherHost = (await protocolHandler({ url: 'subspace://other/index.html' })).status;
  const contents = { l: {}, on(ev, fn) { this.l[ev] = fn; }, setWindowOpenHandler(fn) { this.open = fn; } };
  for (const fn of events['web-contents-created']) fn({}, contents);
  let prevented = 0;
  const ev = { preventDefault() { prevented++; } };
  contents.l['will-navigate'](ev, 'https://example.com/x');
  out.remoteNavigationPrevented = prevented === 1;
  contents.l['will-navigate'](ev, 'subspace://app/index.html#/data');
  out.appNavigationAllowed = prevented === 1;
  contents.l['will-redirect'](ev, 'http://127.0.0.1:1/');
  out.redirectPrevented = prevented === 2;
  out.windowOpen = contents.open({ url: 'https://example.com/doc' }).action;
  out.windowOpenFile = contents.open({ url: 'file:///etc/passwd' }).action;
  let webview = false;
  contents.l['will-attach-webview']({ preventDefault() { webview = true; } });
  out.webviewPrevented = webview;
  out.webPreferences = windowOptions.webPreferences;
  out.loaded = loaded;
  const file = menuTemplate.find((m) => m.label === 'File');
  const view = menuTemplate.find((m) => m.label === 'View');
  out.menu = { file: file.submenu.map((i) => i.label || i.role), view: view.submenu.map((i) => (i.label ? i.label + ' ' + i.accelerator : i.role || '-')) };
  file.submenu[0].click();
  view.submenu[2].click();
  let deferred = false;
  for (const fn of events['before-quit']) fn({ preventDefault() { deferred = true; } });
  out.quitDeferred = deferred;
}
module.exports = {
  app,
  BrowserWindow,
  ipcMain: { handle(ch, fn) { handlers[ch] = fn; }, removeHandler(ch) { delete handlers[ch]; } },
  dialog: { showOpenDialog: async (w, o) => ({ canceled: false, filePaths: ['/picked/' + o.properties.join('+')] }) },
  Menu: { buildFromTemplate: (t) => (menuTemplate = t), setApplicationMenu() {} },
  protocol: { registerSchemesAsPrivileged(s) { out.schemes = s; }, handle(scheme, fn) { out.scheme = scheme; protocolHandler = fn; } },
  session: { defaultSession: { setPermissionRequestHandler(fn) { fn(null, 'camera', (g) => (out.cameraGranted = g)); }, setPermissionCheckHandler(fn) { out.permissionCheck = fn(); } } },
  shell: { openExternal: async (u) => out.opened.push(u) },
};
`;

let dir: string;
let result: any;

beforeAll(async () => {
  await Promise.all([buildElectron(), ensureRenderer()]);
  dir = mkdtempSync(join(tmpdir(), 'subspace-shell-'));
  mkdirSync(join(dir, 'node_modules', 'electron'), { recursive: true });
  writeFileSync(join(dir, 'node_modules', 'electron', 'index.js'), FAKE_ELECTRON);
  const data = join(dir, 'data');
  const stdout = await new Promise<string>((done, fail) => {
    execFile(
      process.execPath,
      [join(ROOT, 'dist-main', 'electron', 'main.cjs')],
      { env: { ...process.env, NODE_PATH: join(dir, 'node_modules'), SUBSPACE_DATA_DIR: data, SUBSPACE_BACKEND: 'cpu' }, timeout: 100_000 },
      (error, out, err) => (error ? fail(new Error(`${error.message}\n${err}\n${out}`)) : done(out)),
    );
  });
  const line = stdout.split('\n').find((l) => l.startsWith('FAKE-ELECTRON '));
  result = JSON.parse(line!.slice('FAKE-ELECTRON '.length));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Electron main process (with a stand-in electron module)', () => {
  it('opens one sandboxed, context-isolated window without Node on the app protocol', () => {
    expect(result.error).toBeUndefined();
    expect(result.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, allowRunningInsecureContent: false, webviewTag: false });
    expect(result.webPreferences.preload).toBe(join(ROOT, 'dist-main', 'electron', 'preload.cjs'));
    expect(result.loaded).toBe('subspace://app/index.html#/models');
    expect(result.schemes).toEqual([{ scheme: 'subspace', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
  });

  it('answers IPC calls from its own pages through the validated API, and refuses others', () => {
    expect(result.info.ok).toBe(true);
    expect(result.info.result).toMatchObject({ mode: 'electron', backend: { backend: 'cpu' } });
    expect(result.remote).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(result.bad).toEqual({ ok: false, error: { code: 'BAD_ARGUMENT', message: 'models.open: path: is required', field: 'path' } });
    // Native dialogs in the desktop app.
    expect(result.dialog).toEqual({ ok: true, result: { canceled: false, path: '/picked/openDirectory' } });
  });

  it('serves the UI with the Content-Security-Policy and nothing outside its folder', () => {
    expect(result.scheme).toBe('subspace');
    expect(result.page).toEqual({ status: 200, csp: CONTENT_SECURITY_POLICY, body: '<!doctype html>' });
    expect(result.escape).toBe(404);
    expect(result.otherHost).toBe(404);
  });

  it('blocks navigation and new windows to other origins, webviews and permissions', () => {
    expect(result.remoteNavigationPrevented).toBe(true);
    expect(result.appNavigationAllowed).toBe(true);
    expect(result.redirectPrevented).toBe(true);
    expect(result.windowOpen).toBe('deny');
    expect(result.windowOpenFile).toBe('deny');
    // Only https links go to the system browser.
    expect(result.opened).toEqual(['https://example.com/x', 'https://example.com/doc']);
    expect(result.webviewPrevented).toBe(true);
    expect(result.cameraGranted).toBe(false);
    expect(result.permissionCheck).toBe(false);
  });

  it('has a menu with the shortcuts, whose items send commands to the window', () => {
    expect(result.menu.file.slice(0, 2)).toEqual(['Open model folder…', 'Open dataset…']);
    expect(result.menu.view.slice(0, 7)).toEqual(['Models CmdOrCtrl+1', 'Data CmdOrCtrl+2', 'Playground CmdOrCtrl+3', 'LoFIT CmdOrCtrl+4', 'ReFT CmdOrCtrl+5', 'Interchange CmdOrCtrl+6', 'Runs CmdOrCtrl+7']);
    expect(result.menu.view).toContain('toggleDevTools');
    expect(result.menu.view).toContain('Toggle light/dark theme CmdOrCtrl+Shift+L');
    expect(result.sent).toEqual([
      ['subspace:event', { type: 'ui.command', command: 'openModel' }],
      ['subspace:event', { type: 'ui.command', command: 'showView', view: 'playground' }],
    ]);
  });

  it('closes the API before quitting', () => {
    expect(result.quitDeferred).toBe(true);
    expect(result.exitCode).toBe(0);
  });
});
