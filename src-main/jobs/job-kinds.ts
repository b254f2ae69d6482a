/**
 * The worker-side registry: one function per job kind that drives the engine
 * (train, evaluate, export) and reports what it made. Runs inside the worker
 * process only — this module pulls in the engine and tfjs.
 *
 * Adding a kind: a config schema in protocol.ts, an entry here, and the store's
 * run kind in `runKindFor` (runner.ts).
 */
import { SubspaceError } from '../engine/errors.js';
import { loadArtifact } from '../engine/artifacts/native.js';
import { evaluateExamples, type EvalResult } from '../engine/eval/evaluate.js';
import { loadHeads, saveIti, saveLofit } from '../engine/methods/heads-artifact.js';
import { evaluateIti, ITI_DEFAULTS, trainIti } from '../engine/methods/iti.js';
import { evaluateLofit, givenSelection, LOFIT_SELECT_DEFAULTS, lofitSelect, lofitTune, markHeads, type LofitSelectConfig, type LofitSelectResult } from '../engine/methods/lofit.js';
import { validateHeads, type HeadRef } from '../engine/methods/heads.js';
import type { ModelSpec } from '../engine/model/config.js';
import type { Progress, RunHooks } from '../engine/methods/progress.js';
import { evaluateReft, REFT_DEFAULTS, trainReft, type ReftCheckpoint } from '../engine/methods/reft.js';
import { loadReft, saveReft } from '../engine/methods/reft-artifact.js';
import { loadReftCheckpoint, saveReftCheckpoint } from './checkpoint.js';
import type { EvalJobConfig, ItiJobConfig, JobKind, LofitJobConfig, ReftJobConfig } from './protocol.js';
import { das, patch } from './job-kinds-interchange.js';
import { transfer } from './job-kinds-comparisons.js';
import { reportArtifacts, type KindContext, type KindRunner } from './kind-context.js';

export type { TaskData } from './kind-context.js';

/** Final evaluations as metric points at the last step, named `<prefix>.accuracy`, .... */
function evalPoints(ctx: KindContext, step: number, prefix: string, r: EvalResult): void {
  const points = (['accuracy', 'meanLogitDiff', 'meanProbCorrect', 'preferCorrect', 'mc2'] as const)
    .filter((k) => typeof r[k] === 'number')
    .map((k) => ({ step, name: `${prefix}.${k}`, value: r[k] as number }));
  ctx.send({ type: 'metrics', points });
}

/** Prefixes metric names of a phase (LoFIT's two steps count steps from 0 each). */
function phaseHooks(hooks: RunHooks, prefix: string): RunHooks {
  return {
    shouldStop: hooks.shouldStop,
    onProgress: (p: Progress) => hooks.onProgress?.({ ...p, metrics: Object.fromEntries(Object.entries(p.metrics).map(([k, v]) => [k === 'epoch' ? k : `${prefix}${k}`, v])) }),
  };
}

const reft: KindRunner = (ctx) => {
  const { m, task, job } = ctx;
  const cfg = job.config as ReftJobConfig;
  const tok = m.tokenizer!;
  const baseTest = task.test.length ? evaluateExamples(m.model, tok, task.test, { multipleChoice: task.multipleChoice }) : undefined;
  const ck = job.checkpoint;
  let resume: ReftCheckpoint | undefined;
  if (ck?.resumeFrom) {
    resume = loadReftCheckpoint(ck.resumeFrom);
    // The curve up to the checkpoint, from the checkpoint itself, so the new run's curve is whole
    // even when the old worker died before its last points reached the store.
    const perEpoch = Math.ceil(task.train.length / (cfg.batchSize ?? REFT_DEFAULTS.batchSize));
    const points = [
      ...resume.loss.map((l) => ({ step: l.step + 1, name: 'loss', value: l.value })),
      ...resume.dev.map((d) => ({ step: (d.epoch + 1) * perEpoch, name: 'devAccuracy', value: d.accuracy })),
    ];
    ctx.send({ type: 'metrics', points });
  }
  const r = trainReft(m.model, tok, { train: task.train, dev: task.dev }, cfg, {
    ...ctx.hooks,
    checkpoint: ck
      ? {
          everySteps: ck.everySteps,
          resume,
          save: (c) => {
            saveReftCheckpoint(ck.dir, c);
            ctx.send({ type: 'checkpoint', step: c.step, path: ck.dir });
          },
        }
      : undefined,
  });
  try {
    const steps = r.loss.length;
    const test = task.test.length ? evaluateReft(m.model, tok, task.test, r.config, r.interventions, task.multipleChoice) : undefined;
    if (test) evalPoints(ctx, steps, 'test', test);
    const metrics = { baseTest, test, dev: r.dev, finalLoss: r.loss.at(-1)?.value, parameters: r.parameters, bestEpoch: r.bestEpoch, stoppedEarly: r.stoppedEarly, epochMs: r.epochMs, cache: r.cacheMode, backend: ctx.backend, task: task.name, resumedFrom: resume?.step };
    saveReft(job.outDir, m.name, m.spec, r.config, r.interventions, { ...metrics, loss: r.loss });
    const files = reportArtifacts(ctx, job.outDir, 'reft');
    return { out: job.outDir, files, interventions: r.interventions.length, steps, loss: r.loss, ...metrics };
  } finally {
    for (const p of r.interventions) p.intervention.dispose();
  }
};

