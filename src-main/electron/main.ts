/**
 * The desktop shell (Electron main process), bundled to dist-main/electron/main.cjs
 * by scripts/build-electron.ts. Thin: a window, a menu, native dialogs and the
 * IPC transport over the same API object browser mode serves.
 *
 * Security: the page runs with contextIsolation, sandbox and no Node; it is
 * served from the app's own `subspace://app/` protocol with the UI's
 * Content-Security-Policy; navigation away from it and new windows are refused
 * (https links open in the system browser); webviews and permission requests
 * are refused; IPC answers only the app's own pages. One instance: a second
 * start focuses the first window.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IPC_EVENT } from '../api/channels.js';
import type { ApiEvent } from '../api/contract.js';
import type { Dialogs } from '../api/context.js';
import { SECURITY_HEADERS } from '../api/csp.js';
import { openApi, type Api } from '../api/runtime.js';
import type { UiCommand } from '../api/shell.js';
import { mimeOf, staticFile } from '../api/static-files.js';
import { bindIpc, forwardEvents } from '../api/transports/ipc.js';
import type { BrowserWindow, ElectronMain } from './electron-api.js';
import { menuTemplate } from './menu.js';

const electron = createRequire(import.meta.url)('electron') as ElectronMain;
const { app, BrowserWindow: Window, ipcMain, dialog, Menu, protocol, session, shell } = electron;

const SCHEME = 'subspace';
const ORIGIN = `${SCHEME}://app`;
const HERE = dirname(fileURLToPath(import.meta.url));
/** dist-main/electron → the app's root (the repository, or app.asar when packaged). */
const APP_ROOT = join(HERE, '..', '..');
const RENDERER_DIR = join(APP_ROOT, 'dist-renderer');

/** Only the app's own pages may call the API or stay loaded. */
function isAppUrl(url: string | undefined): boolean {
  if (!url) return false;
  try {
    const u = new URL(url);
    return u.protocol === `${SCHEME}:` && u.host === 'app';
  } catch {
    return false;
  }
}

function openExternally(url: string): void {
  try {
    if (new URL(url).protocol === 'https:') void shell.openExternal(url);
  } catch {
    // Not a URL: nothing to open.
  }
}

// Must happen before the app is ready.
protocol.registerSchemesAsPrivileged([{ scheme: SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

let win: BrowserWindow | undefined;
let api: Api | undefined;

function focused(): BrowserWindow | undefined {
  return win && !win.isDestroyed() ? win : undefined;
}

const dialogs: Dialogs = {
  async openFolder(req) {
    const r = await dialog.showOpenDialog(focused(), { title: req.title ?? 'Open a model folder', defaultPath: req.defaultPath, properties: ['openDirectory'] });
    return { canceled: r.canceled || r.filePaths.length === 0, ...(r.filePaths[0] && { path: r.filePaths[0] }) };
  },
  async openFile(req) {
    const filters = req.extensions?.length ? [{ name: 'Datasets', extensions: req.extensions }, { name: 'All files', extensions: ['*'] }] : undefined;
    const r = await dialog.showOpenDialog(focused(), { title: req.title ?? 'Open a dataset', defaultPath: req.defaultPath, properties: ['openFile'], ...(filters && { filters }) });
    return { canceled: r.canceled || r.filePaths.length === 0, ...(r.filePaths[0] && { path: r.filePaths[0] }) };
  },
  async saveFolder(req) {
    const r = await dialog.showOpenDialog(focused(), { title: req.title ?? 'Choose a folder to export to', defaultPath: req.defaultPath, properties: ['openDirectory', 'createDirectory', 'promptToCreate'] });
    return { canceled: r.canceled || r.filePaths.length === 0, ...(r.filePaths[0] && { path: r.filePaths[0] }) };
  },
};

function sendCommand(c: UiCommand): void {
  const w = focused();
  if (!w) return;
  const event: ApiEvent = c.command === 'showView' ? { type: 'ui.command', command: 'showView', view: c.view } : { type: 'ui.command', command: c.command };
  w.webContents.send(IPC_EVENT, event);
}

function serveApp(request: Request): Response {
  const url = new URL(request.url);
  const file = url.host === 'app' ? staticFile(RENDERER_DIR, url.pathname) : undefined;
  if (!file) return new Response('not found', { status: 404, headers: SECURITY_HEADERS });
  return new Response(readFileSync(file), { status: 200, headers: { ...SECURITY_HEADERS, 'Content-Type': mimeOf(file), 'Cache-Control': 'no-store' } });
}

function createWindow(): void {
  win = new Window({
    width: 1280,
    height: 800,
    minWidth: 960,
    minHeight: 600,
    show: false,
    title: 'Subspace',
    backgroundColor: '#0d1117',
    webPreferences: {
      preload: join(HERE, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      navigateOnDragDrop: false,
    },
  });
  win.once('ready-to-show', () => win?.show());
  win.on('closed', () => {
    win = undefined;
  });
  void win.loadURL(`${ORIGIN}/index.html#/models`);
}

async function start(): Promise<void> {
  await app.whenReady();
  const workerEnv = { ELECTRON_RUN_AS_NODE: '1' };
  api = openApi({
    mode: 'electron',
    dialogs,
    // Workers are Node processes started from Electron's own binary (no separate Node is installed).
    compute: { entry: join(APP_ROOT, 'dist-main', 'api', 'compute-worker.mjs'), execPath: process.execPath, env: workerEnv },
    jobs: { workerEntry: join(APP_ROOT, 'dist-main', 'jobs', 'worker.mjs'), execPath: process.execPath, env: workerEnv },
  });
  protocol.handle(SCHEME, serveApp);
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  bindIpc(ipcMain, api, isAppUrl);
  forwardEvents(api, () => focused()?.webContents);
  Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate(sendCommand)));
  createWindow();
}

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-attach-webview', (e) => e.preventDefault());
  const guard = (e: { preventDefault(): void }, url: string) => {
    if (isAppUrl(url)) return;
    e.preventDefault();
    openExternally(url);
  };
  contents.on('will-navigate', guard);
  contents.on('will-redirect', guard);
  contents.setWindowOpenHandler(({ url }) => {
    openExternally(url);
    return { action: 'deny' };
  });
});

if (!app.requestSingleInstanceLock()) {
  // Another Subspace is running; it gets a 'second-instance' event and shows its window.
  app.quit();
} else {
  app.on('second-instance', () => {
    const w = focused();
    if (!w) return;
    if (w.isMinimized()) w.restore();
    w.focus();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('activate', () => {
    if (!focused() && api) createWindow();
  });
  let closing = false;
  app.on('before-quit', (e) => {
    if (closing || !api) return;
    // Stop jobs cleanly (their runs are recorded as cancelled), then quit for real.
    e.preventDefault();
    closing = true;
    void api.close().finally(() => app.exit(0));
  });
  start().catch((e: unknown) => {
    process.stderr.write(`Subspace could not start: ${e instanceof Error ? e.message : String(e)}\n`);
    app.exit(1);
  });
}
