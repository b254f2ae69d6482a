import * as tf from '../tf.js';
import { SubspaceError } from '../errors.js';
import type { ModelSpec } from './config.js';
import { activate, applyRope, gatherPositions, linear, norm, ropeInvFreq, ropeTables, scatterAddPositions, selectionMatrix } from './ops.js';
import { siteKey, validateSite, type SiteName, type SiteRef } from './sites.js';
import type { LayerWeights, ModelWeights } from './weights.js';
import { disposeWeights } from './weights.js';

/** Replaces or edits the value at a site. Returning the input unchanged is a no-op. */
export interface SiteEdit extends SiteRef {
  /**
   * Per sequence, the positions to edit; -1 entries are ignored (so ragged lists
   * share one length). Omitted: every position.
   */
  positions?: number[][];
  apply: (value: tf.Tensor, ref: SiteRef) => tf.Tensor;
}

export interface ForwardInput {
  /** Token ids [B, T], already padded to one length. */
  inputIds: number[][];
  /** 1 for a real token, 0 for padding; default all ones. Left and right padding both work. */
  attentionMask?: number[][];
}

export type LogitsRequest = 'all' | 'last' | 'none' | { positions: number[][] };

export interface ForwardOptions {
  read?: SiteRef[];
  edits?: SiteEdit[];
  /** Which logits to compute: unembedding is the largest product, so ask only for what a metric needs. */
  logits?: LogitsRequest;
  /** Extend this cache: the input continues the cached sequences. */
  cache?: KVCache;
  /** With a cache: read it but leave it as it was (frozen-prefix training reuses one cache). */
  cacheReadOnly?: boolean;
  /** Resume from a cached residual entering `layer` (frozen-prefix reuse). */
  start?: { layer: number; residual: tf.Tensor };
  /** Run only the layers before this one; `residual` in the result is the block_input there. */
  stopBefore?: number;
}

export interface ForwardResult {
  /** [B,T,V] for 'all', [B,V] for 'last', [B,P,V] for positions. */
  logits?: tf.Tensor;
  sites: Record<string, tf.Tensor>;
  residual?: tf.Tensor;
}

/** Keys and values of earlier tokens, per layer, for incremental decoding. */
export class KVCache {
  keys: (tf.Tensor4D | null)[];
  values: (tf.Tensor4D | null)[];
  /** The attention mask of every cached position [B, S]. */
  mask: number[][] = [];

  constructor(nLayers: number) {
    this.keys = new Array(nLayers).fill(null);
    this.values = new Array(nLayers).fill(null);
  }

  get length(): number {
    return this.mask[0]?.length ?? 0;
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t?.dispose();
    this.keys.fill(null);
    this.values.fill(null);
    this.mask = [];
  }
}

const NEG = -1e9;

interface Prepared {
  B: number;
  T: number;
  mask: number[][];
  fullMask: number[][];
  positions: number[][];
  past: number;
}

/** Position ids from the mask (cumsum − 1, clamped at 0), so left padding shifts nothing. */
function positionIds(fullMask: number[][], past: number, T: number): number[][] {
  return fullMask.map((row) => {
    const out: number[] = [];
    let c = 0;
    for (let j = 0; j < row.length; j++) {
      c += row[j];
      if (j >= past) out.push(Math.max(c - 1, 0));
    }
    return out.slice(0, T);
  });
}

/** Additive attention bias [B, 1, T, S]: causal and padding. */
function maskBias(p: Prepared): tf.Tensor4D {
  const S = p.past + p.T;
  const data = new Float32Array(p.B * p.T * S);
  for (let b = 0; b < p.B; b++) {
    for (let i = 0; i < p.T; i++) {
      const q = p.past + i;
      const base = (b * p.T + i) * S;
      for (let j = 0; j < S; j++) {
        if (j > q || p.fullMask[b][j] === 0) data[base + j] = NEG;
      }
    }
  }
  return tf.tensor4d(data, [p.B, 1, p.T, S]);
}

export class Transformer {
  readonly spec: ModelSpec;
  readonly weights: ModelWeights;
  private readonly invFreq?: Float64Array;

  constructor(spec: ModelSpec, weights: ModelWeights) {
    this.spec = spec;
    this.weights = weights;
    if (spec.rope) this.invFreq = ropeInvFreq(spec.rope);
  }

  dispose(): void {
    disposeWeights(this.weights);
  }

