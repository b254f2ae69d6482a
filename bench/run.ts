/**
 * `npm run bench`: one run, figures printed and written to bench/results.json.
 * `--smoke` runs every workload at toy sizes so CI keeps the bench from rotting.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import * as tf from '../src-main/engine/tf.js';
import { initBackend } from '../src-main/engine/backend/index.js';
import { benchMatmul } from './matmul.js';
import { benchForward } from './forward.js';
import { GPT2_SMALL, ensureRandomGpt2, type RandomGpt2Shape } from './random-model.js';
import { benchReft } from './reft.js';
import { benchStore } from './store.js';

const smoke = process.argv.includes('--smoke');
const HERE = import.meta.dirname;
const WORK = join(HERE, 'work');

async function main(): Promise<void> {
  const report = await initBackend();
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
  console.log(`Subspace bench${smoke ? ' (smoke)' : ''}: backend ${report.backend} on ${report.device}; ${machine.cores} cores, ${machine.cpu}`);

  const mmShape: [number, number, number] = smoke ? [128, 256, 256] : [512, 768, 768];
  const mm = await benchMatmul({ shape: mmShape, minMs: smoke ? 100 : 1500 });
  console.log(`ceiling: matmul ${mmShape.join('×')}: ${mm.gflops.toFixed(2)} GFLOP/s (a×bᵀ: ${mm.transposed.gflopsAfter.toFixed(2)})`);

  const shape: RandomGpt2Shape = smoke ? { layers: 2, heads: 4, width: 128, vocab: 512, positions: 128 } : GPT2_SMALL;
  const [B, T] = smoke ? [2, 16] : [8, 64];
  const dir = join(WORK, smoke ? 'gpt2-toy-random' : 'gpt2-small-random');
  const tensorsBefore = tf.memory().numTensors;
  const fw = await benchForward(dir, shape, B, T, smoke ? 2 : 3);
  const fraction = fw.gflops / mm.gflops;
  console.log(
    `forward: GPT-2-shaped ${shape.layers}×${shape.heads}×${shape.width} (vocab ${shape.vocab}), batch ${B}×${T}: ` +
      `${fw.msPerForward.toFixed(0)} ms, ${fw.tokensPerSecond.toFixed(0)} tokens/s, ${fw.gflops.toFixed(2)} GFLOP/s = ${(100 * fraction).toFixed(0)}% of the matmul ceiling (target ≥ 50%)`,
  );
  ensureRandomGpt2(dir, shape);
  const reft = await benchReft(dir, smoke ? { examples: 8, tokens: 8, epochs: 2, batch: 4 } : { examples: 32, tokens: 32, epochs: 3, batch: 8 });
  const e = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
  console.log(
    `reft: LoReFT rank 4 at layer ${reft.layer} of ${reft.layers}, ${reft.examples} examples × ${reft.tokens} tokens, positions l1: ` +
      `epoch ms recompute [${e(reft.epochMs.none)}], layer cache [${e(reft.epochMs.layers)}], window cache [${e(reft.epochMs.window)}]; ` +
      `steady speed-up ${reft.speedup.layers.toFixed(2)}× (layers), ${reft.speedup.window.toFixed(2)}× (window) (target ≥ 2×)`,
  );
  const store = benchStore(undefined, smoke ? { runs: 50, runsWithMetrics: 10, steps: 100 } : {});
  console.log(
    `store: ${store.runs} runs, ${store.metricPoints} metric points: list runs ${store.listRuns.medianMs.toFixed(2)} ms, ` +
      `one run's curves ${store.getMetrics.medianMs.toFixed(2)} ms (median; target < 50 ms each)`,
  );
  const results = {
    date: new Date().toISOString(),
    smoke,
    machine,
    backend: { name: report.backend, device: report.device },
    ceiling: { shape: mmShape, gflops: mm.gflops, transposedGflops: mm.transposed.gflopsAfter, transposedGflopsStock: mm.transposed.gflopsBefore },
    forward: { ...fw, fractionOfCeiling: fraction },
    reft,
    store,
    tensors: { before: tensorsBefore, after: tf.memory().numTensors },
  };
  mkdirSync(HERE, { recursive: true });
  writeFileSync(join(HERE, smoke ? 'results.smoke.json' : 'results.json'), JSON.stringify(results, null, 2) + '\n');
  console.log(`wrote bench/${smoke ? 'results.smoke.json' : 'results.json'}`);
}

main().catch((e: unknown) => {
  console.error(`bench failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
