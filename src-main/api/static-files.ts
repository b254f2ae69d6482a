/** The built UI's files, as both transports serve them (browser mode over HTTP, the desktop app over its own protocol). */
import { existsSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';

export const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

export function mimeOf(file: string): string {
  return MIME[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** The file a URL path names inside `root` ('/' is index.html), or undefined when there is none or it would escape the folder. */
export function staticFile(root: string, pathname: string): string | undefined {
  let rel: string;
  try {
    rel = pathname === '/' || pathname === '' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '');
  } catch {
    return undefined;
  }
  const base = resolve(root);
  const file = normalize(join(base, rel));
  if (!file.startsWith(base + sep)) return undefined;
  if (!existsSync(file) || !statSync(file).isFile()) return undefined;
  return file;
}