  /**
   * One forward pass. Reads and edits address sites by name; edits at a site
   * run in the order given, and reads see the edited value. Gradients flow
   * through edits to any tf.Variable they use.
   */
  forward(input: ForwardInput, opts: ForwardOptions = {}): ForwardResult {
    const p = this.prepare(input, opts);
    const edits = opts.edits ?? [];
    const reads = opts.read ?? [];
    for (const r of [...reads, ...edits]) validateSite(r, this.spec);
    const readKeys = new Set(reads.map(siteKey));
    const firstLayer = opts.start?.layer ?? 0;
    const lastLayer = opts.stopBefore ?? this.spec.nLayers;
    if (opts.start && (opts.start.layer < 0 || opts.start.layer > this.spec.nLayers)) {
      throw new SubspaceError('BAD_ARGUMENT', `start layer ${opts.start.layer} is out of range`, 'start');
    }
    for (const e of edits) {
      if (e.layer !== undefined && (e.layer < firstLayer || e.layer >= lastLayer)) {
        throw new SubspaceError('BAD_ARGUMENT', `an edit at ${siteKey(e)} lies outside the layers this forward runs (${firstLayer}..${lastLayer - 1})`, siteKey(e));
      }
      if (e.positions && e.site === 'attention_pattern') {
        throw new SubspaceError('BAD_ARGUMENT', 'edits of attention_pattern apply to every position; positions are not supported there', 'positions');
      }
      if (e.positions && e.positions.length !== p.B) {
        throw new SubspaceError('BAD_ARGUMENT', `edit positions list ${e.positions.length} sequences but the batch has ${p.B}`, 'positions');
      }
    }

    const newKV: { layer: number; k: tf.Tensor4D; v: tf.Tensor4D }[] = [];
    const out = tf.tidy(() => {
      const sites: Record<string, tf.Tensor> = {};
      const selCache = new Map<number[][], tf.Tensor3D>();
      const sel = (positions: number[][]) => {
        let s = selCache.get(positions);
        if (!s) {
          s = selectionMatrix(positions, p.T);
          selCache.set(positions, s);
        }
        return s;
      };
      /** Runs the edits registered for this site, then records it if asked. */
      const at = (site: SiteName, layer: number | undefined, value: tf.Tensor): tf.Tensor => {
        let v = value;
        for (const e of edits) {
          if (e.site !== site || e.layer !== layer) continue;
          v = this.applyEdit(v, e, sel);
        }
        const key = siteKey({ site, layer });
        if (readKeys.has(key)) sites[key] = v;
        if (site === 'head_output' || site === 'attention_pattern') {
          for (const r of reads) {
            if (r.site === site && r.layer === layer && r.head !== undefined) {
              sites[siteKey(r)] = site === 'head_output' ? headSlice(v, 2, r.head) : headSlice(v, 1, r.head);
            }
          }
        }
        return v;
      };

      let x: tf.Tensor;
      if (opts.start) {
        x = opts.start.residual;
        if (x.shape[0] !== p.B || x.shape[1] !== p.T || x.shape[2] !== this.spec.dModel) {
          throw new SubspaceError('SHAPE_MISMATCH', `start residual has shape [${x.shape.join(', ')}], expected [${p.B}, ${p.T}, ${this.spec.dModel}]`, 'start');
        }
      } else {
        x = at('embeddings', undefined, this.embed(input.inputIds, p));
      }
      const bias = maskBias(p);
      const rope = this.invFreq ? ropeTables(this.invFreq, p.positions) : undefined;
      for (let l = firstLayer; l < lastLayer; l++) {
        x = at('block_input', l, x);
        const w = this.weights.layers[l];
        const h = at('attention_input', l, norm(x, w.ln1, this.spec.norm, this.spec.normEps));
        const { out: attnOut, k, v } = this.attention(h, w, l, p, bias, rope, opts.cache, at);
        if (opts.cache && !opts.cacheReadOnly) newKV.push({ layer: l, k: tf.keep(k), v: tf.keep(v) });
        x = tf.add(x, at('attention_output', l, attnOut));
        const h2 = at('mlp_input', l, norm(x, w.ln2, this.spec.norm, this.spec.normEps));
        x = tf.add(x, at('mlp_output', l, this.mlp(h2, w, l, at)));
        x = at('block_output', l, x);
      }
      if (opts.stopBefore !== undefined) {
        return { sites, residual: x };
      }
      const finalNorm = at('final_norm', undefined, norm(x, this.weights.lnf, this.spec.norm, this.spec.normEps));
      const request = opts.logits ?? 'all';
      const needAll = request === 'all' || readKeys.has('logits');
      let logitsAll: tf.Tensor | undefined;
      if (needAll) logitsAll = at('logits', undefined, linear(finalNorm, this.weights.unembed));
      let logits: tf.Tensor | undefined;
      if (request === 'all') logits = logitsAll;
      else if (request === 'last') {
        const last = p.mask.map((row) => [lastIndex(row)]);
        const picked = logitsAll ? gatherPositions(logitsAll, sel(last)) : linear(gatherPositions(finalNorm, sel(last)), this.weights.unembed);
        logits = tf.reshape(picked, [p.B, this.spec.vocabSize]);
      } else if (request !== 'none') {
        const s = sel(request.positions);
        logits = logitsAll ? gatherPositions(logitsAll, s) : linear(gatherPositions(finalNorm, s), this.weights.unembed);
      }
      return logits ? { sites, logits } : { sites };
    });
    if (opts.cache && !opts.cacheReadOnly) this.commitCache(opts.cache, newKV, p);
    return out as ForwardResult;
  }

