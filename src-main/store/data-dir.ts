import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { SubspaceError } from '../engine/errors.js';
import { ID_PATTERN } from './validate.js';

/** The product name; the data folder is named after it on every platform. */
export const PRODUCT_NAME = 'Subspace';
/** The database file inside the data folder. */
export const DB_FILE_NAME = 'subspace.db';
/** The folder (inside the data folder) that holds one sub-folder of artifacts per run. */
export const RUNS_DIR_NAME = 'runs';

export interface DataDirOptions {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  homedir?: string;
}

/**
 * Where Subspace keeps its database and run artifacts.
 *
 * - `SUBSPACE_DATA_DIR` when set (made absolute);
 * - Linux and other Unixes: `$XDG_CONFIG_HOME/Subspace`, else `~/.config/Subspace` — where
 *   Electron puts `userData`, so the app and the CLI share one store (a relative
 *   `XDG_CONFIG_HOME` is ignored, as the XDG spec says);
 * - macOS: `~/Library/Application Support/Subspace`;
 * - Windows: `%APPDATA%\Subspace`, else `~\AppData\Roaming\Subspace`.
 *
 * An Electron caller that wants its own location passes it to `openStore({ dataDir })`.
 */
export function dataDir(options: DataDirOptions = {}): string {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const home = options.homedir ?? homedir();

  const override = env.SUBSPACE_DATA_DIR;
  if (override && override.trim() !== '') return resolve(override);

  if (platform === 'win32') {
    const appData = env.APPDATA && env.APPDATA.trim() !== '' ? env.APPDATA : join(home, 'AppData', 'Roaming');
    return join(appData, PRODUCT_NAME);
  }
  if (platform === 'darwin') {
    return join(home, 'Library', 'Application Support', PRODUCT_NAME);
  }
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, PRODUCT_NAME);
  return join(home, '.config', PRODUCT_NAME);
}

/** `<dataDir>/subspace.db` */
export function dbPathIn(dir: string): string {
  return join(dir, DB_FILE_NAME);
}

/** `<dataDir>/runs` */
export function runsDirIn(dir: string): string {
  return join(dir, RUNS_DIR_NAME);
}

/** `<dataDir>/runs/<runId>`. Run ids are safe path segments (no separators, no `..`). */
export function runDirIn(dir: string, runId: string): string {
  if (!ID_PATTERN.test(runId)) throw new SubspaceError('BAD_ARGUMENT', `runId: not a valid run id: ${JSON.stringify(runId)}`, 'runId');
  return join(dir, RUNS_DIR_NAME, runId);
}
