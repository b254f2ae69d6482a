/**
 * Handlers of the Interchange view: a patching sweep's or DAS run's result read
 * back from its JSON artifact, and one interchange (clean / corrupt / patched
 * distributions) computed in the compute process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { ApiContext } from '../context.js';
import { ApiFailure, type Handlers } from '../dispatch.js';

const RESULT_KINDS = ['patch', 'das-search', 'das'] as const;
type ResultKind = (typeof RESULT_KINDS)[number];

type Doc = Record<string, unknown>;
const obj = (v: unknown): Doc => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Doc) : {});

/**
 * A single-site DAS run keeps its result in its export's manifest (site entry, config, and the
 * test IIA under metrics); the view reads it in the shape of the engine's DasSummary.
 */
export function dasSummaryFromManifest(manifest: Doc): Doc {
  const site = obj((manifest.sites as unknown[] | undefined)?.[0]);
  const metrics = obj(manifest.metrics);
  const config = obj(manifest.config);
  return {
    method: 'das',
    model: obj(manifest.model).name,
    task: metrics.task,
    variable: site.variable ?? config.variable,
    variant: site.variant ?? config.variant,
    pyveneClass: site.pyveneClass,
    dim: site.dim ?? config.dim,
    site: { layer: site.layer, component: site.component, position: site.position, width: site.width, ...(site.head !== undefined && { head: site.head }) },
    parameters: metrics.parameters,
    test: metrics.test,
    loss: metrics.loss,
    ...(metrics.boundary !== undefined && { boundary: metrics.boundary }),
    config,
  };
}

export function interchangeViewHandlers(ctx: ApiContext): Pick<Handlers, 'interchange.result' | 'interchange.cell'> {
  const { store, compute } = ctx;
  return {
    'interchange.result': ({ runId }) => {
      const run = store.getRun(runId);
      if (!run) throw new ApiFailure('NOT_FOUND', `interchange.result: runId: no run with id "${runId}"`, 'runId');
      const arts = store.listArtifacts(runId);
      // A DAS export holds manifest.json and the weights; the manifest is the result.
      const isResult = (a: { kind: string; path: string }, k: ResultKind) => a.kind === k && (k === 'das' ? basename(a.path) === 'manifest.json' : a.path.endsWith('.json'));
      const found = RESULT_KINDS.map((k) => arts.find((a) => isResult(a, k))).find((a) => a !== undefined);
      if (!found) throw new ApiFailure('NOT_FOUND', `interchange.result: runId: run "${runId}" (${run.kind}, ${run.status}) has no recorded sweep or DAS result`, 'runId');
      if (!existsSync(found.path)) throw new ApiFailure('NOT_FOUND', `interchange.result: runId: the result of run "${runId}" is gone from ${found.path}`, 'runId');
      let doc: Doc;
      try {
        doc = JSON.parse(readFileSync(found.path, 'utf8')) as Doc;
      } catch (e) {
        throw new ApiFailure('BAD_FILE', `interchange.result: runId: ${found.path} is not valid JSON (${(e as Error).message})`, 'runId');
      }
      const artifact = found.kind as ResultKind;
      return { runId, artifact, result: artifact === 'das' ? dasSummaryFromManifest(doc) : doc };
    },
    'interchange.cell': (req) => compute.call('interchangeCell', req),
  };
}
