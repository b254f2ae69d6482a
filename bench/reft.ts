import type { LoadedModel } from '../src-main/engine/io/model-folder.js';
import { seededRandom } from '../src-main/engine/model/generate.js';
import { trainReft, REFT_DEFAULTS, type ReftConfig } from '../src-main/engine/methods/reft.js';
import { interventionPositions, parsePositions } from '../src-main/engine/interventions/positions.js';
import { encodeExamples, epochBatches, supervisedBatch } from '../src-main/engine/train/supervised.js';
import type { TaskExample } from '../src-main/engine/tasks/schema.js';

/** One training batch as both sides see it: right-padded ids, the edited position, the targets. */
export interface PeerBatch {
  ids: number[][];
  mask: number[][];
  positions: number[];
  targetPositions: number[][];
  targets: number[][];
}

export interface ReftOptions {
  examples: number;
  /** Prompt length in tokens (the completion is one token). */
  tokens: number;
  epochs: number;
  batch: number;
  layer: number;
  rank: number;
  /** Cache modes to time; 'none' recomputes the frozen prefix every step. */
  modes: ReadonlyArray<ReftConfig['cache']>;
}

export interface ReftModeFigures {
  epochMs: number[];
  /** The first epoch (it fills the cache, if any). */
  firstEpochMs: number;
  /** Mean of the later epochs. */
  steadyEpochMs: number;
  steadyStepMs: number;
  cacheMode: string;
}

export interface ReftFigures {
  model: string;
  layer: number;
  layers: number;
  rank: number;
  examples: number;
  tokens: number;
  batch: number;
  stepsPerEpoch: number;
  modes: Record<string, ReftModeFigures>;
  /** Epoch 0's batches, in training order, for the peer. */
  peerBatches: PeerBatch[];
}

/** Prompts of random synthetic-tokenizer words; the completion repeats the first word. */
export function syntheticExamples(n: number, len: number, vocab: number, seed: number): TaskExample[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const toks = Array.from({ length: len }, () => 1 + Math.floor(rand() * (vocab - 1)));
    return { id: `s${i}`, prompt: toks.map((t) => `t${t}`).join(' '), completion: ` t${toks[0]}`, wrong: [` t${toks[1]}`] };
  });
}

/** LoReFT at one layer's block output, positions l1: epoch times per cache mode. */
export function benchReft(m: LoadedModel, opts: ReftOptions): ReftFigures {
  const tok = m.tokenizer!;
  const train = syntheticExamples(opts.examples, opts.tokens, Math.min(m.spec.vocabSize, tok.vocabSize), 11);
  const cfg: Partial<ReftConfig> & { layers: number[] } = { type: 'loreft', layers: [opts.layer], rank: opts.rank, positions: 'l1', epochs: opts.epochs, batchSize: opts.batch, lr: 1e-3 };
  const modes: Record<string, ReftModeFigures> = {};
  for (const cache of opts.modes) {
    const r = trainReft(m.model, tok, { train, dev: [] }, { ...cfg, cache });
    for (const p of r.interventions) p.intervention.dispose();
    const later = r.epochMs.slice(1);
    const steady = later.length ? later.reduce((a, b) => a + b, 0) / later.length : r.epochMs[0];
    modes[cache] = { epochMs: r.epochMs, firstEpochMs: r.epochMs[0], steadyEpochMs: steady, steadyStepMs: steady / Math.ceil(opts.examples / opts.batch), cacheMode: r.cacheMode };
  }
  const encoded = encodeExamples(tok, train);
  const pad = m.spec.padTokenId ?? m.spec.eosTokenIds[0] ?? 0;
  const peerBatches = epochBatches(encoded.length, opts.batch, REFT_DEFAULTS.seed, 0).map((idx) => {
    const b = supervisedBatch(idx.map((i) => encoded[i]), pad);
    const groups = interventionPositions(parsePositions('l1'), b.promptLengths, { shareWeights: true });
    return { ids: b.ids, mask: b.mask, positions: groups[0].map((row) => row[0]), targetPositions: b.targetPositions, targets: b.targets };
  });
  return {
    model: m.name,
    layer: opts.layer,
    layers: m.spec.nLayers,
    rank: opts.rank,
    examples: opts.examples,
    tokens: opts.tokens,
    batch: opts.batch,
    stepsPerEpoch: Math.ceil(opts.examples / opts.batch),
    modes,
    peerBatches,
  };
}
