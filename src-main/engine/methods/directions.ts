import * as tf from '../tf.js';
import type { SubspaceTokenizer } from '../io/tokenizer.js';
import type { Transformer } from '../model/transformer.js';
import { norm } from '../model/ops.js';
import type { TaskExample } from '../tasks/schema.js';
import { SubspaceError } from '../errors.js';
import { resolveComponent, type PlacedIntervention, type ReftConfig } from './reft.js';

/** A learned direction in the site's space, with where it came from. */
export interface Direction {
  /** e.g. "layer_2_comp_block_output_group_0/rotate_layer[1]". */
  label: string;
  layer: number;
  kind: 'R' | 'W';
  index: number;
  vector: Float32Array;
}

/** The rows of R (rotate_layer's columns) and of W, for every placed intervention. */
export function learnedDirections(placed: PlacedIntervention[]): Direction[] {
  const out: Direction[] = [];
  for (const p of placed) {
    const st = p.intervention.state();
    const R = st.rotate_layer;
    if (R) {
      const [d, r] = R.shape;
      for (let j = 0; j < r; j++) out.push({ label: `${p.key}/R[${j}]`, layer: p.layer, kind: 'R', index: j, vector: Float32Array.from({ length: d }, (_, i) => R.data[i * r + j]) });
    }
    const W = st.weight;
    if (W && W.shape.length === 2) {
      const [r, d] = W.shape;
      for (let j = 0; j < r; j++) out.push({ label: `${p.key}/W[${j}]`, layer: p.layer, kind: 'W', index: j, vector: W.data.slice(j * d, (j + 1) * d) });
    }
  }
  return out;
}

export interface TokenScore {
  id: number;
  token: string;
  score: number;
}

/**
 * Top and bottom tokens of each direction through the final norm and the
 * unembedding (a logit lens on the direction). Head and MLP-neuron directions
 * are first mapped into the residual stream by their output projection.
 */
export function directionTokens(model: Transformer, tok: SubspaceTokenizer, cfg: ReftConfig, dirs: Direction[], k = 10): { label: string; top: TokenScore[]; bottom: TokenScore[] }[] {
  const spec = model.spec;
  const site = resolveComponent(spec, cfg.component);
  return dirs.map((dir) => {
    const scores = tf.tidy(() => {
      let v: tf.Tensor = tf.tensor2d(dir.vector, [1, dir.vector.length]);
      const layer = model.weights.layers[dir.layer];
      if (site.site === 'head_output') v = tf.matMul(v, tf.slice(layer.wo, [site.head! * spec.dHead, 0], [spec.dHead, -1]));
      else if (site.site === 'mlp_hidden') v = tf.matMul(v, layer.wOut);
      else if (v.shape[1] !== spec.dModel) throw new SubspaceError('UNSUPPORTED', `directions at ${cfg.component} cannot be read through the unembedding`, 'component');
      const n = norm(v, model.weights.lnf, spec.norm, spec.normEps);
      return tf.matMul(n, model.weights.unembed).dataSync() as Float32Array;
    });
    const order = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a]);
    const pick = (ids: number[]) => ids.map((id) => ({ id, token: tok.tokenStrings([id])[0] ?? String(id), score: scores[id] }));
    return { label: dir.label, top: pick(order.slice(0, k)), bottom: pick(order.slice(-k).reverse()) };
  });
}

/** Cosine similarity matrix between two lists of directions of equal width. */
export function cosineMatrix(a: Direction[], b: Direction[]): number[][] {
  const unit = (v: Float32Array) => {
    const n = Math.hypot(...v) || 1;
    return Array.from(v, (x) => x / n);
  };
  const ua = a.map((d) => unit(d.vector));
  const ub = b.map((d) => unit(d.vector));
  return ua.map((x) =>
    ub.map((y) => {
      if (x.length !== y.length) throw new SubspaceError('SHAPE_MISMATCH', `directions of width ${x.length} and ${y.length} cannot be compared`, 'directions');
      return x.reduce((s, xi, i) => s + xi * y[i], 0);
    }),
  );
}

/**
 * The task's representations at the intervened site (last prompt token, before
 * the edit) projected onto chosen directions, with each example's label, for scatter plots.
 */
export function projectExamples(model: Transformer, tok: SubspaceTokenizer, cfg: ReftConfig, examples: TaskExample[], dirs: Direction[], layer: number): { id: string; label: string; coords: number[] }[] {
  const site = resolveComponent(model.spec, cfg.component);
  const out: { id: string; label: string; coords: number[] }[] = [];
  for (let i = 0; i < examples.length; i += 32) {
    const chunk = examples.slice(i, i + 32);
    const ids = chunk.map((e) => tok.encode(e.prompt));
    const T = Math.max(...ids.map((r) => r.length));
    const pad = model.spec.padTokenId ?? 0;
    const padded = ids.map((r) => [...r, ...new Array(T - r.length).fill(pad)]);
    const mask = ids.map((r) => [...r.map(() => 1), ...new Array(T - r.length).fill(0)]);
    const ref = { site: site.site, layer, head: site.head };
    const r = model.forward({ inputIds: padded, attentionMask: mask }, { read: [ref], logits: 'none' });
    const key = site.head === undefined ? `${site.site}:${layer}` : `${site.site}:${layer}.${site.head}`;
    const vals = r.sites[key];
    const data = vals.dataSync() as Float32Array;
    const W = vals.shape[vals.shape.length - 1];
    tf.dispose(Object.values(r.sites));
    chunk.forEach((e, b) => {
      const t = ids[b].length - 1;
      const h = data.subarray((b * T + t) * W, (b * T + t + 1) * W);
      out.push({ id: e.id, label: e.completion.trim(), coords: dirs.map((d) => d.vector.reduce((s, x, j) => s + x * h[j], 0)) });
    });
  }
  return out;
}

