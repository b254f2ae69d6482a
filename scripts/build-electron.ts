/**
 * Builds the desktop app's main-process code with esbuild:
 *
 *   dist-main/electron/main.cjs      Electron main (package.json "main")
 *   dist-main/electron/preload.cjs   the sandboxed preload (self-contained)
 *   dist-main/jobs/worker.mjs        the job worker
 *   dist-main/api/compute-worker.mjs the compute process
 *   dist-main/jobs/shard-worker.mjs  the job worker's training helper thread
 *
 * npm packages stay external (electron-builder ships node_modules, with the
 * native ones rebuilt for Electron); only the project's TypeScript is bundled.
 *
 *   npx tsx scripts/build-electron.ts
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';
import { ESBUILD_BASE, exitWithBuildError, newestMtime, ROOT } from './build-renderer.js';

export const MAIN_OUT = join(ROOT, 'dist-main');
const OUTPUTS = ['electron/main.cjs', 'electron/preload.cjs', 'jobs/worker.mjs', 'api/compute-worker.mjs', 'jobs/shard-worker.mjs'].map((f) => join(MAIN_OUT, f));

const common: BuildOptions = { ...ESBUILD_BASE, platform: 'node', target: 'node20', sourcemap: false };

/** CommonJS has no import.meta: give the bundled modules the file URL of the bundle itself. */
const cjsImportMeta: BuildOptions = {
  define: { 'import.meta.url': '__subspace_import_meta_url', 'import.meta.dirname': '__dirname' },
  banner: { js: "const __subspace_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
};

/** Why the bundles need a build, or undefined when they are up to date. */
export function electronBuildStale(): string | undefined {
  if (OUTPUTS.some((f) => !existsSync(f))) return 'not built yet';
  const built = Math.min(...OUTPUTS.map((f) => statSync(f).mtimeMs));
  return newestMtime(join(ROOT, 'src-main')) > built ? 'sources changed since the last build' : undefined;
}

export async function buildElectron(): Promise<{ ms: number }> {
  const t0 = performance.now();
  await Promise.all([
    build({ ...common, ...cjsImportMeta, entryPoints: [join(ROOT, 'src-main', 'electron', 'main.ts')], outfile: OUTPUTS[0], format: 'cjs', packages: 'external' }),
    // The sandboxed preload may require only 'electron': everything else is bundled in.
    build({ ...common, entryPoints: [join(ROOT, 'src-main', 'electron', 'preload.ts')], outfile: OUTPUTS[1], format: 'cjs', platform: 'browser', target: 'chrome120', external: ['electron'] }),
    build({ ...common, entryPoints: [join(ROOT, 'src-main', 'jobs', 'worker.ts')], outfile: OUTPUTS[2], format: 'esm', packages: 'external' }),
    build({ ...common, entryPoints: [join(ROOT, 'src-main', 'api', 'compute', 'compute-worker.ts')], outfile: OUTPUTS[3], format: 'esm', packages: 'external' }),
    // The job worker's training helper thread (engine/parallel/shard-thread.ts looks for it beside the job worker).
    build({ ...common, entryPoints: [join(ROOT, 'src-main', 'engine', 'parallel', 'shard-worker.ts')], outfile: OUTPUTS[4], format: 'esm', packages: 'external' }),
  ]);
  return { ms: Math.round(performance.now() - t0) };
}

export async function ensureElectronBuild(log?: (line: string) => void): Promise<void> {
  const why = electronBuildStale();
  if (!why) return;
  log?.(`building the desktop app's main process (${why})…`);
  await buildElectron();
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  buildElectron()
    .then((r) => console.log(`built ${OUTPUTS.map((f) => f.slice(ROOT.length + 1)).join(', ')} in ${r.ms} ms`))
    .catch(exitWithBuildError);
}
