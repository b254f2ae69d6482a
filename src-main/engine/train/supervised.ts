import * as tf from '../tf.js';
import { SubspaceError } from '../errors.js';
import type { SubspaceTokenizer } from '../io/tokenizer.js';
import { KVCache, type Transformer } from '../model/transformer.js';
import type { TaskExample } from '../tasks/schema.js';
import { seededRandom, shuffleInPlace } from '../random.js';

/** A prompt and its completion as token ids (the completion follows the prompt directly). */
export interface EncodedExample {
  prompt: number[];
  completion: number[];
  /** The first wrong completion, for preference losses. */
  rejected?: number[];
}

export function encodeExamples(tok: SubspaceTokenizer, examples: TaskExample[], what = 'task'): EncodedExample[] {
  if (examples.length === 0) throw new SubspaceError('BAD_ARGUMENT', `the ${what} has no examples to train on`, 'task');
  return examples.map((ex) => {
    if (!ex.completion) throw new SubspaceError('BAD_ARGUMENT', `example ${ex.id} of the ${what} has no completion`, 'task');
    const prompt = tok.encode(ex.prompt);
    const completion = tok.encode(ex.completion, { addSpecialTokens: false });
    if (completion.length === 0) throw new SubspaceError('BAD_ARGUMENT', `example ${ex.id}: the completion encodes to no tokens`, 'task');
    const rejected = ex.wrong[0] !== undefined ? tok.encode(ex.wrong[0], { addSpecialTokens: false }) : undefined;
    return { prompt, completion, rejected };
  });
}

/** A right-padded batch of prompt ⧺ completion with the positions that predict completion tokens. */
export interface SupervisedBatch {
  ids: number[][];
  mask: number[][];
  promptLengths: number[];
  /** Per sequence, the positions whose logits predict a completion token (-1 = padding). */
  targetPositions: number[][];
  /** The token each target position should predict (-1 = padding). */
  targets: number[][];
}

export function supervisedBatch(items: { prompt: number[]; completion: number[] }[], pad: number): SupervisedBatch {
  const seqs = items.map((e) => [...e.prompt, ...e.completion]);
  const T = Math.max(...seqs.map((s) => s.length));
  const P = Math.max(...items.map((e) => e.completion.length));
  return {
    ids: seqs.map((s) => [...s, ...new Array(T - s.length).fill(pad)]),
    mask: seqs.map((s) => [...s.map(() => 1), ...new Array(T - s.length).fill(0)]),
    promptLengths: items.map((e) => e.prompt.length),
    targetPositions: items.map((e) => Array.from({ length: P }, (_, k) => (k < e.completion.length ? e.prompt.length - 1 + k : -1))),
    targets: items.map((e) => Array.from({ length: P }, (_, k) => (k < e.completion.length ? e.completion[k] : -1))),
  };
}

/** Sum of log-probabilities of the targets per sequence [B], from logits [B, P, V]. */
export function targetLogProbs(logits: tf.Tensor, targets: number[][]): tf.Tensor1D {
  const V = logits.shape[2]!;
  const ids = tf.tensor2d(targets.map((r) => r.map((t) => Math.max(t, 0))), [targets.length, targets[0].length], 'int32');
  const valid = tf.tensor2d(targets.map((r) => r.map((t) => (t >= 0 ? 1 : 0))), [targets.length, targets[0].length]);
  const picked = tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(ids, V)), -1);
  return tf.sum(tf.mul(picked, valid), -1) as tf.Tensor1D;
}

/** Mean cross-entropy per completion token (the completion-only loss of pyreft and LoFIT). */
export function completionLoss(logits: tf.Tensor, targets: number[][]): tf.Scalar {
  const count = targets.reduce((a, r) => a + r.filter((t) => t >= 0).length, 0);
  return tf.div(tf.neg(tf.sum(targetLogProbs(logits, targets))), Math.max(count, 1)) as tf.Scalar;
}

