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
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
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
import { seededRandom } from '../src-main/engine/model/generate.js';
import { Transformer } from '../src-main/engine/model/transformer.js';
import { pretrainingCorpus } from '../src-main/engine/tasks/corpus.js';
import { listTasks, loadTask } from '../src-main/engine/tasks/registry.js';
import { AdamW, warmupLinear } from '../src-main/engine/train/optim.js';
import { lmBatch, lmLoss } from '../src-main/engine/train/lm.js';
import { builtinModelsDir } from '../src-main/engine/paths.js';
import { DEMO_CONFIGS, demoTokenizerFiles } from './demo-models.js';
import { documentDemoModels } from './document-demo.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const SEED = Number(arg('seed', '2026'));
const STEPS = Number(arg('steps', '4000'));
const BATCH = Number(arg('batch', '32'));
const LR = Number(arg('lr', '2e-3'));
const OUT = arg('out', builtinModelsDir());
const ONLY = arg('only', '');

export async function evaluateAll(model: Transformer, tok: SubspaceTokenizer, split: 'test' | 'dev' = 'test'): Promise<Record<string, EvalResult>> {
  const out: Record<string, EvalResult> = {};
  for (const t of await listTasks()) {
    const task = await loadTask(t.name);
    out[t.name] = evaluateExamples(model, tok, task.splits[split], { multipleChoice: t.kind === 'multiple-choice' });
  }
  return out;
}

async function trainOne(name: string): Promise<void> {
  const report = await initBackend();
  const config = DEMO_CONFIGS[name];
  const spec = parseModelConfig(config, `${name}/config.json`);
  const files = demoTokenizerFiles();
  const tokDir = mkdtempSync(join(tmpdir(), 'subspace-tok-'));
  for (const [f, text] of Object.entries(files)) writeFileSync(join(tokDir, f), text);
  const tok = await loadTokenizer(tokDir);
  const corpus = pretrainingCorpus(SEED).map((l) => tok.encode(l.text));
  const weights = initWeights(spec, SEED);
  const vars = makeTrainable(weights);
  const model = new Transformer(spec, weights);
  const opt = new AdamW(vars, { weightDecay: 0.01, clipNorm: 1 });
  const rand = seededRandom(SEED);
  const order = corpus.map((_, i) => i);
  let cursor = order.length;
  const log = (s: string) => process.stdout.write(`[${name}] ${s}\n`);
  log(`${corpus.length} lines, ${vars.reduce((a, v) => a + v.size, 0)} parameters, backend ${report.backend}, ${STEPS} steps of ${BATCH}`);
  const t0 = performance.now();
  let ema = 0;
  for (let step = 0; step < STEPS; step++) {
    const seqs: number[][] = [];
    while (seqs.length < BATCH) {
      if (cursor >= order.length) {
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(rand() * (i + 1));
          [order[i], order[j]] = [order[j], order[i]];
        }
        cursor = 0;
      }
      seqs.push(corpus[order[cursor++]]);
    }
    const batch = lmBatch(seqs, spec.padTokenId ?? 0, 4);
    const { value, grads } = tf.variableGrads(() => lmLoss(model, batch), vars);
    const loss = value.dataSync()[0];
    opt.step(grads, warmupLinear(step, STEPS, Math.min(200, STEPS / 10), LR));
    tf.dispose([value, ...Object.values(grads)]);
    if (!Number.isFinite(loss)) throw new Error(`loss became ${loss} at step ${step}`);
    ema = step === 0 ? loss : 0.98 * ema + 0.02 * loss;
    if (step % 100 === 0 || step === STEPS - 1) {
      const s = (performance.now() - t0) / 1000;
      log(`step ${step}/${STEPS} loss ${ema.toFixed(3)} ${(s / (step + 1)).toFixed(3)} s/step, ${(s / 60).toFixed(1)} min, tensors ${tf.memory().numTensors}`);
    }
  }
  const minutes = (performance.now() - t0) / 60000;
  const dir = join(OUT, name);
  mkdirSync(dir, { recursive: true });
  writeModelFolder(dir, config, spec, weights, files);
  // Evaluate through exactly the path any downloaded model takes.
  const loaded = await loadModelFolder(dir, { name });
  const results = await evaluateAll(loaded.model, loaded.tokenizer!);
  const training = { seed: SEED, steps: STEPS, batch: BATCH, lr: LR, minutes, backend: report.backend, corpusLines: corpus.length, finalLoss: ema, test: results };
  writeFileSync(join(dir, 'training.json'), JSON.stringify(training, null, 2) + '\n');
  for (const [task, r] of Object.entries(results)) log(`${task}: accuracy ${(100 * r.accuracy).toFixed(1)}%, logit diff ${r.meanLogitDiff.toFixed(2)}${r.mc2 !== undefined ? `, MC1 ${(100 * r.preferCorrect).toFixed(1)}%, MC2 ${(100 * r.mc2).toFixed(1)}%` : ''}`);
  opt.dispose();
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
