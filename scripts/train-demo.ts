/**
 * Trains the built-in demo models from scratch with the engine itself
 * (full-parameter training) on the task suite's pretraining corpus.
 *
 *   npm run train:demo                       # both models, one process per core
 *   npx tsx scripts/train-demo.ts --only demo-llama --steps 200   # one model, short
 *
 * Seeded: the same seed, steps and backend give the same weights.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '../src-main/engine/tf.js';
import { initBackend } from '../src-main/engine/backend/index.js';
import { evaluateExamples, type EvalResult } from '../src-main/engine/eval/evaluate.js';
import { loadModelFolder } from '../src-main/engine/io/model-folder.js';
import { SubspaceTokenizer, loadTokenizer } from '../src-main/engine/io/tokenizer.js';
import { writeModelFolder } from '../src-main/engine/io/model-writer.js';
import { parseModelConfig } from '../src-main/engine/model/config.js';
import { initWeights, makeTrainable } from '../src-main/engine/model/init.js';
import { Transformer } from '../src-main/engine/model/transformer.js';
import { biasedEqualityLines, freshSkillLines, pretrainingCorpus, shuffleLines, type CorpusLine } from '../src-main/engine/tasks/corpus.js';
import { listTasks, loadTask } from '../src-main/engine/tasks/registry.js';
import { AdamW, warmupLinear } from '../src-main/engine/train/optim.js';
import { LengthBatches } from '../src-main/engine/train/length-batches.js';
import { lmBatch, lmLoss } from '../src-main/engine/train/lm.js';
import { builtinModelsDir } from '../src-main/engine/paths.js';
import { DEMO_CONFIGS, demoTokenizerFiles } from './demo-models.js';
import { documentDemoModels, type Training, type TrainingPhase } from './document-demo.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const SEED = Number(arg('seed', '2026'));
const INDUCTION_STEPS = Number(arg('induction-steps', '2200'));
const INDUCTION_LINES = 60000;
const STEPS = Number(arg('steps', '3500'));
/** Padded tokens per batch: batches group lines of one length, so short lines come many to a batch. */
const TOKENS = Number(arg('tokens', '512'));
const LR = Number(arg('lr', '2e-3'));
const OUT = arg('out', builtinModelsDir());
const ONLY = arg('only', '');
const SKILLS_STEPS = Number(arg('skills-steps', '2500'));
const SKILLS_LR = Number(arg('skills-lr', '1e-3'));
/** How often each equality holds in the mixture phase's hierarchical-equality lines (biasedEqualityLine says why). */
const EQUALITY_BIAS = 0.75;
/** 1: train from scratch; N > 1: continue the weights saved after phase N − 1 with phases N on. */
const FROM_PHASE = Number(arg('from-phase', '1'));

export async function evaluateAll(model: Transformer, tok: SubspaceTokenizer, split: 'test' | 'dev' = 'test'): Promise<Record<string, EvalResult>> {
  const out: Record<string, EvalResult> = {};
  for (const t of await listTasks()) {
    const task = await loadTask(t.name);
    out[t.name] = evaluateExamples(model, tok, task.splits[split], { multipleChoice: t.kind === 'multiple-choice' });
  }
  return out;
}

/** A corpus line as token ids, with the first position whose prediction is trained. */
interface Row {
  ids: number[];
  from?: number;
}

function encodeLines(tok: SubspaceTokenizer, lines: CorpusLine[]): Row[] {
  return lines.map((l) => ({ ids: tok.encode(l.text), from: l.learnFrom }));
}

/** One training phase: AdamW with warm-up and linear decay over `steps` batches of about TOKENS tokens. */
function trainPhase(name: string, model: Transformer, vars: tf.Variable[], corpus: Row[], phase: { name: string; steps: number; lr: number; seed: number }): TrainingPhase {
  const spec = model.spec;
  const opt = new AdamW(vars, { weightDecay: 0.01, clipNorm: 1 });
  const batches = new LengthBatches(
    corpus.map((r) => r.ids.length),
    TOKENS,
    phase.seed,
  );
  const log = (s: string) => process.stdout.write(`[${name}] ${s}\n`);
  const t0 = performance.now();
  let ema = 0;
  let rows = 0;
  for (let step = 0; step < phase.steps; step++) {
    const picked = batches.next().map((i) => corpus[i]);
    rows += picked.length;
    const batch = lmBatch(
      picked.map((r) => r.ids),
      spec.padTokenId ?? 0,
      4,
      picked.map((r) => r.from),
    );
    const { value, grads } = tf.variableGrads(() => lmLoss(model, batch), vars);
    const loss = value.dataSync()[0];
    opt.step(grads, warmupLinear(step, phase.steps, Math.min(200, phase.steps / 10), phase.lr));
    tf.dispose([value, ...Object.values(grads)]);
    if (!Number.isFinite(loss)) throw new Error(`loss became ${loss} at step ${step}`);
    ema = step === 0 ? loss : 0.98 * ema + 0.02 * loss;
    if (step % 100 === 0 || step === phase.steps - 1) {
      const sec = (performance.now() - t0) / 1000;
      log(`${phase.name} step ${step}/${phase.steps} loss ${ema.toFixed(3)} ${(sec / (step + 1)).toFixed(3)} s/step, ${(sec / 60).toFixed(1)} min, ${(rows / (step + 1)).toFixed(1)} lines/batch, tensors ${tf.memory().numTensors}`);
    }
  }
  opt.dispose();
  return { name: phase.name, steps: phase.steps, lr: phase.lr, lines: corpus.length, minutes: (performance.now() - t0) / 60000, finalLoss: ema };
}