/** Seeded shuffles of example indices into batches, one list per epoch. */
export function epochBatches(n: number, batchSize: number, seed: number, epoch: number): number[][] {
  const order = shuffleInPlace(
    Array.from({ length: n }, (_, i) => i),
    seededRandom(seed * 1000 + epoch),
  );
  const out: number[][] = [];
  for (let i = 0; i < n; i += batchSize) out.push(order.slice(i, i + batchSize));
  return out;
}

/**
 * The residual entering layer L for every example, computed once and reused
 * across epochs: nothing before the first intervened layer changes in training.
 */
export class PrefixCache {
  private readonly rows = new Map<number, tf.Tensor2D>();

  constructor(
    private readonly model: Transformer,
    readonly layer: number,
    private readonly examples: { prompt: number[]; completion: number[] }[],
    private readonly pad: number,
    private readonly batchSize = 32,
  ) {}

  /** [B, T, d] residuals for these examples, right-padded to T with zeros. */
  batch(indices: number[], T: number): tf.Tensor3D {
    this.fill(indices);
    return tf.tidy(() => {
      const parts = indices.map((i) => {
        const r = this.rows.get(i)!;
        const pad = T - r.shape[0];
        return pad > 0 ? tf.pad(r, [[0, pad], [0, 0]]) : r;
      });
      return tf.stack(parts) as tf.Tensor3D;
    });
  }

  /** Computes every example's residual now (a split batch would otherwise add rows to the cache epoch by epoch). */
  fillAll(): void {
    this.fill(this.examples.map((_, i) => i));
  }

  private fill(indices: number[]): void {
    const missing = indices.filter((i) => !this.rows.has(i));
    for (let s = 0; s < missing.length; s += this.batchSize) {
      const chunk = missing.slice(s, s + this.batchSize);
      const b = supervisedBatch(chunk.map((i) => this.examples[i]), this.pad);
      const r = this.model.forward({ inputIds: b.ids, attentionMask: b.mask }, { stopBefore: this.layer });
      const res = r.residual!;
      chunk.forEach((i, k) => {
        const len = b.mask[k].reduce((a, v) => a + v, 0);
        const row = tf.tidy(() => tf.reshape(tf.slice(res, [k, 0, 0], [1, len, -1]), [len, res.shape[2]!]) as tf.Tensor2D);
        this.rows.set(i, tf.keep(row));
      });
      res.dispose();
    }
  }

  get size(): number {
    return this.rows.size;
  }

  dispose(): void {
    for (const t of this.rows.values()) t.dispose();
    this.rows.clear();
  }
}

interface WindowRow {
  start: number;
  length: number;
  residual: tf.Tensor2D;
  keys: tf.Tensor3D[];
  values: tf.Tensor3D[];
}

/** A batch assembled from the window cache: run it with `start` and a read-only `cache`. */
export interface WindowBatch {
  residual: tf.Tensor3D;
  cache: KVCache;
  /** Where each sequence's window begins (subtract from absolute positions). */
  starts: number[];
  ids: number[][];
  mask: number[][];
  dispose(): void;
}

/**
 * Frozen computation for interventions at layer ≥ L and positions ≥ p0 of
 * each sequence: the residual entering L at positions ≥ p0, and the keys and
 * values of positions < p0 in layers ≥ L. Attention is causal, so no edit
 * reaches an earlier position; training then runs layers L.. on [p0, T) only.
 */
export class WindowCache {
  private readonly rows = new Map<number, WindowRow>();

  constructor(
    private readonly model: Transformer,
    readonly layer: number,
    private readonly examples: { prompt: number[]; completion: number[] }[],
    private readonly windowStarts: number[],
    private readonly pad: number,
    private readonly batchSize = 32,
  ) {}

  /** Floats a cached example takes; callers compare this against a memory budget. */
  static floatsPerExample(spec: Transformer['spec'], layer: number, length: number, start: number): number {
    return (length - start) * spec.dModel + 2 * (spec.nLayers - layer) * spec.nKvHeads * spec.dHead * start;
  }

