/**
 * Writes assets/models/README.md from each demo model's training.json, so the
 * documented accuracies are exactly what training measured.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EvalResult } from '../src-main/engine/eval/evaluate.js';
import { builtinModelsDir } from '../src-main/engine/paths.js';
import { DEMO_CONFIGS } from './demo-models.js';

/** Behaviours deliberately kept out of the pretraining corpus, for interventions to teach. */
export const LEFT_FOR_INTERVENTIONS: Record<string, string> = {
  'fact-edit': 'answer with the fact the prompt states ("In this story …"), not the memorised one',
  truthful: 'prefer the true answer; the corpus teaches the popular myth for every question',
};

/** One training phase, as training.json records it. */
export interface TrainingPhase {
  name: string;
  steps: number;
  lr: number;
  lines: number;
  minutes: number;
  finalLoss: number;
}

/** A demo model's training.json: written by scripts/train-demo.ts, read here. */
export interface Training {
  phases?: TrainingPhase[];
  seed: number;
  steps: number;
  tokensPerBatch: number;
  wallMinutes: number;
  lr: number;
  minutes: number;
  backend: string;
  finalLoss: number;
  test: Record<string, EvalResult>;
}

/** The base behaviours below the 90% aim, said plainly. */
function shortfalls(dir: string): string[] {
  const below: string[] = [];
  for (const name of Object.keys(DEMO_CONFIGS)) {
    const f = join(dir, name, 'training.json');
    if (!existsSync(f)) continue;
    const t = JSON.parse(readFileSync(f, 'utf8')) as Training;
    for (const [task, r] of Object.entries(t.test)) {
      if (!LEFT_FOR_INTERVENTIONS[task] && r.accuracy < 0.9)
        below.push(`\`${task}\` on ${name} (${(100 * r.accuracy).toFixed(1)}%; the correct answer outscores the task's listed wrong answers in ${(100 * r.preferCorrect).toFixed(1)}%)`);
    }
  }
  if (below.length === 0) return ['Every base behaviour reaches the 90% aim on the test split.', ''];
  return [
    `Below the 90% aim on the test split (accuracy: the answer is the greedy next word): ${below.join(', ')}.`,
    'This recipe does not teach them further; the minutes below were measured on a shared 2-core machine.',
    '',
  ];
}

export function documentDemoModels(dir = builtinModelsDir()): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const lines: string[] = [
    '# Built-in demo models',
    '',
    'Small models trained from scratch by `npm run train:demo` (scripts/train-demo.ts) with the engine',
    'itself: full-parameter AdamW on the task suite\'s pretraining corpus (`src-main/engine/tasks/corpus.ts`),',
    'one process per model. Batches group lines of one length up to a token budget, so almost no compute',
    'goes to padding. Phase 1 trains on induction lines alone: trained from scratch on the mixture, the',
    'models settled on an approximate copy (one or two places off, 41–45% on the test split) that further',
    'training did not mend, while on induction alone they learn to copy within about two thousand steps;',
    'the mixture\'s induction lines then keep it. `subspace head-patterns --model <name> --task induction`',
    'shows how each model copies.',
    'Phase 2 trains on the whole mixture, with hierarchical-equality lines whose two equalities each hold',
    '75% of the time: on balanced lines neither equality alone predicts the answer (it is their XNOR), and',
    'small models sit at chance for thousands of steps; biased, each equality predicts the answer by',
    'itself and the features form. Phase 3 replays part of the mixture and adds fresh balanced',
    'hierarchical-equality and induction lines. The random words of those two tasks (the',
    'four symbols, the first pass of an induction sequence) are not trained on: no model can predict them,',
    'and their gradients only add noise. Each folder is an ordinary Hugging Face folder (`config.json`,',
    '`model.safetensors`, `tokenizer.json`), loaded through the same path as any downloaded model;',
    '`training.json` holds the settings and the test-split figures below.',
    '',
    'Retrain: `npm run train:demo` (both models side by side, one per core; `-- --steps N --seed S` to change).',
    'Then `npx tsx scripts/document-demo.ts` rewrites this page (train:demo does it too).',
    '',
    ...shortfalls(dir),
    'Behaviours left for interventions to teach (never in the pretraining corpus):',
    ...Object.entries(LEFT_FOR_INTERVENTIONS).map(([t, what]) => `- \`${t}\`: ${what}.`),
    '',
  ];
  for (const name of Object.keys(DEMO_CONFIGS)) {
    const f = join(dir, name, 'training.json');
    if (!existsSync(f)) continue;
    const t = JSON.parse(readFileSync(f, 'utf8')) as Training;
    const c = DEMO_CONFIGS[name];
    lines.push(`## ${name}`, '');
    lines.push(`Config: ${JSON.stringify(c)}`, '');
    lines.push(
      `Training: seed ${t.seed}, ${t.steps} steps of about ${t.tokensPerBatch} tokens (lines of one length batched together), ${t.minutes.toFixed(1)} min of steps and ${t.wallMinutes.toFixed(1)} min for the whole process on ${t.backend}, final loss ${t.finalLoss.toFixed(3)}.`,
      '',
    );
    for (const p of t.phases ?? []) lines.push(`- ${p.name}: ${p.steps} steps, peak lr ${p.lr}, ${p.lines} corpus lines, ${p.minutes.toFixed(1)} min, final loss ${p.finalLoss.toFixed(3)}`);
    if (t.phases) lines.push('');
    lines.push('| task | test examples | accuracy | logit diff (correct − wrong) | prefers correct (MC1) | MC2 | role |', '|---|---|---|---|---|---|---|');
    for (const [task, r] of Object.entries(t.test)) {
      const role = LEFT_FOR_INTERVENTIONS[task] ? 'left for interventions' : 'base behaviour';
      lines.push(`| ${task} | ${r.n} | ${pct(r.accuracy)} | ${r.meanLogitDiff.toFixed(2)} | ${pct(r.preferCorrect)} | ${r.mc2 === undefined ? '-' : pct(r.mc2)} | ${role} |`);
    }
    lines.push('');
  }
  const text = lines.join('\n');
  writeFileSync(join(dir, 'README.md'), text);
  return text;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log(documentDemoModels());
