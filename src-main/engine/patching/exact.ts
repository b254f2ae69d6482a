/**
 * The exact sweep: the values of one forward per patch, computing only what a patch can change.
 *
 * A patch at layer l and position p leaves every layer before l, and every position before p in
 * the layers from l on, as the base run had them (attention is causal). So the base run is made
 * once, keeping its residual entering every layer and its keys and values at every layer; each
 * patched copy then starts at layer l from position p, with the base run's keys and values of the
 * earlier positions as a read-only cache prefix. Rows of one forward may start at different
 * positions: each row's cache mask hides the prefix columns it does not have. Further:
 * - a patch of a layer's output (block_output l) is a patch of the next layer's input, so layer l
 *   is not rerun; residual-stream patches enter as the start residual, without an edit;
 * - a patch after its layer's keys and values (head, attention or MLP output) at one position
 *   changes nothing else in that layer: the layer runs on that one token;
 * - the last layer runs at the answer position only (no other position reaches an answer logit),
 *   so a patch after the keys and values of the last layer counts only at the answer;
 * - only the answer tokens' logits are read (AnswerReadout).
 * Copies with the same start layer are batched into one forward, chunked by a memory budget and so
 * that padding rows to one length adds at most a quarter to a chunk's work.
 */
import * as tf from '../tf.js';
import { applyRope, gatherPositions, linear, norm, ropeInvFreq, ropeTables, selectionMatrix } from '../model/ops.js';
import { siteKey, type SiteName, type SiteRef } from '../model/sites.js';
import { KVCache, type SiteEdit, type Transformer } from '../model/transformer.js';
import { ProgressClock, type RunHooks } from '../methods/progress.js';
import type { Cell } from './grid.js';
import { runScores } from './interchange.js';
import type { AnswerReadout, RowScore } from './metrics.js';
import type { PaddedBatch } from './pairs.js';

/** Sites after their layer's keys and values: a patch there changes only its own positions in that layer. */
const AFTER_KV = new Set<SiteName>(['head_output', 'attention_output', 'mlp_input', 'mlp_hidden', 'mlp_output', 'block_output']);

/** Padding rows of a chunk to its longest suffix may add at most this share of the chunk's own work. */
const PADDING_SLACK = 1.25;

/**
 * How a cell runs.
 * resid: the residual entering `layer` takes the source values (no edit in the forward);
 * point: the site's edit runs in `layer` on the one patched token per pair, the later layers run from there;
 * span: the edit runs in a forward from `layer` over every position from the first patched one.
 */
type Mode = 'resid' | 'point' | 'span';

interface Plan {
  index: number;
  cell: Cell;
  mode: Mode;
  layer: number;
  /** Per pair: the first position the patch can change at `layer`; earlier ones keep the base run's values. */
  from: number[];
  /** Per pair: the base positions patched and the source positions read (-1 padded). */
  base: number[][];
  source: number[][];
}

/** Reads grouped by site and layer: one edit per group serves every patch of that group in a batched forward. */
export function groupKey(c: { site: SiteName; layer: number }): string {
  return siteKey({ site: c.site, layer: c.layer });
}

function planCell(cell: Cell, index: number, nLayers: number, lengths: readonly number[]): Plan {
  const last = cell.layer === nLayers - 1;
  let { base, source } = cell;
  let layer = cell.layer;
  let mode: Mode;
  if (cell.site === 'block_input' || (cell.site === 'block_output' && !last)) {
    mode = 'resid';
    if (cell.site === 'block_output') layer += 1;
  } else if (AFTER_KV.has(cell.site)) {
    if (last) {
      // Only the answer position of the last layer reaches the logits.
      const keep = base.map((row, b) => row.map((p) => p >= 0 && p === lengths[b] - 1));
      base = base.map((row, b) => row.map((p, j) => (keep[b][j] ? p : -1)));
      source = source.map((row, b) => row.map((p, j) => (keep[b][j] ? p : -1)));
    }
    mode = base.every((row) => row.filter((p) => p >= 0).length <= 1) ? 'point' : 'span';
  } else {
    mode = 'span';
  }
  // A pair without a patched position is the base run: only its answer is recomputed.
  const from = base.map((row, b) => {
    const ps = row.filter((p) => p >= 0);
    return ps.length ? Math.min(...ps) : lengths[b] - 1;
  });
  return { index, cell, mode, layer, from, base, source };
}

