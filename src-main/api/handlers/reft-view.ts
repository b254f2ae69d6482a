/**
 * Handlers of the ReFT view: representations of a run's task projected on two
 * of its learned directions (the projection runs in the compute process).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { MANIFEST_FILE } from '../../engine/artifacts/native.js';
import { errorMessage } from '../../engine/errors.js';
import { loadTask } from '../../engine/tasks/registry.js';
import type { TaskExample } from '../../engine/tasks/schema.js';
import { inlineTaskSchema } from '../../jobs/protocol.js';
import type { ApiContext } from '../context.js';
import { ApiFailure, type Handlers } from '../dispatch.js';

type Split = 'train' | 'dev' | 'test';

/** The task a run trained on, as its job record names it: a built-in name or the inline task's file. */
async function runTaskSplit(config: Record<string, unknown>, split: Split, runId: string): Promise<{ name: string; examples: TaskExample[] }> {
  const task = (config.job as { task?: { builtin?: string; file?: string; name?: string } } | undefined)?.task;
  if (task?.builtin) {
    const t = await loadTask(task.builtin);
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
      const run = store.getRun(runId);
      if (!run) throw new ApiFailure('NOT_FOUND', `reft.projections: runId: no run with id "${runId}"`, 'runId');
      if (run.kind !== 'reft') throw new ApiFailure('BAD_ARGUMENT', `reft.projections: runId: run "${runId}" is a ${run.kind} run; projections need a ReFT run`, 'runId');
      const manifest = store.listArtifacts(runId).find((a) => a.path.endsWith(`/${MANIFEST_FILE}`) || a.path.endsWith(`\\${MANIFEST_FILE}`));
      if (!manifest || !existsSync(manifest.path)) throw new ApiFailure('NOT_FOUND', `reft.projections: runId: run "${runId}" has no exported intervention (yet)`, 'runId');
      const task = await runTaskSplit(run.config, split, runId);
      if (task.examples.length === 0) throw new ApiFailure('BAD_ARGUMENT', `reft.projections: split: task "${task.name}" has no ${split} examples; choose another split`, 'split');
      const model = run.modelId ? store.getModel(run.modelId)?.folder : undefined;
      const r = await compute.call('reftProjections', { dir: dirname(manifest.path), examples: task.examples.slice(0, limit), directions, ...(model && { model }) });
      return { runId, task: task.name, split, ...r };
    },
  };
}

