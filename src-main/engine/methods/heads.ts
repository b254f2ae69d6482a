/**
 * Attention-head lists shared by the head-level methods (LoFIT, ITI): how many heads to keep
 * (a count or a percentage of all heads), ranking a [layer][head] score matrix, checking a head
 * list against a model, and comparing two selections.
 */
import { SubspaceError } from '../errors.js';
import type { ModelSpec } from '../model/config.js';
import { seededRandom } from '../random.js';

/** One attention head: `[layer, head]`, the row layout of LoFIT's saved `.npy` head lists. */
export type HeadRef = [layer: number, head: number];

/** How many heads to keep: a count, or a percentage of all `layers × heads` heads. */
export type KSpec = number | { percent: number };

type HeadShape = Pick<ModelSpec, 'nLayers' | 'nHeads'>;

export function totalHeads(spec: HeadShape): number {
  return spec.nLayers * spec.nHeads;
}

/**
 * The number of heads K means for this model. A percentage rounds to the nearest whole head and
 * keeps at least one (3% of Llama-2-7B's 1,024 heads → 31; LoFIT's paper uses 32).
 */
export function resolveK(k: KSpec, spec: HeadShape, what = 'k'): number {
  const total = totalHeads(spec);
  if (typeof k === 'number') {
    if (!Number.isInteger(k) || k < 1 || k > total) {
      throw new SubspaceError('BAD_ARGUMENT', `${what} = ${k} must be a whole number of heads from 1 to ${total} (the model has ${spec.nLayers} layers × ${spec.nHeads} heads)`, what);
    }
    return k;
  }
  if (k === null || typeof k !== 'object' || typeof k.percent !== 'number') {
    throw new SubspaceError('BAD_ARGUMENT', `${what} must be a number of heads or { percent }`, what);
  }
  const p = k.percent;
  if (!Number.isFinite(p) || p <= 0 || p > 100) {
    throw new SubspaceError('BAD_ARGUMENT', `${what} = ${p}% must be a percentage in (0, 100]`, what);
  }
  return Math.min(total, Math.max(1, Math.round((total * p) / 100)));
}

/** Checks that a score matrix is [nLayers][nHeads] of numbers. */
export function validateScores(scores: number[][], spec: HeadShape, what = 'scores'): void {
  if (!Array.isArray(scores) || scores.length !== spec.nLayers || scores.some((row) => !Array.isArray(row) || row.length !== spec.nHeads)) {
    const shape = Array.isArray(scores) ? `[${scores.length}][${Array.isArray(scores[0]) ? scores[0].length : '?'}]` : typeof scores;
    throw new SubspaceError('SHAPE_MISMATCH', `${what} must be a [${spec.nLayers}][${spec.nHeads}] matrix (layers × heads), got ${shape}`, what);
  }
}

/**
 * Every head, best (highest score) first. Ties keep the lower layer, then the lower head, first;
 * NaN scores rank last.
 */
export function rankHeads(scores: number[][]): HeadRef[] {
  const all: { ref: HeadRef; s: number }[] = [];
  scores.forEach((row, l) => row.forEach((s, h) => all.push({ ref: [l, h], s: Number.isNaN(s) ? -Infinity : s })));
  // Array.prototype.sort is stable, so equal scores stay in (layer, head) order.
  all.sort((a, b) => (b.s === a.s ? 0 : b.s > a.s ? 1 : -1));
  return all.map((x) => x.ref);
}

/** The top `k` heads of a [layer][head] score matrix, best first. */
export function topK(scores: number[][], k: KSpec): HeadRef[] {
  const spec = { nLayers: scores.length, nHeads: scores[0]?.length ?? 0 };
  validateScores(scores, spec);
  return rankHeads(scores).slice(0, resolveK(k, spec));
}

/** Throws naming the problem unless `heads` is a non-empty list of distinct, in-range heads of the model. */
export function validateHeads(heads: HeadRef[], spec: HeadShape, what = 'heads'): void {
  if (!Array.isArray(heads) || heads.length === 0) throw new SubspaceError('BAD_ARGUMENT', `no ${what} given: pass at least one [layer, head]`, what);
  const seen = new Set<string>();
  for (const ref of heads) {
    if (!Array.isArray(ref) || ref.length !== 2) throw new SubspaceError('BAD_ARGUMENT', `each entry of ${what} must be [layer, head], got ${JSON.stringify(ref)}`, what);
    const [l, h] = ref;
    if (!Number.isInteger(l) || l < 0 || l >= spec.nLayers) {
      throw new SubspaceError('BAD_ARGUMENT', `${what}: layer ${l} of [${l}, ${h}] is out of range: the model has layers 0..${spec.nLayers - 1} (was the list made for another model?)`, what);
    }
    if (!Number.isInteger(h) || h < 0 || h >= spec.nHeads) {
      throw new SubspaceError('BAD_ARGUMENT', `${what}: head ${h} of [${l}, ${h}] is out of range: the model has heads 0..${spec.nHeads - 1} (was the list made for another model?)`, what);
    }
    const key = `${l}.${h}`;
    if (seen.has(key)) throw new SubspaceError('BAD_ARGUMENT', `${what}: [${l}, ${h}] is listed twice`, what);
    seen.add(key);
  }
}

export interface HeadOverlap {
  shared: HeadRef[];
  onlyA: HeadRef[];
  onlyB: HeadRef[];
  /** |A ∩ B| / |A ∪ B| (1 for two empty lists). */
  jaccard: number;
}

/** How two head selections overlap (e.g. LoFIT's against ITI's); order follows `a`, then `b`. */
export function headOverlap(a: HeadRef[], b: HeadRef[]): HeadOverlap {
  const key = (r: HeadRef) => `${r[0]}.${r[1]}`;
  const inA = new Set(a.map(key));
  const inB = new Set(b.map(key));
  const shared = a.filter((r) => inB.has(key(r)));
  const onlyA = a.filter((r) => !inB.has(key(r)));
  const onlyB = b.filter((r) => !inA.has(key(r)));
  const union = new Set([...inA, ...inB]).size;
  return { shared, onlyA, onlyB, jaccard: union === 0 ? 1 : new Set(shared.map(key)).size / union };
}

/** Groups a head list by layer (layers ascending, heads in list order). */
export function headsByLayer(heads: HeadRef[]): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const [l, h] of [...heads].sort((x, y) => x[0] - y[0])) {
    const list = out.get(l) ?? [];
    list.push(h);
    out.set(l, list);
  }
  return out;
}

/** `n` seeded draws from N(0, std²) (Box–Muller over the engine's mulberry32), identical on every backend. */
export function gaussianArray(n: number, std: number, seed: number): Float32Array {
  const u = seededRandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    let u1 = u();
    while (u1 <= 0) u1 = u();
    const r = Math.sqrt(-2 * Math.log(u1));
    const a = 2 * Math.PI * u();
    out[i] = std * r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = std * r * Math.sin(a);
  }
  return out;
}