/** What the base run keeps for the patched copies. */
interface BaseState {
  /** Per layer, the residual entering it [N, T, d]. */
  residual: tf.Tensor3D[];
  /** Per layer, keys and values after RoPE [N, Hkv, T, dh]. */
  keys: tf.Tensor4D[];
  values: tf.Tensor4D[];
}

interface ExactOut {
  /** Per cell, in grid order: the row scores of its patched runs. */
  rows: RowScore[][];
  baseRows: RowScore[];
  sourceRows: RowScore[];
  forwards: number;
  tokenLayers: number;
  maxRows: number;
}

interface Env {
  model: Transformer;
  base: PaddedBatch;
  sourceT: number;
  readout: AnswerReadout;
  full: boolean;
  state: BaseState;
  /** The source run's values per (site, layer), [N, Ts, width]. */
  source: Map<string, tf.Tensor3D>;
}

/** The source run's reads: whole sites (all heads) per patched layer. */
export function groupReads(cells: readonly Cell[]): SiteRef[] {
  const m = new Map<string, SiteRef>();
  for (const c of cells) m.set(groupKey(c), { site: c.site, layer: c.layer });
  return [...m.values()];
}

export function exactPatch(
  model: Transformer,
  base: PaddedBatch,
  source: PaddedBatch,
  readout: AnswerReadout,
  full: boolean,
  cells: readonly Cell[],
  memoryMiB: number,
  hooks: RunHooks,
): ExactOut {
  const L = model.spec.nLayers;
  const N = base.lengths.length;
  const clock = new ProgressClock(hooks, 'patch', cells.length);
  clock.tick(0);
  const src = runScores(model, source, readout, full, groupReads(cells));
  const kv = new KVCache(L);
  const reads: SiteRef[] = Array.from({ length: L }, (_, layer) => ({ site: 'block_input', layer }));
  let unpatched: ReturnType<typeof runScores>;
  try {
    unpatched = runScores(model, base, readout, full, reads, undefined, kv);
  } catch (e) {
    kv.dispose();
    tf.dispose(Object.values(src.sites));
    throw e;
  }
  const state: BaseState = {
    residual: reads.map((r) => unpatched.sites[siteKey(r)] as tf.Tensor3D),
    keys: kv.keys.map((k) => k!),
    values: kv.values.map((v) => v!),
  };
  const sourceValues = new Map<string, tf.Tensor3D>();
  for (const [k, v] of Object.entries(src.sites)) sourceValues.set(k, tf.reshape(v, [N, source.T, -1]));
  tf.dispose(Object.values(src.sites));

  const env: Env = { model, base, sourceT: source.T, readout, full, state, source: sourceValues };
  const plans = cells.map((c, i) => planCell(c, i, L, base.lengths));
  const rows: RowScore[][] = new Array(cells.length);
  let forwards = 2;
  // The base and source runs: every token through every layer.
  let tokenLayers = N * (base.T + source.T) * L;
  let maxRows = N;
  let done = 0;
  try {
    for (const chunk of chunkPlans(env, plans, memoryMiB)) {
      const r = runChunk(env, chunk);
      forwards += r.forwards;
      tokenLayers += r.tokenLayers;
      maxRows = Math.max(maxRows, chunk.length * N);
      // Rows are pair-major: row b·C + k is pair b of copy k.
      chunk.forEach((p, k) => {
        rows[p.index] = base.lengths.map((_, b) => r.scores[b * chunk.length + k]);
      });
      done += chunk.length;
      clock.tick(done);
    }
  } finally {
    for (const t of sourceValues.values()) t.dispose();
    tf.dispose([...state.residual, ...state.keys, ...state.values]);
  }
  return { rows, baseRows: unpatched.scores, sourceRows: src.scores, forwards, tokenLayers, maxRows };
}

