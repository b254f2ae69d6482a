/**
 * Handlers of the ReFT view: representations of a run's task projected on two
 * of its learned directions (the projection runs in the compute process).
 */
import { readFileSync } from 'node:fs';
import { errorMessage } from '../../engine/errors.js';
import type { TaskExample } from '../../engine/tasks/schema.js';
import { inlineTaskSchema } from '../../jobs/protocol.js';
import type { ApiContext } from '../context.js';
import { ApiFailure, type Handlers } from '../dispatch.js';
import { cachedTask } from './library.js';
import { exportOf, requireRun } from './work.js';

type Split = 'train' | 'dev' | 'test';

/** The task a run trained on, as its job record names it: a built-in name or the inline task's file. */
async function runTaskSplit(config: Record<string, unknown>, split: Split, runId: string): Promise<{ name: string; examples: TaskExample[] }> {
  const task = (config.job as { task?: { builtin?: string; file?: string; name?: string } } | undefined)?.task;
  if (task?.builtin) {
    const t = await cachedTask(task.builtin);
    return { name: t.manifest.name, examples: t.splits[split] };
  }
  if (task?.file) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(task.file, 'utf8'));
    } catch (e) {
      throw new ApiFailure('NOT_FOUND', `reft.projections: runId: cannot read the task of run "${runId}" (${errorMessage(e)})`, 'runId');
    }
    const parsed = inlineTaskSchema.safeParse(raw);
    if (!parsed.success) throw new ApiFailure('BAD_FILE', `reft.projections: runId: the task file of run "${runId}" is not a valid task (${task.file})`, 'runId');
    const t = parsed.data;
    return { name: task.name ?? 'inline', examples: split === 'train' ? t.examples : ((split === 'dev' ? t.dev : t.test) ?? []) };
  }
  throw new ApiFailure('NOT_FOUND', `reft.projections: runId: run "${runId}" does not record its task`, 'runId');
}

export function reftViewHandlers(ctx: ApiContext): Pick<Handlers, 'reft.projections'> {
  const { store, compute } = ctx;
  return {
    'reft.projections': async ({ runId, directions, split, limit }) => {
      const run = requireRun(store, runId, 'reft.projections');
      if (run.kind !== 'reft') throw new ApiFailure('BAD_ARGUMENT', `reft.projections: runId: run "${runId}" is a ${run.kind} run; projections need a ReFT run`, 'runId');
      const { dir, model } = exportOf(store, run, 'reft.projections');
      const task = await runTaskSplit(run.config, split, runId);
      if (task.examples.length === 0) throw new ApiFailure('BAD_ARGUMENT', `reft.projections: split: task "${task.name}" has no ${split} examples; choose another split`, 'split');
      const r = await compute.call('reftProjections', { dir, examples: task.examples.slice(0, limit), directions, ...(model && { model }) });
      return { runId, task: task.name, split, ...r };
    },
  };
}

