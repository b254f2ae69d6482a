/**
 * What the handlers work with: the store, the job manager, the compute
 * process, the event hub and the dialogs of the shell that hosts the API.
 * `createApiContext` builds it for a data folder; the server and the Electron
 * main both use it, so both transports see the same handlers and state.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { JobManager } from '../jobs/index.js';
import type { Store } from '../store/index.js';
import type { ApiRequest, DialogResult } from './contract.js';
import type { ComputeClient } from './compute/compute-client.js';
import type { EventHub } from './events.js';

export interface Dialogs {
  openFolder(req: ApiRequest<'dialogs.openFolder'>): Promise<DialogResult>;
  openFile(req: ApiRequest<'dialogs.openFile'>): Promise<DialogResult>;
  saveFolder(req: ApiRequest<'dialogs.saveFolder'>): Promise<DialogResult>;
}

/** Browser mode: no native dialogs; the UI shows a text field instead. */
export const NO_DIALOGS: Dialogs = {
  openFolder: async () => ({ unsupported: true }),
  openFile: async () => ({ unsupported: true }),
  saveFolder: async () => ({ unsupported: true }),
};

export interface ApiContext {
  mode: 'electron' | 'browser';
  dataDir: string;
  store: Store;
  jobs: JobManager;
  compute: ComputeClient;
  hub: EventHub;
  dialogs: Dialogs;
}

/** `<dataDir>/datasets`: imported dataset files, named by content hash. */
export function datasetsDirIn(dataDir: string): string {
  const dir = join(dataDir, 'datasets');
  mkdirSync(dir, { recursive: true });
  return dir;
}
