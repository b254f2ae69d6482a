/**
 * Frozen base computation for DAS, computed once and shared by every site of a search.
 *
 * An interchange at (layer L, position p) changes nothing before layer L and, attention being
 * causal, nothing at positions before p. One full forward per base sequence records the residual
 * entering each searched layer and the keys and values of every layer from the first searched one;
 * a training step at (L, p) then resumes at L (`start`) and, in 'window' mode, runs only positions
 * ≥ p with the cached keys and values of the earlier positions (`cache`, read-only). 'layers' mode
 * resumes at L over every position (the plain prefix cache).
 */
import * as tf from '../tf.js';
import { SubspaceError } from '../errors.js';
import { KVCache, type Transformer } from '../model/transformer.js';
import { padSequences } from '../patching/pairs.js';

export type DasCacheMode = 'window' | 'layers' | 'none';
export const DAS_CACHE_MODES: readonly DasCacheMode[] = ['window', 'layers', 'none'];

/** A batch resumed from the cache: run it with `start: { layer, residual }` and, when present, the read-only `cache`. */
export interface CachedBatch {
  residual: tf.Tensor3D;
  cache?: KVCache;
  /** Where each sequence's window begins (subtract from absolute positions). */
  starts: number[];
  ids: number[][];
  mask: number[][];
  dispose(): void;
}

interface Row {
  length: number;
  /** layer → [T, d], the residual entering it. */
  residual: Map<number, tf.Tensor2D>;
  /** From `firstLayer` on: [Hkv, T, dh]. */
  keys: tf.Tensor3D[];
  values: tf.Tensor3D[];
}

export class DasBaseCache {
  private readonly rows: Row[] = [];
  readonly firstLayer: number;

  /** Floats the cache would hold for sequences of these lengths. */
  static floats(spec: Transformer['spec'], mode: DasCacheMode, layers: number[], lengths: number[]): number {
    if (mode === 'none') return 0;
    const first = Math.min(...layers);
    const kv = mode === 'window' ? 2 * (spec.nLayers - first) * spec.nKvHeads * spec.dHead : 0;
    return lengths.reduce((a, T) => a + T * (layers.length * spec.dModel + kv), 0);
  }

  constructor(
    private readonly model: Transformer,
    private readonly seqs: number[][],
    readonly layers: number[],
    readonly mode: Exclude<DasCacheMode, 'none'>,
    private readonly pad: number,
    batchSize = 32,
  ) {
    if (layers.length === 0) throw new SubspaceError('BAD_ARGUMENT', 'a base cache needs at least one layer', 'layers');
    this.firstLayer = Math.min(...layers);
    const spec = model.spec;
    const lastLayer = Math.max(...layers);
    try {
      for (let s = 0; s < seqs.length; s += batchSize) {
        const chunk = seqs.slice(s, s + batchSize);
        const { ids, mask } = padSequences(chunk, pad);
        const kv = mode === 'window' ? new KVCache(spec.nLayers) : undefined;
        const r = model.forward({ inputIds: ids, attentionMask: mask }, { cache: kv, read: layers.map((layer) => ({ site: 'block_input' as const, layer })), ...(kv ? { logits: 'none' as const } : { stopBefore: lastLayer + 1 }) });
        chunk.forEach((x, k) => {
          const len = x.length;
          tf.tidy(() => {
            const residual = new Map<number, tf.Tensor2D>();
            for (const layer of layers) {
              const v = r.sites[`block_input:${layer}`];
              residual.set(layer, tf.keep(tf.reshape(tf.slice(v, [k, 0, 0], [1, len, -1]), [len, spec.dModel]) as tf.Tensor2D));
            }
            const keys: tf.Tensor3D[] = [];
            const values: tf.Tensor3D[] = [];
            if (kv) {
              for (let l = this.firstLayer; l < spec.nLayers; l++) {
                keys.push(tf.keep(tf.reshape(tf.slice(kv.keys[l]!, [k, 0, 0, 0], [1, -1, len, -1]), [spec.nKvHeads, len, spec.dHead]) as tf.Tensor3D));
                values.push(tf.keep(tf.reshape(tf.slice(kv.values[l]!, [k, 0, 0, 0], [1, -1, len, -1]), [spec.nKvHeads, len, spec.dHead]) as tf.Tensor3D));
              }
            }
            this.rows.push({ length: len, residual, keys, values });
          });
        });
        tf.dispose([...Object.values(r.sites), ...(r.residual ? [r.residual] : [])]);
        kv?.dispose();
      }
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /**
   * The batch of these sequences resumed at `layer`; in window mode from each sequence's
   * `starts[b]` on (clamped to its last position), else from position 0.
   */
  batch(indices: number[], layer: number, starts?: number[]): CachedBatch {
    if (!this.layers.includes(layer)) throw new SubspaceError('BAD_ARGUMENT', `the base cache holds layers ${this.layers.join(', ')}, not ${layer}`, 'layer');
    const spec = this.model.spec;
    const rows = indices.map((i) => this.rows[i]);
    const from = rows.map((r, b) => (this.mode === 'window' && starts ? Math.min(Math.max(starts[b], 0), r.length - 1) : 0));
    const lens = rows.map((r, b) => r.length - from[b]);
    const W = Math.max(...lens);
    const P = Math.max(...from);
    const residual = tf.tidy(() =>
      tf.stack(
        rows.map((r, b) => {
          const x = r.residual.get(layer)!;
          const part = from[b] > 0 ? tf.slice(x, [from[b], 0], [lens[b], -1]) : x;
          return W > lens[b] ? tf.pad(part, [[0, W - lens[b]], [0, 0]]) : part;
        }),
      ),
    ) as tf.Tensor3D;
    let cache: KVCache | undefined;
    if (P > 0) {
      cache = new KVCache(spec.nLayers);
      for (let l = layer; l < spec.nLayers; l++) {
        const k = l - this.firstLayer;
        const take = (t: tf.Tensor3D, n: number) => {
          const part = tf.slice(t, [0, 0, 0], [-1, n, -1]);
          return P > n ? tf.pad(part, [[0, 0], [0, P - n], [0, 0]]) : part;
        };
        cache.keys[l] = tf.tidy(() => tf.stack(rows.map((r, b) => take(r.keys[k], from[b]))) as tf.Tensor4D);
        cache.values[l] = tf.tidy(() => tf.stack(rows.map((r, b) => take(r.values[k], from[b]))) as tf.Tensor4D);
      }
      cache.mask = from.map((f) => Array.from({ length: P }, (_, j) => (j < f ? 1 : 0)));
    }
    const ids = indices.map((i, b) => {
      const seq = this.seqs[i].slice(from[b]);
      return [...seq, ...new Array(W - seq.length).fill(this.pad)];
    });
    const mask = lens.map((n) => Array.from({ length: W }, (_, j) => (j < n ? 1 : 0)));
    return { residual, cache, starts: from, ids, mask, dispose: () => (residual.dispose(), cache?.dispose()) };
  }

  get size(): number {
    return this.rows.length;
  }

  dispose(): void {
    for (const r of this.rows) tf.dispose([...r.residual.values(), ...r.keys, ...r.values]);
    this.rows.length = 0;
  }
}