/** Step 1 skipped: the given heads stand as the selection (as `subspace lofit --heads-from` does). */
function givenHeads(heads: HeadRef[], spec: ModelSpec, config: LofitSelectConfig): LofitSelectResult {
  validateHeads(heads, spec, 'config.heads');
  return givenSelection(config, markHeads(spec, heads), heads, heads);
}

const lofit: KindRunner = (ctx) => {
  const { m, task, job } = ctx;
  const c = job.config as LofitJobConfig;
  const tok = m.tokenizer!;
  const mc = task.multipleChoice;
  const data = { train: task.train, dev: task.dev };
  const common = {
    ...(c.epochs !== undefined && { epochs: c.epochs }),
    ...(c.batchSize !== undefined && { batchSize: c.batchSize }),
    ...(c.loss !== undefined && { loss: c.loss }),
    ...(c.beta !== undefined && { beta: c.beta }),
    ...(c.seed !== undefined && { seed: c.seed }),
    ...(c.patience !== undefined && { patience: c.patience }),
    ...(c.warmupRatio !== undefined && { warmupRatio: c.warmupRatio }),
    ...(c.weightDecay !== undefined && { weightDecay: c.weightDecay }),
    ...(c.clipNorm !== undefined && { clipNorm: c.clipNorm }),
    ...(c.initStd !== undefined && { initStd: c.initStd }),
    multipleChoice: mc,
  };
  const base = task.test.length ? evaluateExamples(m.model, tok, task.test, { multipleChoice: mc }) : undefined;
  const selectCfg = { ...common, ...(c.lrSelect !== undefined && { lr: c.lrSelect }), l1: c.l1 ?? LOFIT_SELECT_DEFAULTS.l1, k: c.k ?? LOFIT_SELECT_DEFAULTS.k };
  const select = c.heads ? givenHeads(c.heads as HeadRef[], m.spec, { ...LOFIT_SELECT_DEFAULTS, ...selectCfg }) : lofitSelect(m.model, tok, data, selectCfg, phaseHooks(ctx.hooks, 'select.'));
  // A given head list has no step-1 scores to report (the export marks the chosen heads with 1).
  if (!c.heads) ctx.send({ type: 'headScores', name: 'lofit-scores', layers: m.spec.nLayers, heads: m.spec.nHeads, values: select.scores.flat() });
  ctx.send({ type: 'headSelection', name: 'lofit-top-k', heads: select.selected.map(([layer, head]) => ({ layer, head })) });
  const tune = lofitTune(m.model, tok, data, select.selected, { ...common, ...(c.lrTune !== undefined && { lr: c.lrTune }), ...(c.cachePrefix !== undefined && { cachePrefix: c.cachePrefix }) }, phaseHooks(ctx.hooks, 'tune.'));
  const test = task.test.length ? evaluateLofit(m.model, tok, task.test, tune, mc) : undefined;
  if (test) evalPoints(ctx, tune.loss.length, 'test', test);
  // trainingThreads: 2 where each batch was split with the training helper thread (see engine/parallel/training-helper.ts).
  const metrics = { baseTest: base, test, selectLoss: select.loss.at(-1)?.value, tuneLoss: tune.loss.at(-1)?.value, parameters: tune.parameters, k: select.k, task: task.name, backend: ctx.backend, trainingThreads: tune.shards, trainingThreadsNote: tune.shardsNote };
  saveLofit(job.outDir, m.name, m.spec, select, tune, metrics);
  const files = reportArtifacts(ctx, job.outDir, 'lofit');
  return { out: job.outDir, files, selected: select.selected, ...metrics };
};

