import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the built-in assets live. In the source tree and in a packaged app
 * (extraResources) the folder sits at a different depth from this module, so
 * look upward for it; SUBSPACE_ASSETS_DIR overrides.
 */
export function assetsDir(): string {
  const env = process.env.SUBSPACE_ASSETS_DIR;
  if (env) return resolve(env);
  const resources = (process as { resourcesPath?: string }).resourcesPath;
  if (resources && existsSync(join(resources, 'assets'))) return join(resources, 'assets');
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'assets');
    if (existsSync(join(candidate, 'models')) || existsSync(join(candidate, 'tasks'))) return candidate;
    dir = dirname(dir);
  }
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'assets');
}

export function builtinModelsDir(): string {
  return join(assetsDir(), 'models');
}

export function builtinTasksDir(): string {
  return join(assetsDir(), 'tasks');
}
