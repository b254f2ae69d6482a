import { resolve } from 'node:path';
import type { Command } from 'commander';
import { SubspaceError } from '../../engine/errors.js';
import { openApi } from '../../api/runtime.js';
import { startHttpServer } from '../../api/transports/http.js';
import { num } from '../args.js';
import { note } from '../output.js';

export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description('serve the workbench UI and its API to a browser on 127.0.0.1, behind a random token')
    .option('--port <n>', 'port (default: a free one)', num('port', { int: true, min: 0, max: 65535 }), 0)
    .option('--data-dir <dir>', 'data folder (default: SUBSPACE_DATA_DIR, else the platform data folder)')
    .option('--renderer-dir <dir>', 'serve this built UI folder instead of dist-renderer/')
    .option('--no-build', 'do not build the UI when dist-renderer/ is missing or stale')
    .option('--json', 'print one JSON line { url, appUrl, port, token } once listening')
    .action(async (o: { port: number; dataDir?: string; rendererDir?: string; build: boolean; json?: boolean }) => {
      const log = (line: string) => note(line);
      let staticDir: string | undefined = o.rendererDir ? resolve(o.rendererDir) : undefined;
      if (!staticDir) {
        // The build script lives outside src-main; it needs esbuild, a development dependency.
        const b = await import('../../../scripts/build-renderer.js');
        if (o.build) staticDir = await b.ensureRenderer({ log });
        else {
          const why = b.rendererStale();
          if (why === 'not built yet') throw new SubspaceError('NOT_FOUND', `the UI is not built (${b.RENDERER_OUT}); run npm run build:renderer or drop --no-build`, 'renderer');
          staticDir = b.RENDERER_OUT;
        }
      }
      const backend = program.opts<{ backend?: string }>().backend;
      // --backend applies to the compute process and to every job worker.
      const env = backend ? { SUBSPACE_BACKEND: backend } : undefined;
      const api = openApi({ mode: 'browser', ...(o.dataDir && { dataDir: resolve(o.dataDir) }), ...(env && { compute: { env }, jobs: { env } }) });
      const server = await startHttpServer(api, { staticDir, port: o.port });
      if (o.json) process.stdout.write(JSON.stringify({ url: server.url, appUrl: server.appUrl, port: server.port, token: server.token }) + '\n');
      else {
        console.log(`Subspace is serving the workbench at\n\n  ${server.appUrl}\n`);
        console.log(`Open it in a browser on this machine. The token in the address is required; requests without it are refused.`);
        console.log(`Data folder: ${api.ctx.dataDir}. Stop with Ctrl+C.`);
      }
      api.ctx.compute
        .backend()
        .then((r) => log(`backend: ${r.backend} (${r.device})`))
        .catch((e: unknown) => log(`backend: could not start (${(e as Error).message})`));
      await new Promise<void>((done) => {
        let stopping = false;
        const stop = () => {
          if (stopping) return;
          stopping = true;
          server
            .close()
            .then(() => api.close())
            .finally(done);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
