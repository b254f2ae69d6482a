/**
 * The API as one object: store, job manager, compute process, event hub,
 * handlers and dispatcher for a data folder. A transport (HTTP + WebSocket, or
 * Electron IPC) is then a thin layer over `api.dispatcher` and `api.hub`.
 *
 *   const api = openApi({ mode: 'browser' });
 *   const server = await startHttpServer(api, { staticDir });
 *   ...
 *   await server.close(); await api.close();
 */
import { JobManager, type JobManagerOptions } from '../jobs/index.js';
import { dataDir as defaultDataDir, openStore } from '../store/index.js';
import { ComputeClient, type ComputeClientOptions } from './compute/compute-client.js';
import { NO_DIALOGS, type ApiContext, type Dialogs } from './context.js';
import { createDispatcher, type Dispatcher } from './dispatch.js';
import { EventHub } from './events.js';
import { createHandlers } from './handlers/index.js';

export interface OpenApiOptions {
  mode: 'electron' | 'browser';
  /** Default: SUBSPACE_DATA_DIR, else the platform's data folder. */
  dataDir?: string;
  dialogs?: Dialogs;
  compute?: ComputeClientOptions;
  /** Options for the job manager (worker entry and Node binary in a packaged app). */
  jobs?: Pick<JobManagerOptions, 'concurrency' | 'workerEntry' | 'execPath' | 'env' | 'execArgv' | 'cancelGraceMs'>;
  /** Where failures that are bugs go (default: stderr). */
  log?: (line: string) => void;
}

export interface Api {
  ctx: ApiContext;
  dispatcher: Dispatcher;
  hub: EventHub;
  close(): Promise<void>;
}

export function openApi(opts: OpenApiOptions): Api {
  const dataDir = opts.dataDir ?? defaultDataDir();
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const store = openStore({ dataDir });
  // Runs left running or queued by an app that is gone will never finish.
  store.markInterruptedRuns();
  const jobs = new JobManager({ store, ...opts.jobs });
  const compute = new ComputeClient(opts.compute);
  compute.start();
  const hub = new EventHub((runId) => store.getRun(runId)?.name);
  hub.attach(jobs);
  const ctx: ApiContext = { mode: opts.mode, dataDir, store, jobs, compute, hub, dialogs: opts.dialogs ?? NO_DIALOGS };
  const dispatcher = createDispatcher(createHandlers(ctx), {
    onInternalError: (method, error) => log(`subspace api: ${method} failed: ${error.message}`),
  });
  let closing: Promise<void> | undefined;
  return {
    ctx,
    dispatcher,
    hub,
    close() {
      closing ??= (async () => {
        await jobs.close();
        await compute.close();
        hub.close();
        store.close();
      })();
      return closing;
    },
  };
}
