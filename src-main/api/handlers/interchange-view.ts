/**
 * Handlers of the Interchange view: a patching sweep's or DAS run's result read
 * back from its JSON artifact, and one interchange (clean / corrupt / patched
 * distributions) computed in the compute process.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { ApiContext } from '../context.js';
import { ApiFailure, type Handlers } from '../dispatch.js';

const RESULT_KINDS = ['patch', 'das-search', 'das'] as const;

export function interchangeViewHandlers(ctx: ApiContext): Pick<Handlers, 'interchange.result' | 'interchange.cell'> {
  const { store, compute } = ctx;
  return {
    'interchange.result': ({ runId }) => {
      const run = store.getRun(runId);
      if (!run) throw new ApiFailure('NOT_FOUND', `interchange.result: runId: no run with id "${runId}"`, 'runId');
      const arts = store.listArtifacts(runId);
      const found = RESULT_KINDS.map((k) => arts.find((a) => a.kind === k && a.path.endsWith('.json'))).find((a) => a !== undefined);
      if (!found) throw new ApiFailure('NOT_FOUND', `interchange.result: runId: run "${runId}" (${run.kind}, ${run.status}) has no recorded sweep or DAS result`, 'runId');
      if (!existsSync(found.path)) throw new ApiFailure('NOT_FOUND', `interchange.result: runId: the result of run "${runId}" is gone from ${found.path}`, 'runId');
      let result: Record<string, unknown>;
      try {
        result = JSON.parse(readFileSync(found.path, 'utf8')) as Record<string, unknown>;
      } catch (e) {
        throw new ApiFailure('BAD_FILE', `interchange.result: runId: ${found.path} is not valid JSON (${(e as Error).message})`, 'runId');
      }
      return { runId, artifact: found.kind as (typeof RESULT_KINDS)[number], result };
    },
    'interchange.cell': (req) => compute.call('interchangeCell', req),
  };
}
