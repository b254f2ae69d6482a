import type { Command } from 'commander';
import { SubspaceError } from '../../engine/errors.js';
import { openModel } from '../../engine/open-model.js';
import { loadTask } from '../../engine/tasks/registry.js';
import { evaluateExamples } from '../../engine/eval/evaluate.js';
import { LOFIT_SELECT_DEFAULTS, LOFIT_TUNE_DEFAULTS, evaluateLofit, lofitSelect, lofitTune } from '../../engine/methods/lofit.js';
import { ITI_DEFAULTS, evaluateIti, trainIti } from '../../engine/methods/iti.js';
import { loadHeads, saveIti, saveLofit } from '../../engine/methods/heads-artifact.js';
import { readManifest } from '../../engine/artifacts/native.js';
import type { KSpec } from '../../engine/methods/heads.js';
import { num } from '../args.js';
import { printJson } from '../output.js';
import { startBackend } from '../backend.js';
import { progressPrinter } from '../progress.js';
import { RunRecorder } from '../record.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function kSpec(o: { k?: number; kPercent?: number }, fallback: KSpec): KSpec {
  if (o.k !== undefined && o.kPercent !== undefined) throw new SubspaceError('BAD_ARGUMENT', 'give --k or --k-percent, not both', 'k');
  if (o.k !== undefined) return o.k;
  if (o.kPercent !== undefined) return { percent: o.kPercent };
  return fallback;
}