  batch(indices: number[]): WindowBatch {
    this.fill(indices);
    const rows = indices.map((i) => this.rows.get(i)!);
    const W = Math.max(...rows.map((r) => r.length));
    const P = Math.max(...rows.map((r) => r.start));
    const spec = this.model.spec;
    const cache = new KVCache(spec.nLayers);
    const residual = tf.tidy(() => tf.stack(rows.map((r) => (W > r.length ? tf.pad(r.residual, [[0, W - r.length], [0, 0]]) : r.residual))) as tf.Tensor3D);
    if (P > 0) {
      for (let l = this.layer; l < spec.nLayers; l++) {
        const k = l - this.layer;
        const padSeq = (t: tf.Tensor3D, n: number) => (P > n ? tf.pad(t, [[0, 0], [0, P - n], [0, 0]]) : t);
        cache.keys[l] = tf.tidy(() => tf.stack(rows.map((r) => padSeq(r.keys[k], r.start))) as tf.Tensor4D);
        cache.values[l] = tf.tidy(() => tf.stack(rows.map((r) => padSeq(r.values[k], r.start))) as tf.Tensor4D);
      }
    }
    cache.mask = rows.map((r) => Array.from({ length: P }, (_, j) => (j < r.start ? 1 : 0)));
    const ids = indices.map((i, b) => {
      const seq = [...this.examples[i].prompt, ...this.examples[i].completion].slice(rows[b].start);
      return [...seq, ...new Array(W - seq.length).fill(this.pad)];
    });
    const mask = rows.map((r) => Array.from({ length: W }, (_, j) => (j < r.length ? 1 : 0)));
    return { residual, cache, starts: rows.map((r) => r.start), ids, mask, dispose: () => (residual.dispose(), cache.dispose()) };
  }

  /** Computes every example's residual now (a split batch would otherwise add rows to the cache epoch by epoch). */
  fillAll(): void {
    this.fill(this.examples.map((_, i) => i));
  }

  private fill(indices: number[]): void {
    const missing = indices.filter((i) => !this.rows.has(i));
    const spec = this.model.spec;
    for (let s = 0; s < missing.length; s += this.batchSize) {
      const chunk = missing.slice(s, s + this.batchSize);
      const b = supervisedBatch(chunk.map((i) => this.examples[i]), this.pad);
      const kv = new KVCache(spec.nLayers);
      const r = this.model.forward({ inputIds: b.ids, attentionMask: b.mask }, { cache: kv, read: [{ site: 'block_input', layer: this.layer }], logits: 'none' });
      const res = r.sites[`block_input:${this.layer}`];
      chunk.forEach((i, k) => {
        const total = b.mask[k].reduce((a, v) => a + v, 0);
        const start = Math.min(Math.max(this.windowStarts[i], 0), total - 1);
        const length = total - start;
        const row = tf.tidy(() => {
          const residual = tf.reshape(tf.slice(res, [k, start, 0], [1, length, -1]), [length, spec.dModel]) as tf.Tensor2D;
          const keys: tf.Tensor3D[] = [];
          const values: tf.Tensor3D[] = [];
          for (let l = this.layer; l < spec.nLayers; l++) {
            keys.push(tf.reshape(tf.slice(kv.keys[l]!, [k, 0, 0, 0], [1, -1, start, -1]), [spec.nKvHeads, start, spec.dHead]) as tf.Tensor3D);
            values.push(tf.reshape(tf.slice(kv.values[l]!, [k, 0, 0, 0], [1, -1, start, -1]), [spec.nKvHeads, start, spec.dHead]) as tf.Tensor3D);
          }
          return { residual, keys, values };
        });
        this.rows.set(i, { start, length, residual: row.residual, keys: row.keys, values: row.values });
      });
      tf.dispose(Object.values(r.sites));
      kv.dispose();
    }
  }

  get size(): number {
    return this.rows.size;
  }

  dispose(): void {
    for (const r of this.rows.values()) tf.dispose([r.residual, ...r.keys, ...r.values]);
    this.rows.clear();
  }
}
