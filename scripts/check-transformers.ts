/**
 * Checks that Hugging Face `transformers` reads the shipped demo models and LoFIT's merged
 * checkpoints as we do: trains LoFIT briefly on each demo model, exports `merged`, records our
 * logits (base, with the LoFIT edits, and from the merged folder) and our token ids, then runs
 * scripts/interop/check_transformers.py, which loads the same folders with transformers (on CUDA
 * where there is a GPU) and compares.
 *
 *   npx tsx scripts/check-transformers.ts [--out <dir>] [--python python3] [--prepare-only]
 *
 * `--prepare-only` writes the folder and stops, for running the Python side on another machine:
 * `python3 scripts/interop/check_transformers.py <dir>` from the repository root.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import * as tf from '../src-main/engine/tf.js';
import { initBackend } from '../src-main/engine/backend/index.js';
import { openModel } from '../src-main/engine/open-model.js';
import { loadModelFolder } from '../src-main/engine/io/model-folder.js';
import { loadTask } from '../src-main/engine/tasks/registry.js';
import { lofitEdits, lofitSelect, lofitTune } from '../src-main/engine/methods/lofit.js';
import { writeMergedCheckpoint } from '../src-main/engine/export/merged.js';
import type { SiteEdit, Transformer } from '../src-main/engine/model/transformer.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const OUT = resolve(arg('out', join('bench', 'work', 'transformers-check')));
const PYTHON = arg('python', 'python3');

async function main(): Promise<void> {
  await initBackend();
  const task = await loadTask('fact-edit');
  const expected: Record<string, unknown> = {};
  for (const name of ['demo-gpt2', 'demo-llama']) {
    const m = await openModel(name);
    const tok = m.tokenizer!;
    const data = { train: task.splits.train.slice(0, 64), dev: [] };
    const select = lofitSelect(m.model, tok, data, { epochs: 2 });
    const tune = lofitTune(m.model, tok, data, select.selected, { epochs: 2 });
    const merged = join(OUT, `merged-${name}`);
    writeMergedCheckpoint(merged, m, tune.heads.map(([layer, head], i) => ({ layer, head, vector: tune.offsets[i] })));
    const fromMerged = await loadModelFolder(merged);
    const edits = lofitEdits(tune.offsets, tune.heads, m.spec);
    const texts = task.splits.test.slice(0, 6).map((e) => e.prompt);
    const ids = texts.map((t) => tok.encode(t));
    const last = (model: Transformer, e?: SiteEdit[]) => ids.map((row) => tf.tidy(() => Array.from(model.forward({ inputIds: [row] }, { edits: e, logits: 'last' }).logits!.dataSync())));
    // Paths relative to the repository root, where the Python side runs (perhaps on another machine).
    expected[name] = { base: relative(process.cwd(), m.folder), merged: relative(process.cwd(), merged), texts, ids, logits: { base: last(m.model), lofit: last(m.model, edits), mergedOurs: last(fromMerged.model) } };
    fromMerged.model.dispose();
    m.model.dispose();
  }
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'expected.json'), JSON.stringify(expected));
  console.log(`wrote ${OUT}`);
  if (process.argv.includes('--prepare-only')) return;
  const r = spawnSync(PYTHON, [join('scripts', 'interop', 'check_transformers.py'), OUT], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
