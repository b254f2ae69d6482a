/**
 * The preload: runs sandboxed before the page and exposes exactly one object,
 * `window.subspace = { call, onEvent }`, through contextBridge. The page gets
 * no Node, no ipcRenderer and no way to name another channel. Bundled to
 * CommonJS (dist-main/electron/preload.cjs); a sandboxed preload may require
 * only 'electron' and a few built-ins.
 */
import { IPC_CALL, IPC_EVENT } from '../api/channels.js';
import type { ApiEvent, ApiResult, SubspaceBridge } from '../api/contract.js';
import type { ElectronPreload } from './electron-api.js';

// A sandboxed preload has `require` for 'electron' only, and the package's types may be absent.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { contextBridge, ipcRenderer } = require('electron') as ElectronPreload;

const bridge: SubspaceBridge = {
  call(method: string, payload: unknown): Promise<ApiResult> {
    if (typeof method !== 'string') return Promise.resolve({ ok: false, error: { code: 'BAD_ARGUMENT', message: 'method must be a string', field: 'method' } });
    return ipcRenderer.invoke(IPC_CALL, method, payload) as Promise<ApiResult>;
  },
  onEvent(listener: (event: ApiEvent) => void): () => void {
    const wrapped = (_e: unknown, event: unknown) => listener(event as ApiEvent);
    ipcRenderer.on(IPC_EVENT, wrapped);
    return () => ipcRenderer.removeListener(IPC_EVENT, wrapped);
  },
};

contextBridge.exposeInMainWorld('subspace', bridge);
