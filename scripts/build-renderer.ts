/**
 * Builds the UI (src-renderer/) with esbuild into dist-renderer/: index.html,
 * app.js and app.css. One bundle, no code splitting, no source maps in the
 * output folder that the app ships.
 *
 *   npx tsx scripts/build-renderer.ts [--out <dir>] [--dev]
 *
 * `ensureRenderer()` rebuilds only when the output is missing or older than a
 * source file (what `npm start` and `subspace serve` call).
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions as EsbuildOptions } from 'esbuild';
import { CONTENT_SECURITY_POLICY } from '../src-main/api/csp.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const RENDERER_SRC = join(ROOT, 'src-renderer');
export const RENDERER_OUT = join(ROOT, 'dist-renderer');
/** What every bundle of the project shares (this one and scripts/build-electron.ts's). */
export const ESBUILD_BASE: EsbuildOptions = { bundle: true, legalComments: 'none', logLevel: 'silent' };
/** Written last: its time is the build's time. */
const STAMP = 'build-stamp.json';
/** Source that the bundle includes from outside src-renderer (the contract's schemas). */
const EXTRA_SOURCES = [join(ROOT, 'src-main', 'api'), join(ROOT, 'src-main', 'jobs', 'protocol.ts'), join(ROOT, 'src-main', 'engine', 'tasks', 'schema.ts'), join(ROOT, 'package.json')];

/** The newest modification time of a file or of anything under a folder (0 when it is missing). */
export function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const e of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, e)));
  return newest;
}

/** Why the output needs a build, or undefined when it is up to date. */
export function rendererStale(outDir = RENDERER_OUT): string | undefined {
  const stamp = join(outDir, STAMP);
  if (!existsSync(stamp) || !existsSync(join(outDir, 'index.html'))) return 'not built yet';
  const built = statSync(stamp).mtimeMs;
  const newest = Math.max(newestMtime(RENDERER_SRC), ...EXTRA_SOURCES.map(newestMtime));
  return newest > built ? 'sources changed since the last build' : undefined;
}

/** frame-ancestors means nothing in a <meta> policy (browsers warn); the HTTP header carries it. */
const META_CSP = CONTENT_SECURITY_POLICY.split('; ')
  .filter((d) => !d.startsWith('frame-ancestors'))
  .join('; ');

/** Inline, so the browser never asks for /favicon.ico (which, without the token, would be refused). */
const ICON = `data:image/svg+xml,${encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0072b2"/><path d="M3 12 L8 4 L13 12" stroke="#fff" stroke-width="2" fill="none"/></svg>')}`;

function indexHtml(): string {
  // The server puts the session token into the asset URLs (browser mode); in Electron the query is ignored.
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${META_CSP}">
<title>Subspace</title>
<link rel="icon" href="${ICON}">
<link rel="stylesheet" href="app.css?token=__SUBSPACE_TOKEN__">
</head>
<body>
<div id="root"></div>
<script src="app.js?token=__SUBSPACE_TOKEN__"></script>
</body>
</html>
`;
}

export interface BuildOptions {
  outDir?: string;
  /** Readable output with inline source maps (for debugging; never shipped). */
  dev?: boolean;
}

/** Builds into a fresh folder beside `outDir`, then swaps it in, so a reader never sees half a build. */
export async function buildRenderer(opts: BuildOptions = {}): Promise<{ outDir: string; ms: number }> {
  const t0 = performance.now();
  const outDir = resolve(opts.outDir ?? RENDERER_OUT);
  const tmp = `${outDir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  try {
    await build({
      ...ESBUILD_BASE,
      entryPoints: { app: join(RENDERER_SRC, 'main.tsx') },
      outdir: tmp,
      format: 'iife',
      platform: 'browser',
      target: ['chrome120'],
      jsx: 'automatic',
      minify: !opts.dev,
      sourcemap: opts.dev ? 'inline' : false,
      define: { 'process.env.NODE_ENV': JSON.stringify(opts.dev ? 'development' : 'production'), global: 'globalThis' },
      loader: { '.svg': 'dataurl', '.png': 'dataurl', '.woff2': 'dataurl' },
    });
    // Every view and chart bundles its CSS into app.css; the shell's own sheet comes first.
    if (!existsSync(join(tmp, 'app.css'))) writeFileSync(join(tmp, 'app.css'), '');
    writeFileSync(join(tmp, 'index.html'), indexHtml());
    writeFileSync(join(tmp, STAMP), JSON.stringify({ builtAt: new Date().toISOString(), dev: !!opts.dev }) + '\n');
    const old = `${outDir}.old-${process.pid}-${Date.now()}`;
    try {
      if (existsSync(outDir)) renameSync(outDir, old);
      renameSync(tmp, outDir);
    } catch (e) {
      // Another build swapped its output in at the same moment: its result is as fresh as ours.
      if (!existsSync(join(outDir, STAMP))) throw e;
      rmSync(tmp, { recursive: true, force: true });
    }
    rmSync(old, { recursive: true, force: true });
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return { outDir, ms: Math.round(performance.now() - t0) };
}

/** Builds when the output is missing or stale; says what it did through `log`. */
export async function ensureRenderer(opts: BuildOptions & { log?: (line: string) => void } = {}): Promise<string> {
  const outDir = resolve(opts.outDir ?? RENDERER_OUT);
  const why = rendererStale(outDir);
  if (why) {
    opts.log?.(`building the UI (${why})…`);
    await buildRenderer({ ...opts, outDir });
  }
  return outDir;
}

/** Prints esbuild's errors as `file:line: text` (or any other failure's message) and exits with 1. */
export function exitWithBuildError(e: unknown): never {
  const errors = (e as { errors?: { text: string; location?: { file: string; line: number } }[] }).errors;
  if (errors?.length) for (const x of errors) console.error(`${x.location ? `${x.location.file}:${x.location.line}: ` : ''}${x.text}`);
  else console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--out');
  const outDir = at >= 0 ? args[at + 1] : undefined;
  buildRenderer({ outDir, dev: args.includes('--dev') })
    .then((r) => {
      const size = (f: string) => `${f} ${(statSync(join(r.outDir, f)).size / 1024).toFixed(0)} KiB`;
      console.log(`built the UI into ${r.outDir} in ${r.ms} ms (${['app.js', 'app.css'].map(size).join(', ')})`);
    })
    .catch(exitWithBuildError);
}
