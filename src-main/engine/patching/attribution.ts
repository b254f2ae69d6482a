/**
 * Attribution patching: a first-order estimate of every patch of a sweep from
 * two forwards and one backward. With m the metric of the run that is patched
 * (corrupt for denoising, clean for noising) and a a site's activation there,
 * patching in the other run's activation a' changes m by about
 *   Σ_positions (a' − a) · ∂m/∂a.
 * Good for head outputs; poor where the patch moves a layer norm a lot (the
 * residual stream). Screen with it, confirm with the exact sweep.
 */
import * as tf from '../tf.js';
import { siteKey, type SiteRef } from '../model/sites.js';
import type { SiteEdit, Transformer } from '../model/transformer.js';
import type { Cell } from './grid.js';
import { runScores } from './interchange.js';
import type { AnswerReadout, RowScore } from './metrics.js';
import type { PaddedBatch } from './pairs.js';

export interface AttributionOut {
  /** Per cell, the estimated change of the mean logit difference (or mean p(target)). */
  deltas: number[];
  baseRows: RowScore[];
  sourceRows: RowScore[];
}

export function attributionValues(
  model: Transformer,
  base: PaddedBatch,
  source: PaddedBatch,
  cells: readonly Cell[],
  readout: AnswerReadout,
  objective: 'logit-diff' | 'prob',
): AttributionOut {
  const N = base.lengths.length;
  const full = objective === 'prob';
  const reads = new Map<string, SiteRef>();
  for (const c of cells) reads.set(siteKey({ site: c.site, layer: c.layer }), { site: c.site, layer: c.layer });
  const keys = [...reads.keys()];

  // Forward 1: the source run's activations.
  const src = runScores(model, source, readout, full, [...reads.values()]);
  const srcData = new Map(keys.map((k) => [k, src.sites[k].dataSync() as Float32Array]));
  const srcShape = new Map(keys.map((k) => [k, src.sites[k].shape]));
  tf.dispose(Object.values(src.sites));

  // Forward 2 and the backward: zero probes added at every site give ∂m/∂a there.
  const shapeOf = (k: string) => [N, base.T, ...srcShape.get(k)!.slice(2)];
  const probes = keys.map((k) => tf.zeros(shapeOf(k)));
  const kept: { acts: Record<string, tf.Tensor>; picked?: tf.Tensor; lse?: tf.Tensor } = { acts: {} };
  const rows = base.lengths.map((_, b) => b);
  const answerPos = base.lengths.map((l) => l - 1);
  const f = (...ps: tf.Tensor[]): tf.Scalar => {
    const edits: SiteEdit[] = keys.map((k, i) => ({ ...reads.get(k)!, apply: (v: tf.Tensor) => tf.add(v, ps[i]) }));
    const out = model.forward({ inputIds: base.ids, attentionMask: base.mask }, { edits, read: [...reads.values()], stopBefore: model.spec.nLayers });
    for (const k of keys) kept.acts[k] = tf.keep(out.sites[k]);
    const { picked, lse } = readout.logits(out.residual!, answerPos, rows, full);
    kept.picked = tf.keep(picked);
    if (lse) kept.lse = tf.keep(lse);
    if (objective === 'prob') {
      const target = tf.squeeze(tf.slice(picked, [0, 2], [-1, 1]), [1]);
      return tf.mean(tf.exp(tf.sub(target, lse!))) as tf.Scalar;
    }
    const correct = tf.slice(picked, [0, 0], [-1, 1]);
    const wrong = tf.slice(picked, [0, 1], [-1, 1]);
    return tf.mean(tf.sub(correct, wrong)) as tf.Scalar;
  };
  let grads: tf.Tensor[] = [];
  let value: tf.Scalar | undefined;
  try {
    const r = tf.valueAndGrads(f)(probes);
    grads = r.grads;
    value = r.value;
    const baseRows = readout.scores(kept.picked!.dataSync(), kept.lse?.dataSync(), N);
    const gradData = new Map(keys.map((k, i) => [k, grads[i].dataSync() as Float32Array]));
    const baseData = new Map(keys.map((k) => [k, kept.acts[k].dataSync() as Float32Array]));

    const deltas = cells.map((c) => {
      const k = siteKey({ site: c.site, layer: c.layer });
      const shape = shapeOf(k);
      const s = srcData.get(k)!;
      const a = baseData.get(k)!;
      const g = gradData.get(k)!;
      // Per position: H·dh for all heads, one head's dh slice, else the width.
      const perPos = shape.slice(2).reduce((x, y) => x * y, 1);
      const [from, len] = c.head !== undefined ? [c.head * shape[3], shape[3]] : [0, perPos];
      let sum = 0;
      for (let b = 0; b < N; b++) {
        c.base[b].forEach((p, j) => {
          if (p < 0) return;
          const sp = c.source[b][j];
          const ob = (b * base.T + p) * perPos + from;
          const os = (b * source.T + sp) * perPos + from;
          for (let i = 0; i < len; i++) sum += (s[os + i] - a[ob + i]) * g[ob + i];
        });
      }
      return sum;
    });
    return { deltas, baseRows, sourceRows: src.scores };
  } finally {
    tf.dispose([...probes, ...grads, ...Object.values(kept.acts), kept.picked, kept.lse, value]);
  }
}
