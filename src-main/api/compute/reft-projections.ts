/**
 * The ReFT view's scatter: a task's representations at the intervened site
 * projected onto two learned directions of a run's export, each example
 * labelled by its answer. Runs in the compute process.
 */
import { SubspaceError } from '../../engine/errors.js';
import type { LoadedModel } from '../../engine/io/model-folder.js';
import { learnedDirections, projectExamples } from '../../engine/methods/directions.js';
import { loadReft } from '../../engine/methods/reft-artifact.js';
import type { TaskExample } from '../../engine/tasks/schema.js';

export interface ProjectionsOut {
  directions: { index: number; label: string; layer: number }[];
  points: { id: string; label: string; x: number; y: number }[];
}

export function reftProjections(m: LoadedModel, dir: string, examples: TaskExample[], picks: number[]): ProjectionsOut {
  if (!m.tokenizer) throw new SubspaceError('NOT_FOUND', `${m.folder}: no tokenizer.json; projections need one`, 'runId');
  const r = loadReft(dir, m.spec);
  try {
    const all = learnedDirections(r.placed);
    const chosen = picks.map((i, k) => {
      if (!Number.isInteger(i) || i < 0 || i >= all.length) throw new SubspaceError('BAD_ARGUMENT', `directions.${k}: the run has directions 0-${all.length - 1} (got ${i})`, `directions.${k}`);
      return all[i];
    });
    const [a, b] = chosen;
    // Each direction reads the representation at its own layer (they differ when the run edits several layers).
    const coords =
      a.layer === b.layer
        ? projectExamples(m.model, m.tokenizer, r.config, examples, [a, b], a.layer).map((p) => p.coords)
        : (() => {
            const pa = projectExamples(m.model, m.tokenizer!, r.config, examples, [a], a.layer);
            const pb = projectExamples(m.model, m.tokenizer!, r.config, examples, [b], b.layer);
            return pa.map((p, i) => [p.coords[0], pb[i].coords[0]]);
          })();
    return {
      directions: chosen.map((d, k) => ({ index: picks[k], label: d.label, layer: d.layer })),
      points: examples.map((e, i) => ({ id: e.id, label: e.completion.trim(), x: coords[i][0], y: coords[i][1] })),
    };
  } finally {
    r.placed.forEach((p) => p.intervention.dispose());
  }
}
