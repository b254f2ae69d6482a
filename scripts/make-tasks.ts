/**
 * Writes the built-in task suite to assets/tasks/<name>/ (manifest.json,
 * train.jsonl, dev.jsonl, test.jsonl). Deterministic for a seed:
 *
 *   npx tsx scripts/make-tasks.ts [--seed N] [--out DIR] [--only NAME[,NAME]]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { builtinTasksDir } from '../src-main/engine/paths.js';
import { BUILTIN_TASK_NAMES, DEFAULT_TASK_SEED, renderTaskFiles } from '../src-main/engine/tasks/generators/index.js';

function parseArgs(argv: string[]): { seed: number; out: string; only: string[] } {
  let seed = DEFAULT_TASK_SEED;
  let out = builtinTasksDir();
  let only = [...BUILTIN_TASK_NAMES];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (arg === '--seed' && value !== undefined) {
      seed = Number(value);
      if (!Number.isInteger(seed)) throw new Error(`--seed wants an integer, got '${value}'`);
      i++;
    } else if (arg === '--out' && value !== undefined) {
      out = resolve(value);
      i++;
    } else if (arg === '--only' && value !== undefined) {
      only = value.split(',').filter(Boolean);
      i++;
    } else {
      throw new Error(`unknown argument '${arg}' (usage: make-tasks.ts [--seed N] [--out DIR] [--only NAME,...])`);
    }
  }
  return { seed, out, only };
}

function main(): void {
  const { seed, out, only } = parseArgs(process.argv.slice(2));
  for (const name of only) {
    const files = renderTaskFiles(name, seed);
    const dir = join(out, name);
    mkdirSync(dir, { recursive: true });
    let bytes = 0;
    for (const [file, content] of Object.entries(files)) {
      writeFileSync(join(dir, file), content);
      bytes += Buffer.byteLength(content);
    }
    const sizes = JSON.parse(files['manifest.json']).sizes as Record<string, number>;
    console.log(`${name}: train ${sizes.train}, dev ${sizes.dev}, test ${sizes.test} (${(bytes / 1024).toFixed(0)} KiB) → ${dir}`);
  }
}

main();
