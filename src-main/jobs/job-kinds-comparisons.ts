/**
 * Worker-side runner of LoFIT's comparison kinds. 'transfer': step 1 on each of the chosen tasks,
 * then step 2 trained and scored on every task with every task's head selection (the cross-task
 * transfer matrix of engine/methods/comparisons.ts). The result is a JSON artifact of the run (what
 * the LoFIT view reads back); each cell is also a metric, sent as soon as it is known, and each
 * task's step-1 scores and top K are head scores and selections of the run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, SubspaceError } from '../engine/errors.js';
import { evaluateExamples } from '../engine/eval/evaluate.js';
import { resolveK, type HeadRef } from '../engine/methods/heads.js';
import { meanSd, taskMetric, tuneAndScore } from '../engine/methods/comparisons.js';
import { LOFIT_SELECT_DEFAULTS, lofitSelect } from '../engine/methods/lofit.js';
import { CancelledError, type Progress, type RunHooks } from '../engine/methods/progress.js';
import { loadTask } from '../engine/tasks/registry.js';
import { transferCellMetric, transferHeadsName, type TransferJobConfig } from './protocol.js';
import { reportArtifact, type KindContext, type KindRunner, type TaskData } from './kind-context.js';

/** File name of the result inside the run's output folder. */
export const TRANSFER_RESULT_FILE = 'transfer-matrix.json';

/** Inner progress (a training step) is passed on at most this often. */
const PROGRESS_EVERY_MS = 250;

async function loadTransferTask(name: string, index: number, limit: number | undefined): Promise<TaskData> {
  let t;
  try {
    t = await loadTask(name);
  } catch (e) {
    throw new SubspaceError('NOT_FOUND', `config.tasks.${index}: ${errorMessage(e)}`, `config.tasks.${index}`);
  }
  const cut = <T>(xs: T[]) => (limit === undefined ? xs : xs.slice(0, limit));
  const task: TaskData = { name, train: cut(t.splits.train), dev: cut(t.splits.dev), test: cut(t.splits.test), multipleChoice: t.manifest.kind === 'multiple-choice' };
  // Step 1 and step 2 train on `train`; every cell is scored on `test`.
  for (const split of ['train', 'test'] as const) {
    if (task[split].length === 0) throw new SubspaceError('BAD_ARGUMENT', `config.tasks.${index}: task '${name}' has no ${split} examples; a transfer cell trains on train and scores on test`, `config.tasks.${index}`);
  }
  return task;
}

/**
 * Outer progress over the n selections and n² cells, one step each; while a unit trains, its own
 * steps refine the estimate (without moving the step count).
 */
class UnitProgress {
  private readonly t0 = performance.now();
  private lastSent = 0;
  done = 0;
  constructor(
    private readonly hooks: RunHooks,
    readonly total: number,
  ) {}

  report(phase: string, fraction = 0): void {
    const elapsedMs = performance.now() - this.t0;
    const at = this.done + fraction;
    this.lastSent = performance.now();
    this.hooks.onProgress?.({ phase, step: this.done, total: this.total, elapsedMs, etaMs: at > 0 ? (elapsedMs / at) * (this.total - at) : 0, metrics: {} });
  }

  /** Hooks for one unit's engine call: cancellation, and throttled progress. */
  inner(phase: string): RunHooks {
    return {
      shouldStop: this.hooks.shouldStop,
      onProgress: (p: Progress) => {
        if (performance.now() - this.lastSent >= PROGRESS_EVERY_MS) this.report(phase, p.total > 0 ? Math.min(1, p.step / p.total) : 0);
      },
    };
  }

  finish(phase: string): void {
    if (this.hooks.shouldStop?.()) throw new CancelledError();
    this.done++;
    this.report(phase);
  }
}