/**
 * Phase 1: induction lines alone. Trained from scratch on the mixture, the
 * models settled on an approximate copy (one or two places off) that further
 * training did not mend; on induction alone they learn to copy within about
 * two thousand steps, and the mixture's induction lines then keep it.
 */
function inductionCorpus(): CorpusLine[] {
  return freshSkillLines('induction', SEED + 2, INDUCTION_LINES);
}

/**
 * Phase 2: the whole mixture, with its hierarchical-equality lines drawn with
 * biased equalities so the two equality features can form.
 */
function mixtureCorpus(): CorpusLine[] {
  const mixture = pretrainingCorpus(SEED, { linesFor: { 'hierarchical-equality': 0 } });
  return shuffleLines([...mixture, ...biasedEqualityLines(SEED, 15000, EQUALITY_BIAS)], SEED);
}

/**
 * Phase 3 keeps replaying part of the pretraining mixture and adds fresh balanced
 * hierarchical-equality and induction lines: the two skills that need the most data.
 */
function skillsCorpus(): CorpusLine[] {
  const replay = pretrainingCorpus(SEED).slice(0, 15000);
  return shuffleLines([...replay, ...freshSkillLines('hierarchical-equality', SEED, 25000), ...freshSkillLines('induction', SEED, 15000)], SEED + 1);
}

async function trainOne(name: string): Promise<void> {
  const report = await initBackend();
  const config = DEMO_CONFIGS[name];
  const spec = parseModelConfig(config, `${name}/config.json`);
  const files = demoTokenizerFiles();
  const tokDir = mkdtempSync(join(tmpdir(), 'subspace-tok-'));
  for (const [f, text] of Object.entries(files)) writeFileSync(join(tokDir, f), text);
  const tok = await loadTokenizer(tokDir);
  const dir = join(OUT, name);
  const phases: TrainingPhase[] = [];
  let earlierWallMinutes = 0;
  let weights;
  const plan = [
    { name: 'phase 1 (induction)', steps: INDUCTION_STEPS, lr: LR, seed: SEED + 2, corpus: inductionCorpus },
    { name: 'phase 2 (mixture)', steps: STEPS, lr: LR, seed: SEED, corpus: mixtureCorpus },
    { name: 'phase 3 (skills)', steps: SKILLS_STEPS, lr: SKILLS_LR, seed: SEED + 1, corpus: skillsCorpus },
  ];
  if (FROM_PHASE > 1) {
    // Continue from the weights already in the output folder, saved after phase FROM_PHASE − 1.
    const prev = JSON.parse(readFileSync(join(dir, 'training.json'), 'utf8')) as { phases: TrainingPhase[]; wallMinutes: number };
    phases.push(...prev.phases.slice(0, FROM_PHASE - 1));
    earlierWallMinutes = prev.wallMinutes;
    weights = (await loadModelFolder(dir, { name })).model.weights;
  } else {
    weights = initWeights(spec, SEED);
  }
  const vars = makeTrainable(weights);
  const model = new Transformer(spec, weights);
  const log = (s: string) => process.stdout.write(`[${name}] ${s}\n`);
  log(`${vars.reduce((a, v) => a + v.size, 0)} parameters, backend ${report.backend}, ${TOKENS} tokens per batch`);
  for (const p of plan.slice(FROM_PHASE - 1)) phases.push(trainPhase(name, model, vars, encodeLines(tok, p.corpus()), p));
  mkdirSync(dir, { recursive: true });
  writeModelFolder(dir, config, spec, weights, files);
  // Evaluate through exactly the path any downloaded model takes.
  const loaded = await loadModelFolder(dir, { name });
  const results = await evaluateAll(loaded.model, loaded.tokenizer!);
  const minutes = phases.reduce((a, p) => a + p.minutes, 0);
  // The whole process, corpus building and evaluation included: what a retrain costs. A
  // continued run adds the earlier process's time (its evaluation counted twice: an upper bound).
  const wallMinutes = earlierWallMinutes + process.uptime() / 60;
  const training: Training = { seed: SEED, steps: phases.reduce((a, p) => a + p.steps, 0), tokensPerBatch: TOKENS, lr: LR, minutes, wallMinutes, backend: report.backend, finalLoss: phases.at(-1)!.finalLoss, phases, test: results };
  writeFileSync(join(dir, 'training.json'), JSON.stringify(training, null, 2) + '\n');
  for (const [task, r] of Object.entries(results)) log(`${task}: accuracy ${(100 * r.accuracy).toFixed(1)}%, logit diff ${r.meanLogitDiff.toFixed(2)}${r.mc2 !== undefined ? `, MC1 ${(100 * r.preferCorrect).toFixed(1)}%, MC2 ${(100 * r.mc2).toFixed(1)}%` : ''}`);
}

async function main(): Promise<void> {
  if (ONLY) return trainOne(ONLY);
  // wasm runs one thread per process: train the two models side by side, one per core.
  const kids = Object.keys(DEMO_CONFIGS).map(
    (name) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', process.argv[1], ...process.argv.slice(2), '--only', name], { stdio: 'inherit' });
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${name} training exited with ${code}`))));
      }),
  );
  await Promise.all(kids);
  documentDemoModels(OUT);
}

main().catch((e: unknown) => {
  console.error(`train:demo failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
