#!/usr/bin/env node
// `npm start`: print what the engine sees (version, tensor backend and why,
// models), build the UI if it is missing or stale, then start the desktop app
// when Electron's binary is installed, or else serve the same UI to a browser
// on 127.0.0.1 (browser mode) and say why.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = fileURLToPath(new URL('./subspace.js', import.meta.url));
const log = (line) => console.log(line);

const info = spawnSync(process.execPath, [cli, 'info'], { stdio: 'inherit' });
if (info.status !== 0) process.exit(info.status ?? 1);

register();
const { ensureRenderer } = await import('../scripts/build-renderer.ts');
await ensureRenderer({ log });

/** Electron's executable, or why there is none. */
function findElectron() {
  let binary;
  try {
    // The electron package's main export is the path of its binary.
    binary = createRequire(import.meta.url)('electron');
  } catch {
    return { why: 'the Electron binary is not installed (electron is an optional dependency: `npm install electron` downloads it)' };
  }
  if (typeof binary !== 'string' || !existsSync(binary)) return { why: 'the Electron binary is not installed (the electron package is there, but its install script could not download the binary)' };
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return { why: 'there is no display to open a window on (DISPLAY is not set)' };
  return { binary };
}

/** Runs a child with the terminal, passes Ctrl+C and termination on, and exits with its code. */
function run(command, args, env = process.env) {
  const child = spawn(command, args, { stdio: 'inherit', env });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

const electron = findElectron();
if (electron.binary) {
  const { ensureElectronBuild } = await import('../scripts/build-electron.ts');
  await ensureElectronBuild(log);
  log('Starting the Subspace desktop app…');
  // Electron must not run as plain Node here, whatever the environment says.
  const env = { ...process.env };
  delete env.ELECTRON_RUN_AS_NODE;
  run(electron.binary, [root], env);
} else {
  log(`\nStarting browser mode instead of the desktop app: ${electron.why}.`);
  log('The same UI and API are served on 127.0.0.1; open the address below in a browser on this machine.\n');
  run(process.execPath, [cli, 'serve', '--no-build']);
}
