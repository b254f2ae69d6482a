/**
 * Ground truth for head localisation: the exact effect of mean-ablating each attention head on the
 * task's metric, and measures of how well a selection (LoFIT's top K, ITI's top K) agrees with it.
 *
 * Mean ablation replaces one head's output z_{l,h} (before the output projection) at every position
 * with its mean over every real token position of the dataset's prompt ⧺ answer sequences (so the
 * head still adds its average contribution, only the input-dependent part is removed). The metric is
 * the log-probability difference between the correct completion and the first wrong answer; the
 * effect of a head is base − ablated (positive: the head helps the correct answer). Heads are ranked
 * by |effect|. One forward pass per head and batch, resumed from the residual entering the head's
 * layer (cached once), since nothing before that layer changes.
 */
import * as tf from '../tf.js';
import { SubspaceError } from '../errors.js';
import type { SubspaceTokenizer } from '../io/tokenizer.js';
import type { SiteEdit, Transformer } from '../model/transformer.js';
import type { TaskExample } from '../tasks/schema.js';
import { encodePair } from '../eval/score.js';
import { ProgressClock, type RunHooks } from './progress.js';
import { rankHeads, resolveK, type HeadRef } from './heads.js';

export type AblationMode = 'mean' | 'zero';

export interface AblationMetrics {
  /** Mean of log p(correct) − log p(first wrong). */
  logitDiff: number;
  /** Fraction where greedy decoding produces the correct completion. */
  accuracy: number;
  /** Fraction where the correct completion outscores the first wrong one. */
  preferCorrect: number;
}

export interface HeadAblationResult {
  mode: AblationMode;
  n: number;
  base: AblationMetrics;
  /** [L][H] metrics with that head ablated. */
  ablated: AblationMetrics[][];
  /** [L][H] base.logitDiff − ablated logitDiff. */
  effect: number[][];
  /** Every head by |effect|, largest first. */
  ranked: HeadRef[];
  /** Per layer [H·dh]: the replacement values (the dataset means, or zeros). */
  means: Float32Array[];
}

interface Batch {
  ids: number[][];
  mask: number[][];
  positions: number[][];
  /** Per row: continuation tokens. */
  targets: number[][];
  /** Per row: which example and whether it is the correct completion. */
  rows: { example: number; correct: boolean }[];
}

function buildBatches(tok: SubspaceTokenizer, examples: TaskExample[], pad: number, batchSize: number): Batch[] {
  const pairs: { prompt: number[]; continuation: number[]; example: number; correct: boolean }[] = [];
  examples.forEach((ex, i) => {
    if (!ex.completion || ex.wrong.length === 0) throw new SubspaceError('BAD_ARGUMENT', `example ${ex.id} needs a completion and a wrong answer to measure head effects`, 'task');
    pairs.push({ ...encodePair(tok, ex.prompt, ex.completion), example: i, correct: true });
    pairs.push({ ...encodePair(tok, ex.prompt, ex.wrong[0]), example: i, correct: false });
  });
  const out: Batch[] = [];
  for (let s = 0; s < pairs.length; s += batchSize) {
    const chunk = pairs.slice(s, s + batchSize);
    const seqs = chunk.map((p) => [...p.prompt, ...p.continuation]);
    const T = Math.max(...seqs.map((q) => q.length));
    const P = Math.max(...chunk.map((p) => p.continuation.length));
    out.push({
      ids: seqs.map((q) => [...q, ...new Array(T - q.length).fill(pad)]),
      mask: seqs.map((q) => [...q.map(() => 1), ...new Array(T - q.length).fill(0)]),
      positions: chunk.map((p) => Array.from({ length: P }, (_, k) => (k < p.continuation.length ? p.prompt.length - 1 + k : -1))),
      targets: chunk.map((p) => p.continuation),
      rows: chunk.map((p) => ({ example: p.example, correct: p.correct })),
    });
  }
  return out;
}

/** Per row: summed log-probability of its continuation and whether each token is the argmax. */
function scoreRows(logits: tf.Tensor, b: Batch): { logprob: number; greedy: boolean }[] {
  const lp = tf.tidy(() => tf.logSoftmax(logits));
  const data = lp.dataSync() as Float32Array;
  lp.dispose();
  const [, P, V] = logits.shape as number[];
  return b.targets.map((cont, r) => {
    let sum = 0;
    let greedy = true;
    cont.forEach((t, k) => {
      const row = data.subarray((r * P + k) * V, (r * P + k + 1) * V);
      sum += row[t];
      for (let v = 0; v < V && greedy; v++) if (row[v] > row[t]) greedy = false;
    });
    return { logprob: sum, greedy };
  });
}