const iti: KindRunner = (ctx) => {
  const { m, task, job } = ctx;
  const c = job.config as ItiJobConfig;
  const tok = m.tokenizer!;
  const mc = task.multipleChoice;
  const base = task.test.length ? evaluateExamples(m.model, tok, task.test, { multipleChoice: mc }) : undefined;
  const r = trainIti(m.model, tok, { train: task.train, dev: task.dev }, { ...ITI_DEFAULTS, ...c }, ctx.hooks);
  ctx.send({ type: 'headScores', name: 'iti-probe-accuracy', layers: m.spec.nLayers, heads: m.spec.nHeads, values: r.accuracy.flat() });
  ctx.send({ type: 'headSelection', name: 'iti-top-k', heads: r.selected.map(([layer, head]) => ({ layer, head })) });
  const test = task.test.length ? evaluateIti(m.model, tok, task.test, r, { mode: mc ? 'answer' : 'last', multipleChoice: mc }) : undefined;
  if (test) evalPoints(ctx, m.spec.nLayers * m.spec.nHeads, 'test', test);
  const metrics = { baseTest: base, test, k: r.k, alpha: r.alpha, task: task.name, backend: ctx.backend };
  saveIti(job.outDir, m.name, m.spec, r, metrics);
  const files = reportArtifacts(ctx, job.outDir, 'iti');
  return { out: job.outDir, files, selected: r.selected, ...metrics };
};

const evaluate: KindRunner = (ctx) => {
  const { m, task, job } = ctx;
  const c = job.config as EvalJobConfig;
  const tok = m.tokenizer!;
  const mc = task.multipleChoice;
  const examples = c.split ? task[c.split] : task.test.length ? task.test : task.train;
  if (examples.length === 0) throw new SubspaceError('BAD_ARGUMENT', `task '${task.name}' has no examples to evaluate`, 'task');
  const base = evaluateExamples(m.model, tok, examples, { multipleChoice: mc, batchSize: c.batchSize });
  evalPoints(ctx, 0, 'base', base);
  let withIntervention: EvalResult | undefined;
  let method: string | undefined;
  if (c.intervention) {
    method = loadArtifact(c.intervention).manifest.method;
    if (method === 'reft') {
      const { config, placed } = loadReft(c.intervention, m.spec);
      try {
        withIntervention = evaluateReft(m.model, tok, examples, config, placed, mc);
      } finally {
        for (const p of placed) p.intervention.dispose();
      }
    } else if (method === 'lofit' || method === 'iti') {
      const h = loadHeads(c.intervention, m.spec);
      if (h.method === 'lofit') withIntervention = evaluateLofit(m.model, tok, examples, { offsets: h.offsets!, heads: h.selected }, mc);
      else withIntervention = evaluateIti(m.model, tok, examples, h.iti!, { mode: mc ? 'answer' : 'last', multipleChoice: mc, ...(c.alpha !== undefined && { alpha: c.alpha }) });
    } else throw new SubspaceError('UNSUPPORTED', `${c.intervention} holds a ${method} export; evaluation supports reft, lofit and iti`, 'config.intervention');
    evalPoints(ctx, 0, method, withIntervention);
  }
  ctx.hooks.onProgress?.({ phase: 'eval', step: 1, total: 1, elapsedMs: 0, etaMs: 0, metrics: {} });
  return { examples: examples.length, base, intervention: c.intervention, method, withIntervention, task: task.name, backend: ctx.backend };
};

export const JOB_RUNNERS: Record<JobKind, KindRunner> = { reft, lofit, iti, eval: evaluate, patch, das, transfer };
