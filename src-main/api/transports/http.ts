/**
 * Browser mode's transport: HTTP + WebSocket on loopback.
 *
 *   POST /api/<method>   JSON request body → JSON { ok, result } or { ok: false, error }
 *   GET  /events         WebSocket: one JSON ApiEvent per message
 *   GET  /, /app.js, …   the built renderer, with the UI's Content-Security-Policy
 *
 * Every request, static files included, must carry the session token (a random
 * 32-byte value made at start-up) in the `token` query parameter or the
 * x-subspace-token header; without it the answer is 403. The Host header must
 * name the loopback address and port, so a web page that rebinds a DNS name to
 * 127.0.0.1 gets 403 too. The server listens on 127.0.0.1 only.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { HTTP_API_PREFIX, HTTP_EVENTS_PATH, TOKEN_HEADER, TOKEN_QUERY } from '../channels.js';
import type { ApiResult } from '../contract.js';
import { SECURITY_HEADERS } from '../csp.js';
import type { Api } from '../runtime.js';
import { mimeOf, staticFile } from '../static-files.js';

export interface HttpServerOptions {
  /** The built renderer (index.html, app.js, app.css); without it only the API is served. */
  staticDir?: string;
  /** Default 0: a free port chosen by the system. */
  port?: number;
  /** Default: 32 random bytes, hex. */
  token?: string;
  /** Largest request body (default 40 MiB: a dataset's text fits). */
  maxBodyBytes?: number;
}

export interface HttpServer {
  url: string;
  port: number;
  token: string;
  /** The address to open in a browser: the UI with the token. */
  appUrl: string;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
/** Placeholder in index.html that the server replaces with the token, so the page's own assets carry it. */
export const TOKEN_PLACEHOLDER = '__SUBSPACE_TOKEN__';


/** HTTP status for an error code (the body says the same in words). */
function statusFor(code: string): number {
  switch (code) {
    case 'BAD_ARGUMENT':
    case 'BAD_CONFIG':
    case 'BAD_FILE':
    case 'SHAPE_MISMATCH':
      return 400;
    case 'FORBIDDEN':
      return 403;
    case 'NOT_FOUND':
      return 404;
    case 'UNSUPPORTED':
      return 422;
    default:
      return 500;
  }
}

function sameSecret(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function tokenOf(req: IncomingMessage, url: URL): string | undefined {
  const h = req.headers[TOKEN_HEADER];
  if (typeof h === 'string') return h;
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7);
  return url.searchParams.get(TOKEN_QUERY) ?? undefined;
}

function sendJson(res: ServerResponse, status: number, body: ApiResult): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

const refuse = (res: ServerResponse, status: number, code: string, message: string) => sendJson(res, status, { ok: false, error: { code, message } });

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        fail(Object.assign(new Error(`the request body is larger than ${limit} bytes`), { tooLarge: true }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => done(Buffer.concat(chunks)));
    req.on('error', fail);
  });
}

export function startHttpServer(api: Api, opts: HttpServerOptions = {}): Promise<HttpServer> {
  const token = opts.token ?? randomBytes(32).toString('hex');
  const maxBody = opts.maxBodyBytes ?? 40 * 1024 * 1024;
  const staticDir = opts.staticDir ? resolve(opts.staticDir) : undefined;
  let port = 0;
  const allowedHosts = () => new Set([`${HOST}:${port}`, `localhost:${port}`]);

  const serveStatic = (res: ServerResponse, pathname: string, head: boolean) => {
    if (!staticDir) return refuse(res, 404, 'NOT_FOUND', 'this server has no UI files; build them with npm run build:renderer');
    const file = staticFile(staticDir, pathname);
    if (!file) return refuse(res, 404, 'NOT_FOUND', `no file ${pathname}`);
    let body: Buffer | string = readFileSync(file);
    if (file.endsWith('.html')) body = body.toString('utf8').replaceAll(TOKEN_PLACEHOLDER, token);
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': mimeOf(file), 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
    res.end(head ? undefined : body);
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    if (!allowedHosts().has(req.headers.host ?? '')) return refuse(res, 403, 'FORBIDDEN', `requests must be addressed to ${HOST}:${port}`);
    if (!sameSecret(tokenOf(req, url), token)) return refuse(res, 403, 'FORBIDDEN', 'missing or wrong token: open the address that `subspace serve` printed');
    if (url.pathname.startsWith(HTTP_API_PREFIX)) {
      if (req.method !== 'POST') return refuse(res, 405, 'BAD_ARGUMENT', `use POST for ${url.pathname}`);
      if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) return refuse(res, 415, 'BAD_ARGUMENT', 'the request body must be JSON (Content-Type: application/json)');
      let payload: unknown;
      try {
        const raw = await readBody(req, maxBody);
        payload = raw.length ? JSON.parse(raw.toString('utf8')) : {};
      } catch (e) {
        const tooLarge = (e as { tooLarge?: boolean }).tooLarge;
        return refuse(res, tooLarge ? 413 : 400, 'BAD_ARGUMENT', tooLarge ? (e as Error).message : `the request body is not valid JSON (${(e as Error).message})`);
      }
      const method = decodeURIComponent(url.pathname.slice(HTTP_API_PREFIX.length));
      const result = await api.dispatcher.call(method, payload);
      return sendJson(res, result.ok ? 200 : statusFor(result.error.code), result);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'BAD_ARGUMENT', `${req.method} is not allowed here`);
    return serveStatic(res, url.pathname, req.method === 'HEAD');
  };

  const server: Server = createServer((req, res) => {
    onRequest(req, res).catch((e) => {
      if (!res.headersSent) refuse(res, 500, 'INTERNAL', (e as Error).message);
      else res.destroy();
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const sockets = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    const ok = url.pathname === HTTP_EVENTS_PATH && allowedHosts().has(req.headers.host ?? '') && sameSecret(tokenOf(req, url), token);
    if (!ok) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      const stop = api.hub.subscribe((ev) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(ev));
      });
      ws.on('close', () => {
        stop();
        sockets.delete(ws);
      });
      // The socket only carries events to the page; anything it sends is ignored.
      ws.on('message', () => {});
    });
  });

  return new Promise((ready, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, HOST, () => {
      server.off('error', fail);
      port = (server.address() as AddressInfo).port;
      const url = `http://${HOST}:${port}`;
      ready({
        url,
        port,
        token,
        appUrl: `${url}/?${TOKEN_QUERY}=${token}`,
        close: () =>
          new Promise<void>((closed) => {
            for (const ws of sockets) ws.terminate();
            wss.close();
            server.close(() => closed());
            server.closeAllConnections();
          }),
      });
    });
  });
}