function summarise(n: number, scored: { example: number; correct: boolean; logprob: number; greedy: boolean }[]): AblationMetrics {
  const c = new Float64Array(n);
  const w = new Float64Array(n);
  const g = new Uint8Array(n);
  for (const s of scored) {
    if (s.correct) {
      c[s.example] = s.logprob;
      g[s.example] = s.greedy ? 1 : 0;
    } else w[s.example] = s.logprob;
  }
  let ld = 0;
  let acc = 0;
  let pref = 0;
  for (let i = 0; i < n; i++) {
    ld += c[i] - w[i];
    acc += g[i];
    pref += c[i] > w[i] ? 1 : 0;
  }
  return { logitDiff: ld / n, accuracy: acc / n, preferCorrect: pref / n };
}

/** Each head's mean output over every real token position of the batches: per layer [H·dh]. */
function headMeansOf(model: Transformer, batches: Batch[]): Float32Array[] {
  const { nLayers: L, nHeads: H, dHead: dh } = model.spec;
  const sums = Array.from({ length: L }, () => new Float64Array(H * dh));
  let count = 0;
  for (const b of batches) {
    const reads = Array.from({ length: L }, (_, l) => ({ site: 'head_output' as const, layer: l }));
    const res = model.forward({ inputIds: b.ids, attentionMask: b.mask }, { read: reads, logits: 'none' });
    const m = tf.tensor(b.mask.flat(), [b.mask.length, b.mask[0].length, 1, 1]);
    for (let l = 0; l < L; l++) {
      const s = tf.tidy(() => tf.sum(tf.mul(res.sites[`head_output:${l}`], m), [0, 1]));
      const data = s.dataSync();
      s.dispose();
      for (let j = 0; j < H * dh; j++) sums[l][j] += data[j];
    }
    count += b.mask.flat().reduce((a, v) => a + v, 0);
    tf.dispose([m, ...Object.values(res.sites)]);
  }
  return sums.map((s) => Float32Array.from(s, (x) => x / count));
}

/** Each head's mean output over every real token position of prompt ⧺ completion and prompt ⧺ first wrong answer: per layer [H·dh]. */
export function headMeans(model: Transformer, tok: SubspaceTokenizer, examples: TaskExample[], batchSize = 32): Float32Array[] {
  const pad = model.spec.padTokenId ?? model.spec.eosTokenIds[0] ?? 0;
  return headMeansOf(model, buildBatches(tok, examples, pad, batchSize));
}

/** The edit replacing head h of layer l with a fixed vector (width dh) at every position. */
export function replaceHeadEdit(layer: number, head: number, value: ArrayLike<number>): SiteEdit {
  const v = Float32Array.from(value);
  return { site: 'head_output', layer, head, apply: (z: tf.Tensor) => tf.add(tf.mul(z, 0), tf.tensor1d(v)) };
}

export function ablateHeads(model: Transformer, tok: SubspaceTokenizer, examples: TaskExample[], opts: { mode?: AblationMode; batchSize?: number; means?: Float32Array[] } = {}, hooks: RunHooks = {}): HeadAblationResult {
  const mode = opts.mode ?? 'mean';
  if (mode !== 'mean' && mode !== 'zero') throw new SubspaceError('BAD_ARGUMENT', `unknown ablation '${String(mode)}' (known: mean, zero)`, 'mode');
  if (examples.length === 0) throw new SubspaceError('BAD_ARGUMENT', 'no examples to measure head effects on', 'examples');
  const bs = opts.batchSize ?? 32;
  if (!Number.isInteger(bs) || bs < 1) throw new SubspaceError('BAD_ARGUMENT', `batch size must be a whole number ≥ 1 (got ${bs})`, 'batchSize');
  const spec = model.spec;
  const { nLayers: L, nHeads: H, dHead: dh } = spec;
  const pad = spec.padTokenId ?? spec.eosTokenIds[0] ?? 0;
  const batches = buildBatches(tok, examples, pad, bs);
  const means = opts.means ?? (mode === 'mean' ? headMeansOf(model, batches) : Array.from({ length: L }, () => new Float32Array(H * dh)));
  const n = examples.length;
  const baseScored: Parameters<typeof summarise>[1] = [];
  const perHead: Parameters<typeof summarise>[1][][] = Array.from({ length: L }, () => Array.from({ length: H }, () => []));
  const clock = new ProgressClock(hooks, 'head-ablation', batches.length * L * H);
  let done = 0;
  for (const b of batches) {
    const reads = Array.from({ length: L }, (_, l) => ({ site: 'block_input' as const, layer: l }));
    const base = model.forward({ inputIds: b.ids, attentionMask: b.mask }, { read: reads, logits: { positions: b.positions } });
    try {
      scoreRows(base.logits!, b).forEach((s, r) => baseScored.push({ ...b.rows[r], ...s }));
      for (let l = 0; l < L; l++) {
        for (let h = 0; h < H; h++) {
          const edit = replaceHeadEdit(l, h, means[l].subarray(h * dh, (h + 1) * dh));
          const r = model.forward({ inputIds: b.ids, attentionMask: b.mask }, { start: { layer: l, residual: base.sites[`block_input:${l}`] }, edits: [edit], logits: { positions: b.positions } });
          scoreRows(r.logits!, b).forEach((s, i) => perHead[l][h].push({ ...b.rows[i], ...s }));
          tf.dispose([r.logits!, ...Object.values(r.sites)]);
          clock.tick(++done);
        }
      }
    } finally {
      tf.dispose([base.logits!, ...Object.values(base.sites)]);
    }
  }
  const baseM = summarise(n, baseScored);
  const ablated = perHead.map((row) => row.map((s) => summarise(n, s)));
  const effect = ablated.map((row) => row.map((m) => baseM.logitDiff - m.logitDiff));
  return { mode, n, base: baseM, ablated, effect, ranked: rankHeads(effect.map((row) => row.map(Math.abs))), means };
}

