#!/usr/bin/env node
// `npm start`: the desktop app and browser mode are not built yet, so start
// shows what the engine sees (backend, models, tasks) and how to use the CLI.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('./subspace.js', import.meta.url));
const run = (...args) => spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' }).status ?? 1;

let code = run('info');
if (code === 0) code = run('tasks');
console.log('\nThe workbench UI is not part of this version yet; use the CLI: npx subspace --help');
process.exit(code);