export const transfer: KindRunner = async (ctx: KindContext) => {
  const { m, job } = ctx;
  const c = job.config as TransferJobConfig;
  const tok = m.tokenizer!;
  const spec = m.spec;
  // Everything that can be wrong is checked before the first step trains.
  const k = resolveK(c.k ?? LOFIT_SELECT_DEFAULTS.k, spec, 'config.k');
  const tasks: TaskData[] = [];
  for (const [i, name] of c.tasks.entries()) tasks.push(await loadTransferTask(name, i, c.limit));
  if (ctx.hooks.shouldStop?.()) throw new CancelledError();

  const common = {
    ...(c.epochs !== undefined && { epochs: c.epochs }),
    ...(c.batchSize !== undefined && { batchSize: c.batchSize }),
    ...(c.seed !== undefined && { seed: c.seed }),
  };
  const selectCfg = { ...common, k, ...(c.l1 !== undefined && { l1: c.l1 }), ...(c.lrSelect !== undefined && { lr: c.lrSelect }) };
  const tuneCfg = { ...common, ...(c.lrTune !== undefined && { lr: c.lrTune }) };
  const n = tasks.length;
  const progress = new UnitProgress(ctx.hooks, n + n * n);
  progress.report('transfer-select');

  // Step 1 on each task: its top K is that task's head list (its column of the matrix).
  const heads: Record<string, HeadRef[]> = {};
  const scores: Record<string, number[][]> = {};
  const selectSeconds: Record<string, number> = {};
  for (const t of tasks) {
    const t0 = performance.now();
    const s = lofitSelect(m.model, tok, { train: t.train, dev: t.dev }, { ...selectCfg, multipleChoice: t.multipleChoice }, progress.inner('transfer-select'));
    heads[t.name] = s.selected;
    scores[t.name] = s.scores;
    selectSeconds[t.name] = (performance.now() - t0) / 1000;
    ctx.send({ type: 'headScores', name: `lofit-scores:${t.name}`, layers: spec.nLayers, heads: spec.nHeads, values: s.scores.flat() });
    ctx.send({ type: 'headSelection', name: transferHeadsName(t.name), heads: s.selected.map(([layer, head]) => ({ layer, head })) });
    progress.finish('transfer-select');
  }

  // The cells of transferMatrix one at a time, so each is reported (and shown) as soon as it ends.
  const matrix: number[][] = tasks.map(() => tasks.map(() => NaN));
  const cellSeconds: number[][] = tasks.map(() => tasks.map(() => NaN));
  tasks.forEach((a, i) =>
    tasks.forEach((b, j) => {
      const r = tuneAndScore(m.model, tok, a, heads[b.name], `${a.name} ← ${b.name}`, { ...tuneCfg, multipleChoice: a.multipleChoice }, progress.inner('transfer-tune'));
      matrix[i][j] = r.metric;
      cellSeconds[i][j] = r.seconds;
      ctx.send({ type: 'metrics', points: [{ step: 0, name: transferCellMetric(a.name, b.name), value: r.metric }] });
      progress.finish('transfer-tune');
    }),
  );

  // The base model on each test split: what a cell must beat to have helped at all.
  const base = Object.fromEntries(tasks.map((t) => [t.name, taskMetric(evaluateExamples(m.model, tok, t.test, { multipleChoice: t.multipleChoice }), t.multipleChoice)]));
  const diagonal = tasks.map((_, i) => matrix[i][i]);
  const offDiagonal = matrix.flatMap((row, i) => row.filter((_, j) => j !== i));
  ctx.send({
    type: 'metrics',
    points: [
      { step: 0, name: 'mean.diagonal', value: meanSd(diagonal).mean },
      { step: 0, name: 'mean.offDiagonal', value: meanSd(offDiagonal).mean },
      ...tasks.map((t) => ({ step: 0, name: `base.${t.name}`, value: base[t.name] })),
    ],
  });

  const settings = { k, ...(c.epochs !== undefined && { epochs: c.epochs }), ...(c.seed !== undefined && { seed: c.seed }), ...(c.limit !== undefined && { limit: c.limit }), ...(c.batchSize !== undefined && { batchSize: c.batchSize }), ...(c.l1 !== undefined && { l1: c.l1 }), ...(c.lrSelect !== undefined && { lrSelect: c.lrSelect }), ...(c.lrTune !== undefined && { lrTune: c.lrTune }) };
  const doc = {
    run: job.runId,
    model: m.name,
    backend: ctx.backend,
    tasks: tasks.map((t) => t.name),
    /** What each row's cells measure: MC1 for multiple-choice tasks, accuracy otherwise. */
    metric: Object.fromEntries(tasks.map((t) => [t.name, t.multipleChoice ? 'mc1' : 'accuracy'])),
    /** matrix[a][b]: step 2 trained and scored on tasks[a] with the heads step 1 selected on tasks[b]. */
    matrix,
    base,
    k,
    parameters: k * spec.dHead,
    heads,
    scores,
    examples: Object.fromEntries(tasks.map((t) => [t.name, { train: t.train.length, dev: t.dev.length, test: t.test.length }])),
    settings,
    seconds: { select: selectSeconds, cells: cellSeconds },
  };
  mkdirSync(job.outDir, { recursive: true });
  const out = join(job.outDir, TRANSFER_RESULT_FILE);
  writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
  reportArtifact(ctx, out, 'transfer');
  return { out, tasks: doc.tasks, k, matrix, heads, base, backend: ctx.backend };
};