/** A [layers × heads] matrix as text, best cells marked. */
function formatMatrix(m: number[][], selected: [number, number][], digits = 3): string {
  const sel = new Set(selected.map(([l, h]) => `${l}.${h}`));
  const head = ['layer', ...m[0].map((_, h) => `h${h}`)];
  const rows = m.map((row, l) => [`L${l}`, ...row.map((v, h) => `${v.toFixed(digits)}${sel.has(`${l}.${h}`) ? '*' : ' '}`)]);
  const widths = head.map((_, i) => Math.max(...[head, ...rows].map((r) => r[i].length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padStart(widths[i])).join(' ')).join('\n');
}

export function registerHeadsCommands(program: Command): void {
  program
    .command('lofit')
    .description('LoFIT: find the heads that matter (step 1), then tune an offset per selected head (step 2)')
    .requiredOption('--model <ref>', 'folder, built-in name or cached hub name')
    .requiredOption('--task <name>', 'built-in task')
    .requiredOption('--out <dir>', 'output folder')
    .option('--k <n>', 'heads to keep', num('k', { int: true }))
    .option('--k-percent <p>', 'heads to keep, as a percentage of all heads', num('k-percent', { min: 0 }))
    .option('--lambda <x>', 'L1 weight of step 1', num('lambda'), LOFIT_SELECT_DEFAULTS.l1)
    .option('--lr-select <x>', 'learning rate of step 1', num('lr-select'), LOFIT_SELECT_DEFAULTS.lr)
    .option('--lr-tune <x>', 'learning rate of step 2', num('lr-tune'), LOFIT_TUNE_DEFAULTS.lr)
    .option('--epochs <n>', 'epochs of each step', num('epochs', { int: true, min: 1 }), LOFIT_SELECT_DEFAULTS.epochs)
    .option('--batch <b>', 'batch size', num('batch', { int: true, min: 1 }), LOFIT_SELECT_DEFAULTS.batchSize)
    .option('--loss <ce|dpo>', 'task loss', 'ce')
    .option('--beta <b>', 'DPO β', num('beta', { min: 0 }), LOFIT_SELECT_DEFAULTS.beta)
    .option('--seed <s>', 'seed', num('seed', { int: true, min: 0 }), LOFIT_SELECT_DEFAULTS.seed)
    .option('--json', 'machine-readable summary')
    .action(async (o: Record<string, any>) => {
      const backend = await startBackend(program);
      if (o.loss !== 'ce' && o.loss !== 'dpo') throw new SubspaceError('BAD_ARGUMENT', `--loss must be ce or dpo (got '${o.loss}')`, 'loss');
      const m = await openModel(o.model);
      const task = await loadTask(o.task);
      const mc = task.manifest.kind === 'multiple-choice';
      const data = { train: task.splits.train, dev: task.splits.dev };
      const common = { epochs: o.epochs, batchSize: o.batch, loss: o.loss, beta: o.beta, seed: o.seed, multipleChoice: mc };
      const selectCfg = { ...common, lr: o.lrSelect, l1: o.lambda, k: kSpec(o, LOFIT_SELECT_DEFAULTS.k) };
      const rec = new RunRecorder('lofit', `lofit ${task.manifest.name} on ${m.name}`, { select: selectCfg, tune: { ...common, lr: o.lrTune } }, m, backend.backend, task.manifest.name);
      const summary = await rec.run(() => {
        const base = evaluateExamples(m.model, m.tokenizer!, task.splits.test, { multipleChoice: mc });
        const select = lofitSelect(m.model, m.tokenizer!, data, selectCfg, { onProgress: rec.listener(o.json ? undefined : progressPrinter('lofit step 1')) });
        rec.store.saveHeadScores(rec.runId, 'lofit-scores', { layers: m.spec.nLayers, heads: m.spec.nHeads, values: select.scores.flat() });
        rec.store.saveHeadSelection(rec.runId, 'lofit-top-k', select.selected.map(([layer, head]) => ({ layer, head })));
        const tune = lofitTune(m.model, m.tokenizer!, data, select.selected, { ...common, lr: o.lrTune }, { onProgress: rec.listener(o.json ? undefined : progressPrinter('lofit step 2')) });
        const test = evaluateLofit(m.model, m.tokenizer!, task.splits.test, tune, mc);
        const metrics = { baseTest: base, test, selectLoss: select.loss.at(-1)?.value, tuneLoss: tune.loss.at(-1)?.value, parameters: tune.parameters, k: select.k, task: task.manifest.name, backend: backend.backend };
        saveLofit(o.out, m.name, m.spec, select, tune, metrics);
        rec.artifacts(o.out, 'lofit');
        return { out: o.out, run: rec.runId, model: m.name, selected: select.selected, scores: select.scores, ...metrics };
      });
      if (o.json) printJson(summary);
      else {
        console.log(formatMatrix(summary.scores, summary.selected));
        console.log(`top ${summary.k}: ${summary.selected.map(([l, h]) => `L${l}H${h}`).join(' ')}`);
        const metric = mc ? 'MC1' : 'accuracy';
        const b = mc ? summary.baseTest.preferCorrect : summary.baseTest.accuracy;
        const a = mc ? summary.test.preferCorrect : summary.test.accuracy;
        console.log(`${summary.task} test ${metric}: base ${pct(b)} → LoFIT ${pct(a)} with ${summary.parameters} parameters (K·dh); run ${summary.run}, saved to ${o.out}`);
      }
    });

  program
    .command('iti')
    .description('ITI: a logistic probe per head, top K by held-out accuracy, mass-mean shift directions')
    .requiredOption('--model <ref>', 'folder, built-in name or cached hub name')
    .requiredOption('--task <name>', 'built-in task with correct and wrong answers')
    .requiredOption('--out <dir>', 'output folder')
    .option('--k <n>', 'heads to keep', num('k', { int: true }))
    .option('--k-percent <p>', 'heads to keep, as a percentage of all heads', num('k-percent', { min: 0 }))
    .option('--alpha <a>', 'shift strength in σ', num('alpha', { min: 0 }), ITI_DEFAULTS.alpha)
    .option('--seed <s>', 'seed', num('seed', { int: true, min: 0 }), ITI_DEFAULTS.seed)
    .option('--json', 'machine-readable summary')
    .action(async (o: Record<string, any>) => {
      const backend = await startBackend(program);
      const m = await openModel(o.model);
      const task = await loadTask(o.task);
      const mc = task.manifest.kind === 'multiple-choice';
      const cfg = { k: kSpec(o, ITI_DEFAULTS.k), alpha: o.alpha, seed: o.seed };
      const rec = new RunRecorder('iti', `iti ${task.manifest.name} on ${m.name}`, cfg, m, backend.backend, task.manifest.name);
      const summary = await rec.run(() => {
        const base = evaluateExamples(m.model, m.tokenizer!, task.splits.test, { multipleChoice: mc });
        const r = trainIti(m.model, m.tokenizer!, { train: task.splits.train, dev: task.splits.dev }, cfg, { onProgress: rec.listener() });
        rec.store.saveHeadScores(rec.runId, 'iti-probe-accuracy', { layers: m.spec.nLayers, heads: m.spec.nHeads, values: r.accuracy.flat() });
        rec.store.saveHeadSelection(rec.runId, 'iti-top-k', r.selected.map(([layer, head]) => ({ layer, head })));
        const test = evaluateIti(m.model, m.tokenizer!, task.splits.test, r, { mode: mc ? 'answer' : 'last', multipleChoice: mc });
        const metrics = { baseTest: base, test, k: r.k, alpha: r.alpha, task: task.manifest.name, backend: backend.backend };
        saveIti(o.out, m.name, m.spec, r, metrics);
        rec.artifacts(o.out, 'iti');
        return { out: o.out, run: rec.runId, model: m.name, selected: r.selected, accuracy: r.accuracy, ...metrics };
      });
      if (o.json) printJson(summary);
      else {
        console.log(formatMatrix(summary.accuracy, summary.selected, 2));
        console.log(`top ${summary.k} by held-out probe accuracy: ${summary.selected.map(([l, h]) => `L${l}H${h}`).join(' ')}`);
        const metric = mc ? 'MC1' : 'accuracy';
        const b = mc ? summary.baseTest.preferCorrect : summary.baseTest.accuracy;
        const a = mc ? summary.test.preferCorrect : summary.test.accuracy;
        console.log(`${summary.task} test ${metric}: base ${pct(b)} → ITI (α ${summary.alpha}) ${pct(a)}; run ${summary.run}, saved to ${o.out}`);
      }
    });

  program
    .command('heads')
    .description('print the head score matrix and the selection of a LoFIT or ITI export')
    .requiredOption('--run <dir>', 'a LoFIT or ITI export folder')
    .option('--json', 'machine-readable output')
    .action(async (o: { run: string; json?: boolean }) => {
      await startBackend(program);
      const name = readManifest(o.run).model.name;
      const m = await openModel(name, { requireTokenizer: false });
      const h = loadHeads(o.run, m.spec);
      if (o.json) printJson({ method: h.method, model: name, scores: h.scores, ranked: h.ranked, selected: h.selected });
      else {
        console.log(`${h.method === 'lofit' ? 'LoFIT scores ‖A‖₂' : 'ITI held-out probe accuracy'} (layer × head; * = selected)`);
        console.log(formatMatrix(h.scores, h.selected));
      }
    });
}