/** Positions one plan recomputes, at most, over its pairs. */
function suffixOf(p: Plan, lengths: readonly number[]): number {
  return Math.max(...p.from.map((f, b) => lengths[b] - f));
}

/** Bytes of activations one row keeps alive per layer (tfjs frees a forward's intermediates only at its end). */
function bytesPerRowLayer(model: Transformer, T: number, S: number): number {
  const s = model.spec;
  return 4 * (T * (14 * s.dModel + 4 * s.dMlp + 3 * s.nHeads * (S + T)) + 4 * s.nHeads * s.dHead * S);
}

/**
 * Plans grouped into forwards: one start layer and mode per forward, sorted by how many positions
 * they recompute, split where the memory budget would be passed or padding would waste too much.
 */
function chunkPlans(env: Pick<Env, 'model' | 'base'>, plans: readonly Plan[], memoryMiB: number): Plan[][] {
  const { lengths } = env.base;
  const N = lengths.length;
  const L = env.model.spec.nLayers;
  const budget = memoryMiB * 2 ** 20;
  const keyed = plans.map((p) => ({ p, t: suffixOf(p, lengths), s: Math.max(...p.from) }));
  keyed.sort((a, b) => a.p.layer - b.p.layer || a.p.mode.localeCompare(b.p.mode) || a.t - b.t || a.s - b.s || a.p.index - b.p.index);
  const out: Plan[][] = [];
  let cur: Plan[] = [];
  let T = 0;
  let S = 0;
  let own = 0;
  for (const { p, t, s } of keyed) {
    if (cur.length > 0) {
      const nT = Math.max(T, t);
      const nS = Math.max(S, s);
      const same = cur[0].layer === p.layer && cur[0].mode === p.mode;
      const fits = (cur.length + 1) * N * (L - p.layer) * bytesPerRowLayer(env.model, nT, nS) <= budget;
      const tight = (cur.length + 1) * nT <= PADDING_SLACK * (own + t);
      if (!same || !fits || !tight) {
        out.push(cur);
        cur = [];
        T = S = own = 0;
      }
    }
    cur.push(p);
    T = Math.max(T, t);
    S = Math.max(S, s);
    own += t;
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * The rows of a chunk of C plans, pair-major (row b·C + k is pair b of plan k, so a pair's copies
 * are adjacent and per-pair tensors reach them by broadcasting): each row's first recomputed
 * position and prompt length, and the chunk's padded sizes.
 */
interface Rows {
  R: number;
  C: number;
  pair: number[];
  copy: number[];
  from: number[];
  len: number[];
  /** Longest suffix (positions from `from` to the answer) and longest prefix. */
  T: number;
  S: number;
}

function chunkRows(plans: readonly Plan[], lengths: readonly number[]): Rows {
  const C = plans.length;
  const R = C * lengths.length;
  const pair = Array.from({ length: R }, (_, r) => Math.floor(r / C));
  const copy = Array.from({ length: R }, (_, r) => r % C);
  const from = pair.map((b, r) => plans[copy[r]].from[b]);
  const len = pair.map((b) => lengths[b]);
  return { R, C, pair, copy, from, len, T: Math.max(...len.map((l, r) => l - from[r])), S: Math.max(...from) };
}

/**
 * Per-row positions [R, P] taken from per-pair tables [N, M, width], as one product with a one-hot
 * matrix [N, C·P, M] (exact: each output sums one value and zeros; gathers are slow on wasm).
 * col(r, i) is the table column of row r's entry i, or -1 for zeros.
 */
function pick(table: tf.Tensor3D, rows: Rows, P: number, col: (r: number, i: number) => number): tf.Tensor3D {
  const [N, M, width] = table.shape;
  const sel = new Float32Array(N * rows.C * P * M);
  for (let r = 0; r < rows.R; r++) {
    for (let i = 0; i < P; i++) {
      const c = col(r, i);
      if (c >= 0) sel[(r * P + i) * M + c] = 1;
    }
  }
  return tf.tidy(() => tf.reshape(tf.matMul(tf.tensor3d(sel, [N, rows.C * P, M]), table), [rows.R, P, width]));
}

/** Runs one chunk of plans (one start layer and mode) and scores its rows. */
function runChunk(env: Env, plans: readonly Plan[]): { scores: RowScore[]; forwards: number; tokenLayers: number } {
  const { model, base, state } = env;
  const spec = model.spec;
  const L = spec.nLayers;
  const { mode, layer } = plans[0];
  const rows = chunkRows(plans, base.lengths);
  const { R, pair, copy, from, len } = rows;
  const Tsuf = rows.T;
  // Position from + i of a row, held at its answer past its end (padding, masked).
  const pos = (r: number, i: number) => Math.min(from[r] + i, len[r] - 1);
  const ids = pair.map((b, r) => Array.from({ length: Tsuf }, (_, i) => base.ids[b][pos(r, i)]));
  const mask = pair.map((_, r) => Array.from({ length: Tsuf }, (_, i) => (i < len[r] - from[r] ? 1 : 0)));
  const answer = pair.map((_, r) => len[r] - 1 - from[r]);
  const prefix = new Prefix(state, rows, spec.nKvHeads, spec.dHead);
  const owned: tf.Tensor[] = [];
  let forwards = 0;
  let tokenLayers = 0;
  try {
    let a = layer;
    let x: tf.Tensor;
    let edits: SiteEdit[] = [];
    if (mode === 'resid') {
      // The start residual takes the source value where a row is patched, the base one elsewhere.
      const keys = [...new Set(plans.map((p) => groupKey(p.cell)))];
      const tables = [state.residual[layer], ...keys.map((key) => env.source.get(key)!)];
      // Column offset of each source table in [base | sources], per pair.
      const offset = new Map(keys.map((key, i) => [key, base.T + i * env.sourceT]));
      const srcAt = plans.map((p) => p.base.map((row, b) => new Map(row.flatMap((q, j) => (q >= 0 ? [[q, offset.get(groupKey(p.cell))! + p.source[b][j]] as const] : [])))));
      const table = tf.concat(tables, 1) as tf.Tensor3D;
      owned.push(table);
      x = pick(table, rows, Tsuf, (r, i) => (from[r] + i < len[r] ? (srcAt[copy[r]][pair[r]].get(from[r] + i) ?? from[r] + i) : pos(r, i)));
    } else if (mode === 'point') {
      // The patched layer on the patched token alone (the earlier positions' keys and values are the base run's).
      const group = groupEdits(env, plans, rows);
      owned.push(...group.owned);
      const start = pick(state.residual[layer], rows, 1, (r) => pos(r, 0));
      owned.push(start);
      const y = runLayers(model, ids.map((row) => [row[0]]), ids.map(() => [1]), start, layer, layer + 1, prefix, group.edits);
      owned.push(y);
      forwards++;
      tokenLayers += R;
      a = layer + 1;
      if (Tsuf === 1) {
        x = y;
      } else {
        // Position from is the patched token; the positions after it enter the next layer as in the base run.
        const rest = pick(state.residual[a], rows, Tsuf - 1, (r, i) => pos(r, i + 1));
        owned.push(rest);
        x = tf.concat([y, rest], 1);
      }
    } else {
      x = pick(state.residual[layer], rows, Tsuf, pos);
      const group = groupEdits(env, plans, rows);
      owned.push(...group.owned);
      edits = group.edits;
    }
    owned.push(x);
    let answerPos = answer;
    if (a < L) {
      // The last layer at the answer alone, unless an edit lies in it.
      const lastAtAnswer = !(edits.length > 0 && a === L - 1);
      const stop = lastAtAnswer ? L - 1 : L;
      if (a < stop) {
        x = runLayers(model, ids, mask, x, a, stop, prefix, edits);
        owned.push(x);
        forwards++;
        tokenLayers += R * Tsuf * (stop - a);
      }
      if (lastAtAnswer) {
        x = lastLayerAtAnswer(model, x, prefix, from, answer, pair.map((b, r) => base.ids[b][len[r] - 1]));
        owned.push(x);
        forwards++;
        tokenLayers += R;
        answerPos = answer.map(() => 0);
      }
    }
    const { picked, lse } = env.readout.logits(x, answerPos, pair, env.full);
    const scores = env.readout.scores(picked.dataSync(), lse?.dataSync(), R);
    tf.dispose([picked, lse]);
    return { scores, forwards, tokenLayers };
  } finally {
    tf.dispose(owned);
    prefix.dispose();
  }
}

/**
 * The base run's keys and values of each row's positions before `from`, per layer, as a cache
 * [R, Hkv, S, dh] whose mask hides the columns a row does not have. Every copy of a pair shares
 * the pair's first S positions, so the copies are a broadcast, not a gather.
 */
class Prefix {
  private readonly made = new Map<number, { k: tf.Tensor4D; v: tf.Tensor4D }>();
  readonly mask: number[][];

  constructor(
    private readonly state: BaseState,
    private readonly rows: Rows,
    private readonly nKv: number,
    private readonly dHead: number,
  ) {
    this.mask = rows.from.map((f) => Array.from({ length: rows.S }, (_, j) => (j < f ? 1 : 0)));
  }

  get length(): number {
    return this.rows.S;
  }

  at(layer: number): { k: tf.Tensor4D; v: tf.Tensor4D } {
    let kv = this.made.get(layer);
    if (!kv) {
      const { R, C, S } = this.rows;
      const copies = (t: tf.Tensor4D) =>
        tf.tidy(() => {
          const head = tf.slice(t, [0, 0, 0, 0], [-1, -1, S, -1]);
          // x + 0 is x: the broadcast repeats each pair's prefix for its C copies.
          return tf.reshape(tf.add(tf.expandDims(head, 1), tf.zeros([1, C, 1, 1, 1])), [R, this.nKv, S, this.dHead]) as tf.Tensor4D;
        });
      kv = { k: copies(this.state.keys[layer]), v: copies(this.state.values[layer]) };
      this.made.set(layer, kv);
    }
    return kv;
  }

  /** A read-only cache for a forward over layers [first, stop), or none when no row has a prefix. */
  cache(nLayers: number, first: number, stop: number): KVCache | undefined {
    if (this.rows.S === 0) return undefined;
    const c = new KVCache(nLayers);
    c.mask = this.mask;
    for (let l = first; l < stop; l++) {
      const { k, v } = this.at(l);
      c.keys[l] = k;
      c.values[l] = v;
    }
    return c;
  }

  dispose(): void {
    for (const { k, v } of this.made.values()) tf.dispose([k, v]);
    this.made.clear();
  }
}

/** Layers [first, stop) on the given positions from the residual x, after the rows' cache prefixes; the residual they leave. */
function runLayers(model: Transformer, ids: number[][], mask: number[][], x: tf.Tensor, first: number, stop: number, prefix: Prefix, edits: SiteEdit[]): tf.Tensor {
  const cache = prefix.cache(model.spec.nLayers, first, stop);
  const out = model.forward({ inputIds: ids, attentionMask: mask }, { start: { layer: first, residual: x }, stopBefore: stop, edits, cache, cacheReadOnly: true });
  tf.dispose(Object.values(out.sites));
  return out.residual!;
}

/**
 * The last layer at each row's answer position only: the keys and values of the row's suffix
 * before its answer are computed here from x [R, Tsuf, d], as the runtime computes them, and
 * follow the base run's prefix in a read-only cache, so the forward runs the last layer on one
 * token. Returns the residual after the last layer [R, 1, d]. The sweep tests hold it to the runtime.
 */
function lastLayerAtAnswer(model: Transformer, x: tf.Tensor, prefix: Prefix, from: number[], answer: number[], answerIds: number[]): tf.Tensor {
  const spec = model.spec;
  const L = spec.nLayers;
  const w = model.weights.layers[L - 1];
  const [R, T] = x.shape;
  const S = T - 1;
  const cache = new KVCache(L);
  // Only the suffix positions before each row's answer are its past; later columns (its answer, padding) are masked.
  cache.mask = from.map((_, r) => [...prefix.mask[r], ...Array.from({ length: S }, (_, j) => (j < answer[r] ? 1 : 0))]);
  if (cache.length > 0) {
    const kv = tf.tidy(() => {
      const ks: tf.Tensor4D[] = [];
      const vs: tf.Tensor4D[] = [];
      if (prefix.length > 0) {
        ks.push(prefix.at(L - 1).k);
        vs.push(prefix.at(L - 1).v);
      }
      if (S > 0) {
        const h = norm(tf.slice(x, [0, 0, 0], [R, S, spec.dModel]), w.ln1, spec.norm, spec.normEps);
        const split = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [R, S, spec.nKvHeads, spec.dHead]), [0, 2, 1, 3]) as tf.Tensor4D;
        let k = split(linear(h, w.wk, w.bk));
        const v = split(linear(h, w.wv, w.bv));
        if (spec.rope) {
          // Base prompts are right-padded: suffix position j of a row is token from + j.
          const { cos, sin } = ropeTables(ropeInvFreq(spec.rope), from.map((f) => Array.from({ length: S }, (_, j) => f + j)));
          k = applyRope(k, cos, sin);
        }
        ks.push(k);
        vs.push(v);
      }
      return { k: tf.concat(ks, 2) as tf.Tensor4D, v: tf.concat(vs, 2) as tf.Tensor4D };
    });
    cache.keys[L - 1] = kv.k;
    cache.values[L - 1] = kv.v;
  }
  const current = tf.tidy(() => gatherPositions(x, selectionMatrix(answer.map((a) => [a]), T)));
  try {
    const out = model.forward(
      { inputIds: answerIds.map((id) => [id]), attentionMask: answerIds.map(() => [1]) },
      { cache: cache.length > 0 ? cache : undefined, cacheReadOnly: true, start: { layer: L - 1, residual: current }, stopBefore: L },
    );
    return out.residual!;
  } finally {
    current.dispose();
    cache.dispose();
  }
}

