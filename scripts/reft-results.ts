/**
 * Regenerates docs/results/reft.md: LoReFT (rank 4) on the built-in demo models
 * for the behaviours they were not trained to have, base against trained accuracy
 * on the test split, with the number of trained parameters, and the same figures
 * per kind of question so it is visible which behaviour was learned.
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
import type { TaskExample } from '../src-main/engine/tasks/schema.js';

interface Run {
  model: string;
  task: string;
  layers: number[];
  positions: string;
  epochs: number;
  lr: number;
}

const RUNS: Run[] = [
  { model: 'demo-gpt2', task: 'truthful', layers: [1, 2], positions: 'l1', epochs: 40, lr: 1e-2 },
  { model: 'demo-llama', task: 'truthful', layers: [1, 2], positions: 'l1', epochs: 40, lr: 1e-2 },
  { model: 'demo-gpt2', task: 'fact-edit', layers: [1, 2], positions: 'f1+l1', epochs: 8, lr: 1e-2 },
  { model: 'demo-llama', task: 'fact-edit', layers: [1, 2], positions: 'f1+l1', epochs: 8, lr: 1e-2 },
];

/** The kind of question an example asks (truthful: its family; fact-edit: the relation). */
function kindOf(ex: TaskExample): string {
  const meta = (ex.meta ?? {}) as Record<string, unknown>;
  return String(meta.family ?? meta.relation ?? 'all');
}

async function main(): Promise<void> {
  const report = await initBackend();
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const rows: string[] = [];
  const kindRows: string[] = [];
  for (const run of RUNS) {
    const m = await openModel(run.model);
    const tok = m.tokenizer!;
    const task = await loadTask(run.task);
    const mc = task.manifest.kind === 'multiple-choice';
    const metricOf = (r: { preferCorrect: number; accuracy: number }) => (mc ? r.preferCorrect : r.accuracy);
    const base = evaluateExamples(m.model, tok, task.splits.test, { multipleChoice: mc });
    const t0 = performance.now();
    const r = trainReft(m.model, tok, { train: task.splits.train, dev: task.splits.dev }, { type: 'loreft', rank: 4, layers: run.layers, positions: run.positions, epochs: run.epochs, lr: run.lr, batchSize: 16, seed: 42, patience: 10 });
    const minutes = (performance.now() - t0) / 60000;
    const trained = evaluateReft(m.model, tok, task.splits.test, r.config, r.interventions, mc);
    const metric = mc ? 'MC1' : 'accuracy';
    const line = `| ${run.model} | ${run.task} | ${metric} | ${pct(metricOf(base))} | ${pct(metricOf(trained))} | ${base.meanLogitDiff.toFixed(2)} → ${trained.meanLogitDiff.toFixed(2)} | ${r.parameters} | ${run.layers.join(',')} / ${run.positions} | ${r.bestEpoch + 1} of ${r.dev.length} | ${minutes.toFixed(1)} |`;
    console.log(line);
    rows.push(line);
    const kinds = new Map<string, TaskExample[]>();
    for (const ex of task.splits.test) kinds.set(kindOf(ex), [...(kinds.get(kindOf(ex)) ?? []), ex]);
    for (const [kind, exs] of [...kinds].sort(([a], [b]) => a.localeCompare(b))) {
      const b = evaluateExamples(m.model, tok, exs, { multipleChoice: mc });
      const t = evaluateReft(m.model, tok, exs, r.config, r.interventions, mc);
      kindRows.push(`| ${run.model} | ${run.task} | ${kind} | ${exs.length} | ${pct(metricOf(b))} | ${pct(metricOf(t))} |`);
    }
    for (const p of r.interventions) p.intervention.dispose();
  }
  const text = [
    '# ReFT on the demo models',
    '',
    `Produced by \`npx tsx scripts/reft-results.ts\` on the ${report.backend} backend. LoReFT, rank 4 (2·d·r + r = ${2 * 128 * 4 + 4} parameters per intervention at d = 128),`,
    'trained on the train split with dev early stopping (best dev accuracy, ties broken by logit difference; patience 10), scored on the test split.',
    'The demo models never saw these behaviours in training (see assets/models/README.md): on `truthful` they repeat the myth',
    'their corpus taught them; on `fact-edit` they answer the memorised fact instead of the one the prompt states.',
    '',
    '| model | task | metric | base | LoReFT | logit diff (correct − wrong) | trained parameters | layers / positions | best epoch | minutes |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    '## By kind of question',
    '',
    '| model | task | kind | test examples | base | LoReFT |',
    '|---|---|---|---|---|---|',
    ...kindRows,
    '',
    '## Reading the figures',
    '',
    'On `truthful`, an edit at the last prompt token is enough to teach answers that do not depend on the subject',
    '(creature questions: " no"; food questions: " nothing"); questions whose true answer is another stored fact',
    '(founders, capitals) stay mostly wrong, because the edit would have to change which fact the model recalls, not just how it answers.',
    'On `fact-edit`, the logit difference moves toward the stated fact but accuracy barely does: answering with a fact',
    'stated earlier in the prompt needs attention to copy it from there, which a rank-4 edit at the first and last',
    'positions of two early layers hardly reaches. LoFIT (docs/results/lofit.md) edits attention heads directly.',
    '',
  ].join('\n');
  mkdirSync(join('docs', 'results'), { recursive: true });
  writeFileSync(join('docs', 'results', 'reft.md'), text);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
