import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { SubspaceError } from '../../engine/errors.js';
import { openModel } from '../../engine/open-model.js';
import { loadTask } from '../../engine/tasks/registry.js';
import { evaluateExamples } from '../../engine/eval/evaluate.js';
import { LOFIT_SELECT_DEFAULTS, LOFIT_TUNE_DEFAULTS, evaluateLofit, givenSelection, lofitSelect, lofitTune, markHeads, type LofitSelectConfig, type LofitSelectResult } from '../../engine/methods/lofit.js';
import { ITI_DEFAULTS, evaluateIti, trainIti } from '../../engine/methods/iti.js';
import { loadHeads, saveIti, saveLofit } from '../../engine/methods/heads-artifact.js';
import { readManifest } from '../../engine/artifacts/native.js';
import { rankHeads, resolveK, type HeadRef, type KSpec } from '../../engine/methods/heads.js';
import { allHeads, randomHeads, taskMetric } from '../../engine/methods/comparisons.js';
import { BASELINE_METHODS, runBaseline, type BaselineMethod, type BaselineRun } from '../../engine/methods/baselines/index.js';
import type { TrainOutcome } from '../../engine/methods/baselines/train.js';
import type { RepeResult } from '../../engine/methods/baselines/repe.js';
import type { EvalResult } from '../../engine/eval/evaluate.js';
import { ablateHeads } from '../../engine/methods/head-ablation.js';
import { HEAD_PATTERN_DEFAULTS, headPatterns, tokensOfTask } from '../../engine/analysis/head-patterns.js';
import type { LoadedModel } from '../../engine/io/model-folder.js';
import type { TaskExample } from '../../engine/tasks/schema.js';
import { num } from '../args.js';
import { printJson } from '../output.js';
import { startBackend } from '../backend.js';
import { progressPrinter } from '../progress.js';
import { RunRecorder } from '../record.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** An evaluation's figures as metrics named `<prefix>.<figure>`. */
function evalFigures(prefix: string, e: EvalResult): Record<string, number | undefined> {
  return { [`${prefix}.accuracy`]: e.accuracy, [`${prefix}.preferCorrect`]: e.preferCorrect, [`${prefix}.meanLogitDiff`]: e.meanLogitDiff, [`${prefix}.mc2`]: e.mc2 };
}

/** What a baseline's result file keeps of its method's own result: curves and choices, not the trained weights. */
function baselineDetail(r: BaselineRun): Record<string, unknown> {
  if (r.method === 'repe') {
    const d = r.detail as RepeResult;
    return { layer: d.reading.layer, site: d.reading.site, coefficient: d.coefficient, readingAccuracy: d.reading.readingAccuracy, explained: d.reading.explained, pairs: d.reading.pairs, grid: d.grid };
  }
  const d = r.detail as TrainOutcome;
  return { loss: d.loss, dev: d.dev, bestEpoch: d.bestEpoch, stoppedEarly: d.stoppedEarly, steps: d.steps };
}

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

/** A comma-separated list of whole numbers (layers), or undefined. */
function intList(name: string, text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const parts = text.split(',').map((x) => x.trim());
  if (parts.some((x) => !/^\d+$/.test(x))) throw new SubspaceError('BAD_ARGUMENT', `--${name} must be a comma-separated list of whole numbers, e.g. 1,2 (got '${text}')`, name);
  return parts.map(Number);
}

/**
 * Step 2's head list from another source than step 1, as a step-1 result (the score matrix marks
 * where the heads came from): K random heads (seeded), ITI's top K, every head, or the selection of
 * a LoFIT or ITI export folder (its top K when --k is given).
 */