/**
 * One edit per (site, layer) for a chunk of plans: each row takes the source values at its plan's
 * positions (shifted to the forward's first position, `from`; and only its plan's head, for head
 * outputs); rows of plans patched elsewhere list no positions and stay as they are.
 */
function groupEdits(env: Env, plans: readonly Plan[], rows: Rows): { edits: SiteEdit[]; owned: tf.Tensor[] } {
  const H = env.model.spec.nHeads;
  const { R, pair, copy, from } = rows;
  const groups = new Map<string, Set<number>>();
  plans.forEach((p, k) => {
    const key = groupKey(p.cell);
    groups.set(key, (groups.get(key) ?? new Set()).add(k));
  });
  const owned: tf.Tensor[] = [];
  const edits: SiteEdit[] = [];
  for (const [key, copies] of groups) {
    const cell = plans[[...copies][0]].cell;
    const P = Math.max(...[...copies].map((k) => plans[k].base[0].length));
    const mine = (r: number) => copies.has(copy[r]);
    const basePos = pair.map((b, r) => Array.from({ length: P }, (_, j) => (mine(r) && plans[copy[r]].base[b][j] >= 0 ? plans[copy[r]].base[b][j] - from[r] : -1)));
    // The source values each row takes, [R, P, width] (zeros where it takes none: the runtime adds nothing at a -1 position).
    const src = pick(env.source.get(key)!, rows, P, (r, j) => (basePos[r][j] >= 0 ? plans[copy[r]].source[pair[r]][j] : -1));
    owned.push(src);
    let mask: tf.Tensor | undefined;
    if (cell.site === 'head_output') {
      const m = new Float32Array(R * H);
      for (let r = 0; r < R; r++) if (mine(r)) m[r * H + plans[copy[r]].cell.head!] = 1;
      mask = tf.tensor4d(m, [R, 1, H, 1]);
      owned.push(mask);
    }
    edits.push({
      site: cell.site,
      layer: cell.layer,
      positions: basePos,
      apply: (picked) => {
        const delta = tf.sub(tf.reshape(src, picked.shape), picked);
        return tf.add(picked, mask ? tf.mul(delta, mask) : delta);
      },
    });
  }
  return { edits, owned };
}
