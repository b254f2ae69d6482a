/**
 * The parts of Electron's main-process API the shell uses, typed locally. The
 * `electron` package is an optional dependency (its install downloads a
 * binary, which fails on machines without internet), so the code must
 * typecheck without its types; at run time main.ts takes the real module
 * from `require('electron')`.
 */

export interface WebPreferences {
  preload: string;
  contextIsolation: boolean;
  sandbox: boolean;
  nodeIntegration: boolean;
  nodeIntegrationInWorker?: boolean;
  nodeIntegrationInSubFrames?: boolean;
  webSecurity: boolean;
  allowRunningInsecureContent: boolean;
  webviewTag: boolean;
  spellcheck?: boolean;
  navigateOnDragDrop?: boolean;
}

export interface ElectronEvent {
  preventDefault(): void;
}

export interface WebContents {
  send(channel: string, ...args: unknown[]): void;
  isDestroyed(): boolean;
  on(event: 'will-navigate' | 'will-redirect', listener: (event: ElectronEvent, url: string) => void): void;
  on(event: 'will-attach-webview', listener: (event: ElectronEvent) => void): void;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' | 'allow' }): void;
  toggleDevTools(): void;
}

export interface BrowserWindow {
  webContents: WebContents;
  loadURL(url: string): Promise<void>;
  isDestroyed(): boolean;
  isMinimized(): boolean;
  restore(): void;
  focus(): void;
  show(): void;
  on(event: 'closed' | 'ready-to-show', listener: () => void): void;
  once(event: 'ready-to-show', listener: () => void): void;
}

export interface BrowserWindowConstructor {
  new (options: {
    width: number;
    height: number;
    minWidth?: number;
    minHeight?: number;
    show?: boolean;
    title?: string;
    backgroundColor?: string;
    webPreferences: WebPreferences;
  }): BrowserWindow;
  getAllWindows(): BrowserWindow[];
}

export interface MenuItemOptions {
  label?: string;
  role?: string;
  type?: 'separator' | 'normal' | 'submenu';
  accelerator?: string;
  click?: () => void;
  submenu?: MenuItemOptions[];
}

export interface OpenDialogResult {
  canceled: boolean;
  filePaths: string[];
}

export interface ElectronMain {
  app: {
    isPackaged: boolean;
    requestSingleInstanceLock(): boolean;
    whenReady(): Promise<void>;
    quit(): void;
    exit(code?: number): void;
    getVersion(): string;
    setName(name: string): void;
    on(event: 'second-instance' | 'window-all-closed' | 'activate', listener: () => void): void;
    on(event: 'before-quit' | 'will-quit', listener: (event: ElectronEvent) => void): void;
    on(event: 'web-contents-created', listener: (event: unknown, contents: WebContents) => void): void;
  };
  BrowserWindow: BrowserWindowConstructor;
  ipcMain: {
    handle(channel: string, listener: (event: { senderFrame?: { url: string } | null }, ...args: unknown[]) => unknown): void;
    removeHandler(channel: string): void;
  };
  dialog: {
    showOpenDialog(window: BrowserWindow | undefined, options: { title?: string; defaultPath?: string; properties: string[]; filters?: { name: string; extensions: string[] }[] }): Promise<OpenDialogResult>;
  };
  Menu: {
    buildFromTemplate(template: MenuItemOptions[]): unknown;
    setApplicationMenu(menu: unknown): void;
  };
  protocol: {
    registerSchemesAsPrivileged(schemes: { scheme: string; privileges: { standard?: boolean; secure?: boolean; supportFetchAPI?: boolean; corsEnabled?: boolean } }[]): void;
    handle(scheme: string, handler: (request: Request) => Response | Promise<Response>): void;
  };
  session: {
    defaultSession: {
      setPermissionRequestHandler(handler: (webContents: unknown, permission: string, callback: (granted: boolean) => void) => void): void;
      setPermissionCheckHandler(handler: () => boolean): void;
    };
  };
  shell: {
    openExternal(url: string): Promise<void>;
  };
}

/** What the preload uses. */
export interface ElectronPreload {
  contextBridge: { exposeInMainWorld(key: string, api: unknown): void };
  ipcRenderer: {
    invoke(channel: string, ...args: unknown[]): Promise<unknown>;
    on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): void;
    removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): void;
  };
}