function headsFromSource(source: string, m: LoadedModel, data: { train: TaskExample[]; dev: TaskExample[] }, k: KSpec, kGiven: boolean, seed: number, cfg: LofitSelectConfig): LofitSelectResult {
  const spec = m.spec;
  let scores: number[][];
  let ranked: HeadRef[];
  let selected: HeadRef[];
  if (source === 'random') {
    selected = randomHeads(spec, k, seed);
    scores = markHeads(spec, selected);
    ranked = rankHeads(scores);
  } else if (source === 'all') {
    selected = allHeads(spec);
    scores = markHeads(spec, selected);
    ranked = selected;
  } else if (source === 'iti') {
    const r = trainIti(m.model, m.tokenizer!, data, { k, seed });
    ({ accuracy: scores, ranked, selected } = r);
  } else {
    if (!existsSync(source)) throw new SubspaceError('BAD_ARGUMENT', `--heads-from '${source}' is neither random, iti, all nor an export folder`, 'heads-from');
    const h = loadHeads(source, spec);
    scores = h.scores;
    ranked = h.ranked;
    selected = kGiven ? ranked.slice(0, resolveK(k, spec)) : h.selected;
  }
  return givenSelection(cfg, scores, ranked, selected);
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
    .option('--heads-from <source>', 'skip step 1 and tune these heads: random (K seeded by --seed), iti (ITI\'s top K), all, or a LoFIT/ITI export folder')
    .option('--json', 'machine-readable summary')
    .action(async (o: Record<string, any>) => {
      const backend = await startBackend(program);
      if (o.headsFrom !== undefined && typeof o.headsFrom !== 'string') throw new SubspaceError('BAD_ARGUMENT', '--heads-from needs a source: random, iti, all or an export folder', 'heads-from');
      if (o.loss !== 'ce' && o.loss !== 'dpo') throw new SubspaceError('BAD_ARGUMENT', `--loss must be ce or dpo (got '${o.loss}')`, 'loss');
      const m = await openModel(o.model);
      const task = await loadTask(o.task);
      const mc = task.manifest.kind === 'multiple-choice';
      const data = { train: task.splits.train, dev: task.splits.dev };
      const common = { epochs: o.epochs, batchSize: o.batch, loss: o.loss, beta: o.beta, seed: o.seed, multipleChoice: mc };
      const selectCfg = { ...common, lr: o.lrSelect, l1: o.lambda, k: kSpec(o, LOFIT_SELECT_DEFAULTS.k) };
      const fullSelectCfg: LofitSelectConfig = { ...LOFIT_SELECT_DEFAULTS, ...selectCfg };
      // Checked before any work: K against the model, and a source that is a known name or a folder.
      resolveK(fullSelectCfg.k, m.spec);
      if (o.headsFrom && !['random', 'iti', 'all'].includes(o.headsFrom) && !existsSync(o.headsFrom)) {
        throw new SubspaceError('BAD_ARGUMENT', `--heads-from '${o.headsFrom}' is neither random, iti, all nor an export folder`, 'heads-from');
      }
      const rec = new RunRecorder('lofit', `lofit ${task.manifest.name} on ${m.name}`, { select: selectCfg, tune: { ...common, lr: o.lrTune }, headsFrom: o.headsFrom ?? 'lofit' }, m, backend.backend, task.manifest.name);
      const summary = await rec.run(() => {
        const base = evaluateExamples(m.model, m.tokenizer!, task.splits.test, { multipleChoice: mc });
        const select = o.headsFrom
          ? headsFromSource(o.headsFrom, m, data, fullSelectCfg.k, o.k !== undefined || o.kPercent !== undefined, o.seed, fullSelectCfg)
          : lofitSelect(m.model, m.tokenizer!, data, selectCfg, { onProgress: rec.listener(o.json ? undefined : progressPrinter('lofit step 1')) });
        rec.store.saveHeadScores(rec.runId, 'lofit-scores', { layers: m.spec.nLayers, heads: m.spec.nHeads, values: select.scores.flat() });
        rec.store.saveHeadSelection(rec.runId, 'lofit-top-k', select.selected.map(([layer, head]) => ({ layer, head })));
        const tune = lofitTune(m.model, m.tokenizer!, data, select.selected, { ...common, lr: o.lrTune }, { onProgress: rec.listener(o.json ? undefined : progressPrinter('lofit step 2')) });
        const test = evaluateLofit(m.model, m.tokenizer!, task.splits.test, tune, mc);
        const metrics = { baseTest: base, test, selectLoss: select.loss.at(-1)?.value, tuneLoss: tune.loss.at(-1)?.value, parameters: tune.parameters, k: tune.heads.length, task: task.manifest.name, backend: backend.backend };
        saveLofit(o.out, m.name, m.spec, select, tune, metrics);
        rec.artifacts(o.out, 'lofit');
        return { out: o.out, run: rec.runId, model: m.name, headsFrom: (o.headsFrom as string | undefined) ?? 'lofit', selected: select.selected, scores: select.scores, ...metrics };
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

  program
    .command('head-patterns')
    .description('previous-token, duplicate-token and induction scores of every head, on random sequences repeated twice')
    .requiredOption('--model <ref>', 'folder, built-in name or cached hub name')
    .option('--length <n>', 'tokens per copy', num('length', { int: true, min: 2 }), HEAD_PATTERN_DEFAULTS.length)
    .option('--sequences <n>', 'random sequences to average over', num('sequences', { int: true, min: 1 }), HEAD_PATTERN_DEFAULTS.sequences)
    .option('--seed <s>', 'seed', num('seed', { int: true, min: 0 }), HEAD_PATTERN_DEFAULTS.seed)
    .option('--task <name>', "draw the tokens from this built-in task's examples instead of the whole vocabulary")
    .option('--json', 'machine-readable output')
    .action(async (o: { model: string; length: number; sequences: number; seed: number; task?: string; json?: boolean }) => {
      await startBackend(program);
      const m = await openModel(o.model, { requireTokenizer: false });
      const tokens = o.task === undefined ? undefined : await tokensOfTask(m, o.task);
      const p = headPatterns(m.model, m.tokenizer, { length: o.length, sequences: o.sequences, seed: o.seed, tokens });
      if (o.json) printJson({ model: m.name, tokensFrom: o.task ?? 'vocabulary', ...p });
      else {
        const best = (s: number[][]): [number, number][] => [rankHeads(s)[0]];
        const from = o.task === undefined ? 'the vocabulary' : `the ${o.task} task`;
        console.log(`mean attention weight on ${p.sequences} random sequences of ${p.length} tokens (from ${p.poolSize} of ${from}) repeated twice (layer × head; * = highest)`);
        for (const [title, s] of [['previous token', p.previousToken], ['duplicate token', p.duplicateToken], ['induction', p.induction]] as const) {
          console.log(`\n${title}\n${formatMatrix(s, best(s), 2)}`);
        }
      }
    });

  program
    .command('baseline')
    .description('the LoFIT paper\'s other baselines on a task: RED, LoRA or RepE, with the parameter count')
    .requiredOption('--model <ref>', 'folder, built-in name or cached hub name')
    .requiredOption('--task <name>', 'built-in task')
    .requiredOption('--method <name>', `one of ${BASELINE_METHODS.join(', ')}`)
    .option('--layers <list>', 'layers (RED, LoRA: to edit, default all; RepE: to try, default all)')
    .option('--rank <r>', 'LoRA rank', num('rank', { int: true }))
    .option('--alpha <a>', 'LoRA α (the update is α/r · B A)', num('alpha'))
    .option('--lr <x>', 'learning rate (RED, LoRA)', num('lr'))
    .option('--epochs <n>', 'epochs (RED, LoRA)', num('epochs', { int: true, min: 1 }))
    .option('--batch <b>', 'batch size (RED, LoRA)', num('batch', { int: true, min: 1 }))
    .option('--coefficient <c...>', 'RepE coefficients to try on dev (default 1 2 4 8 16)')
    .option('--seed <s>', 'seed', num('seed', { int: true, min: 0 }), 42)
    .option('--out <file.json>', "where to write the result (default: baseline.json in the run's folder of the data folder)")
    .option('--json', 'machine-readable summary')
    .action(async (o: Record<string, any>) => {
      const backend = await startBackend(program);
      if (!(BASELINE_METHODS as readonly string[]).includes(o.method)) throw new SubspaceError('BAD_ARGUMENT', `unknown baseline '${o.method}' (known: ${BASELINE_METHODS.join(', ')})`, 'method');
      const coefficients = o.coefficient === undefined ? undefined : (o.coefficient as string[]).map((c) => num('coefficient')(c));
      const m = await openModel(o.model);
      const task = await loadTask(o.task);
      const mc = task.manifest.kind === 'multiple-choice';
      const layers = intList('layers', o.layers);
      const train = Object.fromEntries(Object.entries({ lr: o.lr, epochs: o.epochs, batchSize: o.batch, seed: o.seed }).filter(([, v]) => v !== undefined));
      const configs = { red: { ...train, layers }, lora: { ...train, layers, ...(o.rank !== undefined ? { rank: o.rank } : {}), ...(o.alpha !== undefined ? { alpha: o.alpha } : {}) }, repe: { layers, seed: o.seed, ...(coefficients ? { coefficients } : {}) } };
      const data = { train: task.splits.train, dev: task.splits.dev, test: task.splits.test };
      const metric = mc ? 'mc1' : 'accuracy';
      const rec = new RunRecorder('baseline', `baseline ${o.method} ${task.manifest.name} on ${m.name}`, { command: 'baseline', method: o.method, ...configs[o.method as BaselineMethod] }, m, backend.backend, task.manifest.name);
      const out = rec.outputFile(o.out, 'baseline.json');
      const summary = await rec.run(() => {
        const base = evaluateExamples(m.model, m.tokenizer!, data.test, { multipleChoice: mc });
        const r = runBaseline(o.method, m.model, m.tokenizer!, data, { multipleChoice: mc, configs }, { onProgress: rec.listener(o.json ? undefined : progressPrinter(o.method)) });
        const doc = { run: rec.runId, method: r.method, model: m.name, task: task.manifest.name, metric, base: taskMetric(base, mc), score: r.metric, parameters: r.parameters, setting: r.setting, baseTest: base, test: r.test, seconds: r.seconds, backend: backend.backend, detail: baselineDetail(r) };
        rec.figures(0, { base: doc.base, score: doc.score, parameters: r.parameters, seconds: r.seconds, ...evalFigures('baseTest', base), ...evalFigures('test', r.test) });
        rec.writeJson(out, doc, 'baseline');
        return doc;
      });
      if (o.json) printJson({ out, ...summary });
      else console.log(`${summary.task} test ${mc ? 'MC1' : 'accuracy'}: base ${pct(summary.base)} → ${summary.method.toUpperCase()} ${pct(summary.score)} with ${summary.parameters} parameters (${summary.setting}); run ${summary.run}, saved to ${out}`);
    });

  program
    .command('ablate')
    .description('mean-ablate each attention head and rank the heads by the change in the task\'s log-probability difference')
    .requiredOption('--model <ref>', 'folder, built-in name or cached hub name')
    .requiredOption('--task <name>', 'built-in task')
    .option('--split <name>', 'split to measure on', 'dev')
    .option('--limit <n>', 'examples to use (the first N)', num('limit', { int: true, min: 1 }), 64)
    .option('--mode <mean|zero>', 'replace each head with its dataset mean or with zeros', 'mean')
    .option('--top <n>', 'heads to list', num('top', { int: true, min: 1 }), 8)
    .option('--out <file.json>', "where to write the result (default: ablation.json in the run's folder of the data folder)")
    .option('--json', 'machine-readable output')
    .action(async (o: Record<string, any>) => {
      const backend = await startBackend(program);
      if (o.mode !== 'mean' && o.mode !== 'zero') throw new SubspaceError('BAD_ARGUMENT', `--mode must be mean or zero (got '${o.mode}')`, 'mode');
      const m = await openModel(o.model);
      const task = await loadTask(o.task);
      const split = (task.splits as Record<string, TaskExample[] | undefined>)[o.split];
      if (!split) throw new SubspaceError('BAD_ARGUMENT', `--split must be train, dev or test (got '${o.split}')`, 'split');
      const examples = split.slice(0, o.limit);
      const rec = new RunRecorder('ablate', `ablate (${o.mode}) ${task.manifest.name} on ${m.name}`, { command: 'ablate', mode: o.mode, split: o.split, n: examples.length }, m, backend.backend, task.manifest.name);
      const out = rec.outputFile(o.out, 'ablation.json');
      const summary = await rec.run(() => {
        const r = ablateHeads(m.model, m.tokenizer!, examples, { mode: o.mode }, { onProgress: rec.listener(o.json ? undefined : progressPrinter('ablate')) });
        const doc = { run: rec.runId, model: m.name, task: task.manifest.name, split: o.split as string, n: r.n, mode: r.mode, base: r.base, effect: r.effect, ranked: r.ranked, ablated: r.ablated, backend: backend.backend };
        rec.figures(0, { n: r.n, 'base.logitDiff': r.base.logitDiff, 'base.accuracy': r.base.accuracy, 'base.preferCorrect': r.base.preferCorrect });
        // The ranking: the effect of the head at each rank (largest |effect| first), the heads themselves as a ranked selection.
        r.ranked.forEach(([l, h], i) => rec.metric(i, 'rankedEffect', r.effect[l][h]));
        rec.store.saveHeadScores(rec.runId, 'ablation-effect', { layers: m.spec.nLayers, heads: m.spec.nHeads, values: r.effect.flat() });
        rec.store.saveHeadSelection(rec.runId, 'ablation-ranked', r.ranked.map(([layer, head]) => ({ layer, head })));
        rec.writeJson(out, doc, 'ablation');
        return doc;
      });
      const top = summary.ranked.slice(0, Math.min(o.top, summary.ranked.length));
      if (o.json) printJson({ out, ...summary });
      else {
        console.log(`effect of ${summary.mode}-ablating each head on the mean log-prob difference (base ${summary.base.logitDiff.toFixed(3)}, ${summary.n} examples; * = top ${top.length} by |effect|)`);
        console.log(formatMatrix(summary.effect, top));
        console.log(`run ${summary.run}; saved to ${out}`);
      }
    });
}