// ---- agreement between rankings ----------------------------------------------------------------

const key = (r: HeadRef) => `${r[0]}.${r[1]}`;

/** log C(n, k). */
function logChoose(n: number, k: number): number {
  if (k < 0 || k > n) return -Infinity;
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

export interface TopKAgreement {
  k: number;
  shared: HeadRef[];
  /** |A_K ∩ B_K|. */
  overlap: number;
  /** overlap / K. */
  fraction: number;
  jaccard: number;
  /** Expected overlap of two independent random K-subsets of N heads: K²/N. */
  expected: number;
  /** P(overlap ≥ observed) for a random K-subset (hypergeometric): small means better than chance. */
  pValue: number;
}

/** How the top K of two rankings agree, against what two random selections of K heads would share. */
export function topKAgreement(a: HeadRef[], b: HeadRef[], k: number, totalHeads: number): TopKAgreement {
  if (!Number.isInteger(totalHeads) || totalHeads < 1) throw new SubspaceError('BAD_ARGUMENT', `total heads must be a whole number ≥ 1 (got ${totalHeads})`, 'totalHeads');
  if (!Number.isInteger(k) || k < 1 || k > totalHeads) throw new SubspaceError('BAD_ARGUMENT', `k = ${k} must be a whole number of heads from 1 to ${totalHeads}`, 'k');
  if (a.length < k || b.length < k) throw new SubspaceError('BAD_ARGUMENT', `both rankings need at least k = ${k} heads (got ${a.length} and ${b.length})`, 'k');
  const A = a.slice(0, k);
  const inB = new Set(b.slice(0, k).map(key));
  const shared = A.filter((r) => inB.has(key(r)));
  const overlap = shared.length;
  const N = totalHeads;
  let p = 0;
  for (let x = overlap; x <= k; x++) p += Math.exp(logChoose(k, x) + logChoose(N - k, k - x) - logChoose(N, k));
  return { k, shared, overlap, fraction: overlap / k, jaccard: overlap / (2 * k - overlap), expected: (k * k) / N, pValue: Math.min(1, p) };
}

/** Ranks with ties averaged (1 = smallest). */
function averageRanks(x: number[]): number[] {
  const idx = x.map((v, i) => ({ v, i })).sort((p, q) => p.v - q.v);
  const ranks = new Array<number>(x.length);
  for (let s = 0; s < idx.length; ) {
    let e = s;
    while (e + 1 < idx.length && idx[e + 1].v === idx[s].v) e++;
    for (let j = s; j <= e; j++) ranks[idx[j].i] = (s + e) / 2 + 1;
    s = e + 1;
  }
  return ranks;
}

/** Spearman's rank correlation of two equally long score lists (ties get average ranks); NaN when one is constant. */
export function spearman(x: number[], y: number[]): number {
  if (x.length !== y.length) throw new SubspaceError('SHAPE_MISMATCH', `score lists differ in length (${x.length} and ${y.length})`, 'scores');
  if (x.length < 2) throw new SubspaceError('BAD_ARGUMENT', 'a rank correlation needs at least 2 scores', 'scores');
  const rx = averageRanks(x);
  const ry = averageRanks(y);
  const mx = rx.reduce((a, v) => a + v, 0) / rx.length;
  const my = ry.reduce((a, v) => a + v, 0) / ry.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < rx.length; i++) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) ** 2;
    syy += (ry[i] - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy);
}

export interface GroundTruthAgreement {
  k: number;
  /** Spearman correlation between the method's [L][H] scores and the heads' |effect|. */
  spearman: number;
  topK: TopKAgreement;
}

/** A method's head scores against the ablation ranking: rank correlation over all heads and top-K overlap. */
export function agreementWithAblation(scores: number[][], ranked: HeadRef[], ablation: HeadAblationResult, k: number): GroundTruthAgreement {
  const L = ablation.effect.length;
  const H = ablation.effect[0]?.length ?? 0;
  const kk = resolveK(k, { nLayers: L, nHeads: H });
  return {
    k: kk,
    spearman: spearman(scores.flat(), ablation.effect.flat().map(Math.abs)),
    topK: topKAgreement(ranked, ablation.ranked, kk, L * H),
  };
}
