import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { SubspaceError, errorMessage } from '../errors.js';
import { builtinTasksDir } from '../paths.js';
import type { Split, TaskExample, TaskManifest } from './schema.js';
import { SPLITS, taskExampleSchema, taskManifestSchema } from './schema.js';

/**
 * Task folders: <dir>/<name>/manifest.json plus train.jsonl, dev.jsonl and
 * test.jsonl (one JSON example per line). The built-in suite lives in
 * assets/tasks and is written by scripts/make-tasks.ts.
 */

export interface LoadedTask {
  manifest: TaskManifest;
  splits: Record<Split, TaskExample[]>;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

async function readManifest(folder: string, expectedName: string): Promise<TaskManifest> {
  const file = join(folder, 'manifest.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new SubspaceError('BAD_FILE', `${file}: cannot read the task manifest (${errorMessage(e)})`, file);
  }
  const parsed = taskManifestSchema.safeParse(raw);
  if (!parsed.success) throw new SubspaceError('BAD_FILE', `${file}: not a valid task manifest: ${describeIssues(parsed.error)}`, file);
  if (parsed.data.name !== expectedName) {
    throw new SubspaceError('BAD_FILE', `${file}: manifest names task '${parsed.data.name}' but its folder is '${expectedName}'`, file);
  }
  return parsed.data;
}

/** The manifests (with split sizes) of every task folder in `dir`, sorted by name. */
export async function listTasks(dir: string = builtinTasksDir()): Promise<TaskManifest[]> {
  let entries: string[];
  try {
    entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (e) {
    throw new SubspaceError('NOT_FOUND', `cannot read the task folder ${dir} (${errorMessage(e)})`, dir);
  }
  const names = entries.filter((n) => existsSync(join(dir, n, 'manifest.json'))).sort();
  return Promise.all(names.map((n) => readManifest(join(dir, n), n)));
}

/** Parses one split file; errors name the file and the 1-based line. */
export function parseTaskLines(text: string, file: string): TaskExample[] {
  const out: TaskExample[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    const where = `${file}:${i + 1}`;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      throw new SubspaceError('BAD_FILE', `${where}: not valid JSON (${errorMessage(e)})`, file);
    }
    const parsed = taskExampleSchema.safeParse(raw);
    if (!parsed.success) throw new SubspaceError('BAD_FILE', `${where}: not a valid task example: ${describeIssues(parsed.error)}`, file);
    out.push(parsed.data);
  }
  return out;
}

/** A task's manifest and its three splits, every row validated. */
export async function loadTask(name: string, dir: string = builtinTasksDir()): Promise<LoadedTask> {
  const known = await listTasks(dir);
  const manifest = known.find((m) => m.name === name);
  if (!manifest) {
    const names = known.map((m) => m.name);
    throw new SubspaceError(
      'NOT_FOUND',
      `unknown task '${name}' in ${dir} (known: ${names.length ? names.join(', ') : 'none'})`,
      name,
    );
  }
  const folder = join(dir, name);
  const splits = {} as Record<Split, TaskExample[]>;
  const ids = new Set<string>();
  for (const split of SPLITS) {
    const file = join(folder, `${split}.jsonl`);
    const expected = manifest.sizes[split] ?? 0;
    if (!existsSync(file)) {
      if (expected === 0) {
        splits[split] = [];
        continue;
      }
      throw new SubspaceError('BAD_FILE', `${file}: missing (the manifest lists ${expected} ${split} examples)`, file);
    }
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new SubspaceError('BAD_FILE', `${file}: cannot read (${errorMessage(e)})`, file);
    }
    const rows = parseTaskLines(text, file);
    if (manifest.sizes[split] !== undefined && rows.length !== expected) {
      throw new SubspaceError('BAD_FILE', `${file}: ${rows.length} examples, but the manifest says ${expected}`, file);
    }
    for (const r of rows) {
      if (ids.has(r.id)) throw new SubspaceError('BAD_FILE', `${file}: example id '${r.id}' appears twice in task '${name}'`, file);
      ids.add(r.id);
    }
    splits[split] = rows;
  }
  return { manifest, splits };
}