  private prepare(input: ForwardInput, opts: ForwardOptions): Prepared {
    const ids = input.inputIds;
    const B = ids.length;
    if (B === 0) throw new SubspaceError('BAD_ARGUMENT', 'empty batch: no sequences given', 'inputIds');
    const T = ids[0].length;
    if (T === 0) throw new SubspaceError('BAD_ARGUMENT', 'empty sequence: the prompt has no tokens', 'inputIds');
    for (const row of ids) {
      if (row.length !== T) throw new SubspaceError('BAD_ARGUMENT', `sequences must be padded to one length (found ${row.length} and ${T})`, 'inputIds');
      for (const id of row) {
        if (!Number.isInteger(id) || id < 0 || id >= this.spec.vocabSize) {
          throw new SubspaceError('BAD_ARGUMENT', `token id ${id} is out of range for vocabulary size ${this.spec.vocabSize}`, 'inputIds');
        }
      }
    }
    const mask = input.attentionMask ?? ids.map((r) => r.map(() => 1));
    if (mask.length !== B || mask.some((r) => r.length !== T)) {
      throw new SubspaceError('BAD_ARGUMENT', 'attention mask must have the shape of the input ids', 'attentionMask');
    }
    const cache = opts.cache;
    const past = cache?.length ?? 0;
    if (cache && past > 0 && cache.mask.length !== B) {
      throw new SubspaceError('BAD_ARGUMENT', `cache holds ${cache.mask.length} sequences but the input has ${B}`, 'cache');
    }
    const fullMask = past > 0 ? cache!.mask.map((row, b) => [...row, ...mask[b]]) : mask;
    const positions = positionIds(fullMask, past, T);
    if (this.spec.positional === 'learned') {
      const maxPos = Math.max(...positions.flat());
      if (maxPos >= this.spec.maxPositions) {
        throw new SubspaceError('BAD_ARGUMENT', `sequence too long: position ${maxPos} but the model supports ${this.spec.maxPositions} positions`, 'inputIds');
      }
    }
    return { B, T, mask, fullMask, positions, past };
  }

  private embed(ids: number[][], p: Prepared): tf.Tensor {
    const idT = tf.tensor2d(ids, [p.B, p.T], 'int32');
    let x: tf.Tensor = tf.gather(this.weights.wte, idT);
    if (this.weights.wpe) {
      const pos = tf.tensor2d(p.positions, [p.B, p.T], 'int32');
      x = tf.add(x, tf.gather(this.weights.wpe, pos));
    }
    return x;
  }

  private attention(
    h: tf.Tensor,
    w: LayerWeights,
    layer: number,
    p: Prepared,
    bias: tf.Tensor4D,
    rope: { cos: tf.Tensor4D; sin: tf.Tensor4D } | undefined,
    cache: KVCache | undefined,
    at: (site: SiteName, layer: number | undefined, value: tf.Tensor) => tf.Tensor,
  ): { out: tf.Tensor; k: tf.Tensor4D; v: tf.Tensor4D } {
    const { nHeads: H, nKvHeads: Hkv, dHead: dh } = this.spec;
    const split = (t: tf.Tensor, heads: number) => tf.transpose(tf.reshape(t, [p.B, p.T, heads, dh]), [0, 2, 1, 3]) as tf.Tensor4D;
    let q = split(linear(h, w.wq, w.bq), H);
    let k = split(linear(h, w.wk, w.bk), Hkv);
    let v = split(linear(h, w.wv, w.bv), Hkv);
    if (rope) {
      q = applyRope(q, rope.cos, rope.sin);
      k = applyRope(k, rope.cos, rope.sin);
    }
    const pastK = cache?.keys[layer];
    const pastV = cache?.values[layer];
    if (pastK && pastV) {
      k = tf.concat([pastK, k], 2) as tf.Tensor4D;
      v = tf.concat([pastV, v], 2) as tf.Tensor4D;
    }
    const kAll = repeatKv(k, H / Hkv);
    const vAll = repeatKv(v, H / Hkv);
    const scores = tf.add(tf.mul(tf.matMul(q, kAll, false, true), 1 / Math.sqrt(dh)), bias);
    const probs = at('attention_pattern', layer, tf.softmax(scores));
    const z = tf.transpose(tf.matMul(probs, vAll), [0, 2, 1, 3]); // [B, T, H, dh]
    const zEdited = at('head_output', layer, z);
    const out = linear(tf.reshape(zEdited, [p.B, p.T, H * dh]), w.wo, w.bo);
    return { out, k, v };
  }

