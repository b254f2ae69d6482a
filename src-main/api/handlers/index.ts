/**
 * The handler table: one function per method of the contract. The `Handlers`
 * type makes a method without a handler a compile error.
 */
import type { BackendReport } from '../../engine/backend/index.js';
import { errorMessage } from '../../engine/errors.js';
import { APP_VERSION } from '../../engine/version.js';
import type { ApiContext } from '../context.js';
import type { Handlers } from '../dispatch.js';
import { libraryHandlers } from './library.js';
import { lofitViewHandlers } from './lofit-view.js';
import { reftViewHandlers } from './reft-view.js';
import { workHandlers } from './work.js';
import { interchangeViewHandlers } from './interchange-view.js';
import { runsViewHandlers } from './runs-view.js';
import { transferViewHandlers } from './transfer-view.js';
import { runExportHandlers } from './run-export.js';

/** The compute process's backend; if it could not start one, say why instead of failing the whole answer. */
async function backendOrWhy(ctx: ApiContext): Promise<BackendReport> {
  try {
    return await ctx.compute.backend();
  } catch (e) {
    return { backend: 'none', device: 'unavailable', reasons: [{ backend: 'none', available: false, why: errorMessage(e) }] };
  }
}

export function createHandlers(ctx: ApiContext): Handlers {
  return {
    'app.info': async () => ({ version: APP_VERSION, node: process.version, mode: ctx.mode, dataDir: ctx.dataDir, backend: await backendOrWhy(ctx) }),
    ...libraryHandlers(ctx),
    ...workHandlers(ctx),
    ...interchangeViewHandlers(ctx),
    ...runsViewHandlers(ctx),
    ...reftViewHandlers(ctx),
    ...lofitViewHandlers(ctx),
    ...transferViewHandlers(ctx),
    ...runExportHandlers(ctx),
    'dialogs.openFolder': (req) => ctx.dialogs.openFolder(req),
    'dialogs.openFile': (req) => ctx.dialogs.openFile(req),
    'dialogs.saveFolder': (req) => ctx.dialogs.saveFolder(req),
  };
}
