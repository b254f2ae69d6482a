/**
 * The desktop app's transport: Electron IPC. The preload's `call` is an
 * `ipcRenderer.invoke(IPC_CALL, method, payload)`, answered here by the same
 * dispatcher the HTTP transport uses (so the same validation and handlers);
 * events go to the window with `webContents.send(IPC_EVENT, event)`.
 *
 * Typed structurally (no import of electron), so it compiles and is tested
 * where the Electron package is not installed.
 */
import { IPC_CALL, IPC_EVENT } from '../channels.js';
import type { ApiEvent, ApiResult } from '../contract.js';
import type { Api } from '../runtime.js';

export interface IpcInvokeEventLike {
  senderFrame?: { url: string } | null;
}

export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcInvokeEventLike, ...args: unknown[]) => Promise<unknown> | unknown): void;
  removeHandler(channel: string): void;
}

export interface EventTarget {
  isDestroyed(): boolean;
  send(channel: string, event: ApiEvent): void;
}

/**
 * Answers the window's calls. `trusted` decides whether a frame may call at all
 * (only the app's own pages; never a remote page that got loaded somehow).
 * Returns a function that removes the handler.
 */
export function bindIpc(ipcMain: IpcMainLike, api: Api, trusted: (frameUrl: string | undefined) => boolean): () => void {
  ipcMain.handle(IPC_CALL, async (event, method, payload): Promise<ApiResult> => {
    if (!trusted(event.senderFrame?.url)) return { ok: false, error: { code: 'FORBIDDEN', message: 'calls are only accepted from the app’s own pages' } };
    return api.dispatcher.call(typeof method === 'string' ? method : String(method), payload);
  });
  return () => ipcMain.removeHandler(IPC_CALL);
}

/** Sends every API event to the window while it exists. Returns the unsubscribe function. */
export function forwardEvents(api: Api, target: () => EventTarget | undefined): () => void {
  return api.hub.subscribe((e) => {
    const t = target();
    if (t && !t.isDestroyed()) t.send(IPC_EVENT, e);
  });
}