  private mlp(
    h: tf.Tensor,
    w: LayerWeights,
    layer: number,
    at: (site: SiteName, layer: number | undefined, value: tf.Tensor) => tf.Tensor,
  ): tf.Tensor {
    let hidden: tf.Tensor;
    if (this.spec.mlp === 'gated') {
      hidden = tf.mul(activate(linear(h, w.wGate!, w.bGate), this.spec.activation), linear(h, w.wUp!, w.bUp));
    } else {
      hidden = activate(linear(h, w.wIn!, w.bIn), this.spec.activation);
    }
    return linear(at('mlp_hidden', layer, hidden), w.wOut, w.bOut);
  }

  private applyEdit(value: tf.Tensor, e: SiteEdit, sel: (positions: number[][]) => tf.Tensor3D): tf.Tensor {
    const ref: SiteRef = { site: e.site, layer: e.layer, head: e.head };
    const atPositions = (v: tf.Tensor): tf.Tensor => {
      if (!e.positions) return checked(e, v, e.apply(v, ref));
      const s = sel(e.positions);
      const picked = gatherPositions(v, s);
      const edited = checked(e, picked, e.apply(picked, ref));
      return scatterAddPositions(v, s, tf.sub(edited, picked));
    };
    if (e.head === undefined) return atPositions(value);
    const axis = e.site === 'head_output' ? 2 : 1;
    return replaceHead(value, axis, e.head, atPositions);
  }

  private commitCache(cache: KVCache, kv: { layer: number; k: tf.Tensor4D; v: tf.Tensor4D }[], p: Prepared): void {
    kv.forEach(({ layer: l, k, v }) => {
      cache.keys[l]?.dispose();
      cache.values[l]?.dispose();
      cache.keys[l] = k;
      cache.values[l] = v;
    });
    cache.mask = p.fullMask;
  }
}

function checked(e: SiteEdit, before: tf.Tensor, after: tf.Tensor): tf.Tensor {
  if (after.shape.length !== before.shape.length || after.shape.some((d, i) => d !== before.shape[i])) {
    throw new SubspaceError(
      'SHAPE_MISMATCH',
      `an edit at ${siteKey(e)} returned shape [${after.shape.join(', ')}] for a value of shape [${before.shape.join(', ')}]`,
      siteKey(e),
    );
  }
  return after;
}

function lastIndex(row: number[]): number {
  for (let j = row.length - 1; j >= 0; j--) if (row[j] !== 0) return j;
  return row.length - 1;
}

/** [B, Hkv, S, dh] → [B, Hkv·g, S, dh] with query head h reading kv head ⌊h/g⌋. */
function repeatKv(x: tf.Tensor4D, g: number): tf.Tensor4D {
  if (g === 1) return x;
  const [B, Hkv, S, dh] = x.shape;
  // Rank-4 tile: tfjs has no tile gradient above rank 4.
  const flat = tf.reshape(x, [B, Hkv, 1, S * dh]);
  return tf.reshape(tf.tile(flat, [1, 1, g, 1]), [B, Hkv * g, S, dh]) as tf.Tensor4D;
}

function headSlice(x: tf.Tensor, axis: number, head: number): tf.Tensor {
  const begin = x.shape.map(() => 0);
  const size = x.shape.map(() => -1);
  begin[axis] = head;
  size[axis] = 1;
  return tf.squeeze(tf.slice(x, begin, size), [axis]);
}

/** Rebuilds x with one head replaced by f(that head), leaving the others untouched. */
function replaceHead(x: tf.Tensor, axis: number, head: number, f: (h: tf.Tensor) => tf.Tensor): tf.Tensor {
  const n = x.shape[axis];
  const parts: tf.Tensor[] = [];
  const slice = (from: number, count: number) => {
    const begin = x.shape.map(() => 0);
    const size = x.shape.map(() => -1);
    begin[axis] = from;
    size[axis] = count;
    return tf.slice(x, begin, size);
  };
  if (head > 0) parts.push(slice(0, head));
  parts.push(tf.expandDims(f(headSlice(x, axis, head)), axis));
  if (head < n - 1) parts.push(slice(head + 1, n - head - 1));
  return parts.length === 1 ? parts[0] : tf.concat(parts, axis);
}
