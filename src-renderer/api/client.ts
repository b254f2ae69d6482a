/**
 * The API client: one `call` and one `onEvent`, whatever carries them.
 *
 * In the desktop app the preload exposes `window.subspace` (Electron IPC); in a
 * browser tab the client uses fetch for calls and a WebSocket for events, with
 * the session token taken from the page's address. Views never see which.
 *
 * Types come from the contract (src-main/api/contract.ts): a call's payload and
 * result are checked at compile time, and the main process validates both at
 * run time.
 */
import type { ApiError, ApiEvent, ApiRequest, ApiResponse, ApiResult, MethodName, SubspaceBridge } from '../../src-main/api/contract.js';
import { HTTP_API_PREFIX, HTTP_EVENTS_PATH, TOKEN_HEADER, TOKEN_QUERY } from '../../src-main/api/channels.js';

declare global {
  interface Window {
    subspace?: SubspaceBridge;
  }
}

/** A failed call: the code, the message and the field it is about, as the main process said. */
export class ApiCallError extends Error {
  readonly code: string;
  readonly field?: string;
  readonly method: string;
  constructor(method: string, error: ApiError) {
    super(error.message);
    this.name = 'ApiCallError';
    this.code = error.code;
    this.field = error.field;
    this.method = method;
  }
}

export interface Transport {
  kind: 'ipc' | 'http';
  call(method: string, payload: unknown): Promise<ApiResult>;
  onEvent(listener: (e: ApiEvent) => void): () => void;
  /** Connection changes of the event stream (browser mode reconnects after a drop). */
  onStatus?(listener: (connected: boolean) => void): () => void;
}

function ipcTransport(bridge: SubspaceBridge): Transport {
  return { kind: 'ipc', call: (m, p) => bridge.call(m, p), onEvent: (l) => bridge.onEvent(l) };
}

function httpTransport(token: string): Transport {
  const listeners = new Set<(e: ApiEvent) => void>();
  const statusListeners = new Set<(c: boolean) => void>();
  let socket: WebSocket | undefined;
  let retryMs = 500;
  const connect = () => {
    const url = new URL(HTTP_EVENTS_PATH, location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.search = `?${TOKEN_QUERY}=${encodeURIComponent(token)}`;
    const ws = new WebSocket(url.href);
    socket = ws;
    ws.onopen = () => {
      retryMs = 500;
      statusListeners.forEach((l) => l(true));
    };
    ws.onmessage = (m) => {
      let ev: ApiEvent;
      try {
        ev = JSON.parse(String(m.data)) as ApiEvent;
      } catch {
        return;
      }
      listeners.forEach((l) => l(ev));
    };
    ws.onclose = () => {
      statusListeners.forEach((l) => l(false));
      if (socket !== ws) return;
      socket = undefined;
      // The server may be restarting; try again, more slowly each time.
      setTimeout(() => {
        if (!socket && listeners.size > 0) connect();
      }, retryMs);
      retryMs = Math.min(retryMs * 2, 10_000);
    };
  };
  return {
    kind: 'http',
    async call(method, payload) {
      let res: Response;
      try {
        res = await fetch(`${HTTP_API_PREFIX}${encodeURIComponent(method)}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', [TOKEN_HEADER]: token },
          body: JSON.stringify(payload ?? {}),
        });
      } catch (e) {
        return { ok: false, error: { code: 'UNAVAILABLE', message: `the Subspace server is not answering (${(e as Error).message}); is \`subspace serve\` still running?` } };
      }
      try {
        return (await res.json()) as ApiResult;
      } catch {
        return { ok: false, error: { code: 'INTERNAL', message: `the server answered ${res.status} without a readable body` } };
      }
    },
    onEvent(listener) {
      listeners.add(listener);
      if (!socket) connect();
      return () => listeners.delete(listener);
    },
    onStatus(listener) {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },
  };
}

function pickTransport(): Transport {
  if (typeof window !== 'undefined' && window.subspace) return ipcTransport(window.subspace);
  const token = new URLSearchParams(location.search).get(TOKEN_QUERY) ?? '';
  return httpTransport(token);
}

export interface ApiClient {
  readonly transport: Transport;
  call<M extends MethodName>(method: M, payload: ApiRequest<M>): Promise<ApiResponse<M>>;
  onEvent(listener: (e: ApiEvent) => void): () => void;
}

export function createClient(transport: Transport = pickTransport()): ApiClient {
  return {
    transport,
    async call(method, payload) {
      const r = await transport.call(method, payload);
      if (!r.ok) throw new ApiCallError(method, r.error);
      return r.result as ApiResponse<typeof method>;
    },
    onEvent: (l) => transport.onEvent(l),
  };
}

let shared: ApiClient | undefined;
/** The app's client (made on first use). */
export function api(): ApiClient {
  shared ??= createClient();
  return shared;
}
