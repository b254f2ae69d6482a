import type { LoadedModel } from '../src-main/engine/io/model-folder.js';
import type { ModelSpec } from '../src-main/engine/model/config.js';
import { seededRandom } from '../src-main/engine/model/generate.js';

export interface ForwardFigures {
  model: string;
  batch: number;
  tokens: number;
  msPerForward: number;
  tokensPerSecond: number;
  gflops: number;
  /** Last-position logits (first 8) of each sequence, to check the peer computes the same thing. */
  check: number[][];
}

/** Multiply-add FLOPs (×2) of one forward over B×T tokens, logits at every position. */
export function forwardFlops(s: ModelSpec, B: number, T: number): number {
  const d = s.dModel;
  const q = s.nHeads * s.dHead;
  const kv = s.nKvHeads * s.dHead;
  const mlp = (s.mlp === 'gated' ? 3 : 2) * d * s.dMlp;
  const perToken = s.nLayers * 2 * (d * q + 2 * d * kv + q * d + mlp) + 2 * d * s.vocabSize;
  const attention = s.nLayers * B * 2 * 2 * T * T * q;
  return B * T * perToken + attention;
}

/** Random token ids [B, T] from the model's vocabulary (seeded: the peer gets the same ones). */
export function randomIds(vocab: number, B: number, T: number, seed = 7): number[][] {
  const rand = seededRandom(seed);
  return Array.from({ length: B }, () => Array.from({ length: T }, () => Math.floor(rand() * vocab)));
}

/** Forward throughput at batch B × T, every position's logits computed and read back. */
export function benchForward(m: LoadedModel, ids: number[][], runs: number): ForwardFigures {
  const B = ids.length;
  const T = ids[0].length;
  let check: number[][] = [];
  const once = () => {
    const r = m.model.forward({ inputIds: ids }, { logits: 'all' });
    const data = r.logits!.dataSync();
    r.logits!.dispose();
    return data;
  };
  const first = once(); // warm-up: kernels set up, weights packed
  const V = m.spec.vocabSize;
  check = ids.map((_, b) => Array.from(first.subarray((b * T + T - 1) * V, (b * T + T - 1) * V + 8)));
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    once();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const ms = times[times.length >> 1];
  return {
    model: m.name,
    batch: B,
    tokens: T,
    msPerForward: ms,
    tokensPerSecond: (B * T) / (ms / 1000),
    gflops: forwardFlops(m.spec, B, T) / (ms / 1000) / 1e9,
    check,
  };
}

/** Largest |ours − peer| over the check values. */
export function checkDiff(ours: number[][], peer: number[][]): number {
  let d = 0;
  ours.forEach((row, b) => row.forEach((v, j) => (d = Math.max(d, Math.abs(v - (peer[b]?.[j] ?? NaN))))));
  return d;
}
