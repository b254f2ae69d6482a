/**
 * DAS training step time on a GPT-2-small-shaped random model: lowrank DAS (k = 16) at layer 6,
 * with the frozen base computation recomputed every step ('none'), resumed from the cached
 * residual entering the layer ('layers'), and resumed there over only the positions from the
 * interchanged one on ('window'). `benchDas` returns JSON figures; run alone:
 *
 *   npx tsx bench/das.ts [--smoke]
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { initBackend } from '../src-main/engine/backend/index.js';
import { loadModelFolder } from '../src-main/engine/io/model-folder.js';
import { seededRandom } from '../src-main/engine/random.js';
import type { TaskExample } from '../src-main/engine/tasks/schema.js';
import * as tf from '../src-main/engine/tf.js';
import { trainDas, type DasCacheMode, type DasTask } from '../src-main/engine/das/index.js';
import { GPT2_SMALL, ensureRandomGpt2, type RandomGpt2Shape } from './random-model.js';

export interface DasBenchFigures {
  model: string;
  shape: RandomGpt2Shape;
  variant: 'lowrank';
  dim: number;
  layer: number;
  /** The interchanged position: the last prompt token (the usual DAS site), so the window is one token. */
  position: 'last';
  pairs: number;
  tokens: number;
  batch: number;
  /** Training steps timed per mode (rounds × steps per epoch). */
  steps: number;
  rounds: number;
  /** Median milliseconds per training step (forward, backward, AdamW, retraction), by cache mode; a call's first step is left out. */
  stepMs: Record<DasCacheMode, number>;
  /** Median milliseconds of one whole one-epoch call (source values, cache fill, training, test IIA), by cache mode. */
  totalMs: Record<DasCacheMode, number>;
  /** Step-time speed-up against recomputing every layer. */
  speedup: { layers: number; window: number };
  tensorsLeaked: number;
}

const TOY: RandomGpt2Shape = { layers: 4, heads: 4, width: 128, vocab: 512, positions: 128 };

/** Pairs of random prompts over the synthetic tokenizer's t-words, with a random counterfactual label. */
function syntheticTask(pairs: number, tokens: number, vocab: number): DasTask {
  const rand = seededRandom(17);
  const word = () => `t${2 + Math.floor(rand() * (vocab - 2))}`;
  const prompt = () => Array.from({ length: tokens }, word).join(' ');
  const make = (n: number, split: string): TaskExample[] =>
    Array.from({ length: n }, (_, i) => {
      const label = rand() < 0.5 ? ' t0' : ' t1';
      return { id: `${split}-${i}`, prompt: prompt(), completion: ' t0', wrong: [' t1'], source: { prompt: prompt(), completion: ' t0' }, counterfactual: { V: label } };
    });
  return { name: 'synthetic-pairs', variables: ['V'], roles: [], train: make(pairs, 'train'), test: make(Math.max(4, pairs / 4), 'test') };
}

export async function benchDas(opts: { smoke?: boolean } = {}): Promise<DasBenchFigures> {
  const smoke = opts.smoke ?? false;
  const shape = smoke ? TOY : GPT2_SMALL;
  const dir = ensureRandomGpt2(join(import.meta.dirname, 'work', smoke ? 'gpt2-das-toy-random' : 'gpt2-small-random'), shape);
  const m = await loadModelFolder(dir, { name: smoke ? 'gpt2-toy-random' : 'gpt2-small-random' });
  const size = smoke ? { pairs: 8, tokens: 8, batch: 2, rounds: 1, dim: 4 } : { pairs: 32, tokens: 32, batch: 8, rounds: 3, dim: 16 };
  const layer = Math.floor(shape.layers / 2);
  const task = syntheticTask(size.pairs, size.tokens, shape.vocab);
  const before = tf.memory().numTensors;
  const cfg = { variable: 'V', layer, position: 'last', variant: 'lowrank' as const, dim: size.dim, epochs: 1, batchSize: size.batch, lr: 1e-3 };
  // Warm-up: the backend compiles its kernels on first use.
  trainDas(m.model, m.tokenizer!, { ...task, train: task.train.slice(0, size.batch) }, { ...cfg, cache: 'none' }).intervention.dispose();
  // The modes take turns, one epoch each per round, so a change in machine load falls on all of them.
  const samples: Record<DasCacheMode, number[]> = { none: [], layers: [], window: [] };
  const totals: Record<DasCacheMode, number[]> = { none: [], layers: [], window: [] };
  let steps = 0;
  for (let round = 0; round < size.rounds; round++) {
    for (const cache of ['none', 'layers', 'window'] as const) {
      let last = 0;
      let first = true;
      const t0 = performance.now();
      const r = trainDas(m.model, m.tokenizer!, task, { ...cfg, cache }, {
        onProgress: (p) => {
          if (!('loss' in p.metrics)) return;
          // The first tick's elapsed time includes the source values and the cache fill.
          if (!first) samples[cache].push(p.elapsedMs - last);
          first = false;
          last = p.elapsedMs;
        },
      });
      totals[cache].push(performance.now() - t0);
      steps += cache === 'none' ? r.summary.loss.length : 0;
      r.intervention.dispose();
    }
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const stepMs = { none: median(samples.none), layers: median(samples.layers), window: median(samples.window) };
  const totalMs = { none: median(totals.none), layers: median(totals.layers), window: median(totals.window) };
  const leaked = tf.memory().numTensors - before;
  m.model.dispose();
  return {
    model: m.name,
    shape,
    variant: 'lowrank',
    dim: size.dim,
    layer,
    position: 'last',
    pairs: size.pairs,
    tokens: size.tokens,
    batch: size.batch,
    steps,
    rounds: size.rounds,
    stepMs,
    totalMs,
    speedup: { layers: stepMs.none / stepMs.layers, window: stepMs.none / stepMs.window },
    tensorsLeaked: leaked,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const smoke = process.argv.includes('--smoke');
  initBackend()
    .then(async (report) => {
      const f = await benchDas({ smoke });
      console.log(
        `das: lowrank k=${f.dim} at layer ${f.layer} of ${f.shape.layers} (${f.model}, width ${f.shape.width}), ${f.pairs} pairs × ${f.tokens} tokens, batch ${f.batch}, ${report.backend}: ` +
          `ms per step recompute ${f.stepMs.none.toFixed(0)}, layer cache ${f.stepMs.layers.toFixed(0)}, window cache ${f.stepMs.window.toFixed(0)}; ` +
          `speed-up ${f.speedup.layers.toFixed(2)}× (layers), ${f.speedup.window.toFixed(2)}× (window)`,
      );
      console.log(JSON.stringify({ backend: report.backend, device: report.device, ...f }, null, 2));
    })
    .catch((e: unknown) => {
      console.error(`bench das failed: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    });
}
