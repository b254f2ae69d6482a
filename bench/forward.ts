import { loadModelFolder } from '../src-main/engine/io/model-folder.js';
import { seededRandom } from '../src-main/engine/model/generate.js';
import { ensureRandomGpt2, forwardFlops, type RandomGpt2Shape } from './random-model.js';

export interface ForwardFigures {
  shape: RandomGpt2Shape;
  batch: number;
  tokens: number;
  msPerForward: number;
  tokensPerSecond: number;
  gflops: number;
  loadMs: number;
}

/** Forward throughput of a random GPT-2-shaped model at batch B × T, all logits computed. */
export async function benchForward(dir: string, shape: RandomGpt2Shape, B: number, T: number, runs: number): Promise<ForwardFigures> {
  ensureRandomGpt2(dir, shape);
  const t0 = performance.now();
  const m = await loadModelFolder(dir, { requireTokenizer: false, name: 'random-gpt2' });
  const loadMs = performance.now() - t0;
  const rand = seededRandom(7);
  const ids = Array.from({ length: B }, () => Array.from({ length: T }, () => Math.floor(rand() * shape.vocab)));
  const once = () => {
    const r = m.model.forward({ inputIds: ids }, { logits: 'all' });
    r.logits!.dataSync();
    r.logits!.dispose();
  };
  once(); // warm-up: kernels compiled, weights materialised
  const start = performance.now();
  for (let i = 0; i < runs; i++) once();
  const ms = (performance.now() - start) / runs;
  m.model.dispose();
  const flops = forwardFlops(shape, B, T);
  return { shape, batch: B, tokens: T, msPerForward: ms, tokensPerSecond: (B * T) / (ms / 1000), gflops: flops / (ms / 1000) / 1e9, loadMs };
}
