/**
 * Regenerates docs/results/reft.md: LoReFT (rank 4) on the built-in demo models
 * for the behaviours they were not trained to have, base against trained accuracy
 * on the test split, with the number of trained parameters.
 *
 *   npx tsx scripts/reft-results.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../src-main/engine/backend/index.js';
import { evaluateExamples } from '../src-main/engine/eval/evaluate.js';
import { evaluateReft, trainReft } from '../src-main/engine/methods/reft.js';
import { openModel } from '../src-main/engine/open-model.js';
import { loadTask } from '../src-main/engine/tasks/registry.js';

const RUNS = [
  { model: 'demo-gpt2', task: 'fact-edit', layers: [1, 2], positions: 'f1+l1' },
  { model: 'demo-llama', task: 'fact-edit', layers: [1, 2], positions: 'f1+l1' },
  { model: 'demo-gpt2', task: 'truthful', layers: [2], positions: 'l1' },
  { model: 'demo-llama', task: 'truthful', layers: [2], positions: 'l1' },
];

async function main(): Promise<void> {
  const report = await initBackend();
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const rows: string[] = [];
  for (const run of RUNS) {
    const m = await openModel(run.model);
    const task = await loadTask(run.task);
    const mc = task.manifest.kind === 'multiple-choice';
    const base = evaluateExamples(m.model, m.tokenizer!, task.splits.test, { multipleChoice: mc });
    const t0 = performance.now();
    const r = trainReft(m.model, m.tokenizer!, { train: task.splits.train, dev: task.splits.dev }, { type: 'loreft', rank: 4, layers: run.layers, positions: run.positions, epochs: 10, lr: 4e-3, batchSize: 16, seed: 42, patience: 3 });
    const minutes = (performance.now() - t0) / 60000;
    const trained = evaluateReft(m.model, m.tokenizer!, task.splits.test, r.config, r.interventions, mc);
    const metric = mc ? 'MC1' : 'accuracy';
    const b = mc ? base.preferCorrect : base.accuracy;
    const a = mc ? trained.preferCorrect : trained.accuracy;
    const line = `| ${run.model} | ${run.task} | ${metric} | ${pct(b)} | ${pct(a)} | ${r.parameters} | ${run.layers.join(',')} / ${run.positions} | ${r.bestEpoch + 1} of ${r.dev.length} | ${minutes.toFixed(1)} |`;
    console.log(line);
    rows.push(line);
    for (const p of r.interventions) p.intervention.dispose();
  }
  const text = [
    '# ReFT on the demo models',
    '',
    `Produced by \`npx tsx scripts/reft-results.ts\` on the ${report.backend} backend. LoReFT, rank 4 (2·d·r + r = ${2 * 128 * 4 + 4} parameters per intervention at d = 128),`,
    'trained on the train split with dev early stopping (patience 3), scored on the test split.',
    'The demo models never saw these behaviours in training (see assets/models/README.md).',
    '',
    '| model | task | metric | base | LoReFT | trained parameters | layers / positions | best epoch | minutes |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
  mkdirSync(join('docs', 'results'), { recursive: true });
  writeFileSync(join('docs', 'results', 'reft.md'), text);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
