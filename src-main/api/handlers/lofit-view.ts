/**
 * Handlers of the LoFIT view: the LoFIT runs that share a model and a task (for accuracy against K
 * and re-runs of step 2), and what an export wrote, so the view can list the files it made.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { ApiContext } from '../context.js';
import { ApiFailure, type Handlers } from '../dispatch.js';

/** At most this many files are listed (an export writes a handful; a wrong folder could hold thousands). */
const MAX_FILES = 500;
/** Runs compared at most (newest first). */
const MAX_SIBLINGS = 200;

function walk(root: string, dir: string, out: { path: string; sizeBytes: number }[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (out.length >= MAX_FILES) return;
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(root, p, out);
    else if (e.isFile()) out.push({ path: relative(root, p), sizeBytes: statSync(p).size });
  }
}

const last = (s: { values: number[] } | undefined): number | null => {
  const v = s?.values.at(-1);
  return v !== undefined && Number.isFinite(v) ? v : null;
};

export function lofitViewHandlers(ctx: ApiContext): Pick<Handlers, 'lofit.listFiles' | 'lofit.siblings'> {
  const { store } = ctx;
  return {
    'lofit.listFiles': ({ dir }) => {
      const abs = resolve(dir);
      if (!existsSync(abs)) throw new ApiFailure('NOT_FOUND', `lofit.listFiles: dir: ${abs} does not exist`, 'dir');
      const st = statSync(abs);
      if (st.isFile()) return { dir: abs, files: [{ path: '.', sizeBytes: st.size }] };
      const files: { path: string; sizeBytes: number }[] = [];
      walk(abs, abs, files);
      return { dir: abs, files };
    },
    'lofit.siblings': ({ runId }) => {
      const run = store.getRun(runId);
      if (!run) throw new ApiFailure('NOT_FOUND', `lofit.siblings: runId: no run with id "${runId}"`, 'runId');
      if (run.kind !== 'lofit') throw new ApiFailure('BAD_ARGUMENT', `lofit.siblings: runId: run "${runId}" is a ${run.kind} run, not a LoFIT run`, 'runId');
      const same = store.listRuns({
        kind: 'lofit',
        ...(run.modelId !== null && { modelId: run.modelId }),
        ...(run.datasetId !== null && { datasetId: run.datasetId }),
        limit: MAX_SIBLINGS,
      });
      return {
        runs: same.map((r) => {
          const full = store.getRun(r.id)!;
          const m = store.getMetrics(r.id, { names: ['test.accuracy', 'test.preferCorrect'] });
          const heads = (store.getHeadSelection(r.id, 'lofit-top-k')?.heads ?? []).map(({ layer, head }) => [layer, head] as [number, number]);
          return {
            runId: r.id,
            name: r.name,
            status: r.status,
            createdAt: r.createdAt,
            given: Array.isArray(full.config.heads),
            heads,
            testAccuracy: last(m['test.accuracy']),
            testPreferCorrect: last(m['test.preferCorrect']),
          };
        }),
      };
    },
  };
}
