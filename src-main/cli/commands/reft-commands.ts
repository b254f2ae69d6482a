import type { Command } from 'commander';
import { SubspaceError } from '../../engine/errors.js';
import { openModel } from '../../engine/open-model.js';
import { evaluateReft, trainReft, REFT_DEFAULTS } from '../../engine/methods/reft.js';
import { loadReft, saveReft } from '../../engine/methods/reft-artifact.js';
import { directionTokens, learnedDirections } from '../../engine/methods/directions.js';
import { loadTask } from '../../engine/tasks/registry.js';
import { evaluateExamples } from '../../engine/eval/evaluate.js';
import { readManifest } from '../../engine/artifacts/native.js';
import { num } from '../args.js';
import { printJson } from '../output.js';
import { startBackend } from '../backend.js';
import { progressPrinter } from '../progress.js';
import { RunRecorder } from '../record.js';

export function parseLayers(s: string): number[] {
  const parts = s.split(',').map((x) => x.trim()).filter(Boolean);
  const out = parts.map((p) => {
    const v = Number(p);
    if (!Number.isInteger(v)) throw new SubspaceError('BAD_ARGUMENT', `--layers must be comma-separated whole numbers (got '${s}')`, 'layers');
    return v;
  });
  if (out.length === 0) throw new SubspaceError('BAD_ARGUMENT', '--layers is empty', 'layers');
  return out;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function registerReftCommands(program: Command): void {
  program
    .command('reft')
    .description('train a ReFT intervention (LoReFT, NoReFT, DiReFT, NodiReFT, ConsReFT, LobiReFT) on a task')
    .requiredOption('--model <ref>', 'folder, built-in name or cached hub name')
    .requiredOption('--task <name>', 'built-in task')
    .requiredOption('--out <dir>', 'output folder (native format)')
    .option('--type <type>', 'intervention type', REFT_DEFAULTS.type)
    .option('--layers <list>', 'comma-separated layers', '0')
    .option('--rank <r>', 'low-rank dimension', num('rank', { int: true, min: 1 }), REFT_DEFAULTS.rank)
    .option('--positions <spec>', 'f{n}, l{n} or f{n}+l{n}', REFT_DEFAULTS.positions)
    .option('--component <site>', 'block_output, block_input, attention_output, mlp_output, head_output.<h>', REFT_DEFAULTS.component)
    .option('--no-share-weights', 'separate interventions for prefix and suffix positions')
    .option('--epochs <n>', 'epochs', num('epochs', { int: true, min: 1 }), REFT_DEFAULTS.epochs)
    .option('--lr <x>', 'peak learning rate', num('lr', { min: 0 }), REFT_DEFAULTS.lr)
    .option('--batch <b>', 'batch size', num('batch', { int: true, min: 1 }), REFT_DEFAULTS.batchSize)
    .option('--dropout <p>', 'dropout on the edit', num('dropout', { min: 0, max: 0.99 }), 0)
    .option('--activation <a>', 'activation on W h + b')
    .option('--patience <n>', 'early stopping after n epochs without a better dev accuracy', num('patience', { int: true, min: 0 }), 0)
    .option('--seed <s>', 'seed', num('seed', { int: true, min: 0 }), REFT_DEFAULTS.seed)
    .option('--cache <mode>', 'reuse frozen activations: auto, window, layers or none', 'auto')
    .option('--json', 'machine-readable summary')
    .action(async (o: Record<string, any>) => {
      const backend = await startBackend(program);
      const m = await openModel(o.model);
      const task = await loadTask(o.task);
      const cfg = {
        type: o.type,
        layers: parseLayers(o.layers),
        rank: o.rank,
        positions: o.positions,
        component: o.component,
        shareWeights: o.shareWeights,
        epochs: o.epochs,
        lr: o.lr,
        batchSize: o.batch,
        dropout: o.dropout,
        activation: o.activation,
        patience: o.patience,
        seed: o.seed,
        cache: o.cache,
      };
      const mc = task.manifest.kind === 'multiple-choice';
      const rec = new RunRecorder('reft', `${cfg.type} ${task.manifest.name} on ${m.name}`, cfg, m, backend.backend, task.manifest.name);
      const summary = await rec.run(() => {
        const baseTest = evaluateExamples(m.model, m.tokenizer!, task.splits.test, { multipleChoice: mc });
        const r = trainReft(m.model, m.tokenizer!, { train: task.splits.train, dev: task.splits.dev }, cfg, { onProgress: rec.listener(o.json ? undefined : progressPrinter('reft')) });
        try {
          const test = evaluateReft(m.model, m.tokenizer!, task.splits.test, r.config, r.interventions, mc);
          const metrics = { baseTest, test, dev: r.dev, finalLoss: r.loss.at(-1)?.value, parameters: r.parameters, bestEpoch: r.bestEpoch, epochMs: r.epochMs, cache: r.cacheMode, backend: backend.backend, task: task.manifest.name };
          saveReft(o.out, m.name, m.spec, r.config, r.interventions, { ...metrics, loss: r.loss });
          rec.artifacts(o.out, 'reft');
          return { out: o.out, run: rec.runId, model: m.name, type: r.config.type, interventions: r.interventions.length, ...metrics };
        } finally {
          for (const p of r.interventions) p.intervention.dispose();
        }
      });
      if (o.json) printJson(summary);
      else {
        console.log(`${summary.task} test: base accuracy ${pct(summary.baseTest.accuracy)} → ${pct(summary.test.accuracy)} with ${summary.type} (logit diff ${summary.baseTest.meanLogitDiff.toFixed(2)} → ${summary.test.meanLogitDiff.toFixed(2)})`);
        console.log(`${summary.parameters} trained parameters in ${summary.interventions} intervention(s); run ${summary.run}; saved to ${o.out}`);
      }
    });

  program
    .command('directions')
    .description('the learned directions of a ReFT intervention: top and bottom tokens through the unembedding')
    .requiredOption('--intervention <dir>', 'a ReFT export')
    .option('--model <ref>', 'the model (default: the one named in the export)')
    .option('--top <k>', 'tokens per side', num('top', { int: true, min: 1 }), 8)
    .option('--json', 'machine-readable output')
    .action(async (o: { intervention: string; model?: string; top: number; json?: boolean }) => {
      await startBackend(program);
      const name = o.model ?? readManifest(o.intervention).model.name;
      const m = await openModel(name);
      const { config, placed } = loadReft(o.intervention, m.spec);
      const dirs = learnedDirections(placed);
      const toks = directionTokens(m.model, m.tokenizer!, config, dirs, o.top);
      if (o.json) printJson({ model: m.name, directions: toks });
      else for (const d of toks) console.log(`${d.label}\n  + ${d.top.map((t) => t.token).join(' ')}\n  − ${d.bottom.map((t) => t.token).join(' ')}`);
      for (const p of placed) p.intervention.dispose();
    });
}
