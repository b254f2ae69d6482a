import { loadModelFolder, type LoadedModel } from '../src-main/engine/io/model-folder.js';
import { seededRandom } from '../src-main/engine/model/generate.js';
import { trainReft, type ReftConfig } from '../src-main/engine/methods/reft.js';
import type { TaskExample } from '../src-main/engine/tasks/schema.js';

export interface ReftBenchFigures {
  model: string;
  layer: number;
  layers: number;
  examples: number;
  tokens: number;
  /** Milliseconds per epoch (the first epoch of the cached modes includes filling the cache). */
  epochMs: Record<'none' | 'layers' | 'window', number[]>;
  /** Steady-state speed-up per epoch against recomputing everything. */
  speedup: { layers: number; window: number };
}

function synthetic(n: number, len: number, vocab: number, seed: number): TaskExample[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const toks = Array.from({ length: len }, () => 1 + Math.floor(rand() * (vocab - 1)));
    return { id: `s${i}`, prompt: toks.map((t) => `t${t}`).join(' '), completion: ` t${toks[0]}`, wrong: [` t${toks[1]}`] };
  });
}

/** LoReFT rank 4 at half the depth, positions l1: epoch time by cache mode, measured in one run. */
export async function benchReft(folder: string, opts: { examples: number; tokens: number; epochs: number; batch: number }): Promise<ReftBenchFigures> {
  const m: LoadedModel = await loadModelFolder(folder, { name: folder.split('/').pop() });
  const layer = Math.floor(m.spec.nLayers / 2);
  const train = synthetic(opts.examples, opts.tokens, Math.min(m.spec.vocabSize, m.tokenizer!.vocabSize), 11);
  const cfg: Partial<ReftConfig> & { layers: number[] } = { type: 'loreft', layers: [layer], rank: 4, positions: 'l1', epochs: opts.epochs, batchSize: opts.batch, lr: 1e-3 };
  const epochMs = { none: [] as number[], layers: [] as number[], window: [] as number[] };
  for (const cache of ['none', 'layers', 'window'] as const) {
    const r = trainReft(m.model, m.tokenizer!, { train, dev: [] }, { ...cfg, cache });
    epochMs[cache] = r.epochMs;
    for (const p of r.interventions) p.intervention.dispose();
  }
  m.model.dispose();
  const steady = (xs: number[]) => (xs.length > 1 ? xs.slice(1).reduce((a, b) => a + b, 0) / (xs.length - 1) : xs[0]);
  return {
    model: m.name,
    layer,
    layers: m.spec.nLayers,
    examples: opts.examples,
    tokens: opts.tokens,
    epochMs,
    speedup: { layers: steady(epochMs.none) / steady(epochMs.layers), window: steady(epochMs.none) / steady(epochMs.window) },
  };
}
