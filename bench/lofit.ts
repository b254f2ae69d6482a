import type { LoadedModel } from '../src-main/engine/io/model-folder.js';
import { backendReport } from '../src-main/engine/backend/index.js';
import { openModel } from '../src-main/engine/open-model.js';
import { loadTask } from '../src-main/engine/tasks/registry.js';
import { LOFIT_SELECT_DEFAULTS, LOFIT_TUNE_DEFAULTS, lofitSelect, lofitTune } from '../src-main/engine/methods/lofit.js';
import type { HeadRef } from '../src-main/engine/methods/heads.js';
import { encodeExamples, epochBatches, supervisedBatch } from '../src-main/engine/train/supervised.js';
import type { TaskExample } from '../src-main/engine/tasks/schema.js';
import type { PeerBatch } from './reft.js';

export interface LofitOptions {
  epochs: number;
  batch: number;
}

export interface LofitStepFigures {
  epochMs: number[];
  firstEpochMs: number;
  steadyEpochMs: number;
  steps: number;
}

export interface LofitFigures {
  /** Parts each batch was split into (2: with the training helper thread), and the backend it ran on. */
  shards: number;
  device?: string;
  /** The model's folder (the peer loads the same weights). */
  folder?: string;
  model: string;
  task: string;
  examples: number;
  batch: number;
  select: LofitStepFigures & { lr: number; l1: number };
  tune: LofitStepFigures & { lr: number; heads: HeadRef[]; cachedPrefixLayer?: number };
  peerBatches: Omit<PeerBatch, 'positions'>[];
}

function figures(epochMs: number[], steps: number): LofitStepFigures {
  const later = epochMs.slice(1);
  return { epochMs, firstEpochMs: epochMs[0], steadyEpochMs: later.length ? later.reduce((a, b) => a + b, 0) / later.length : epochMs[0], steps };
}

/** LoFIT's two steps on a task (no dev evaluation: only training time is measured). */
export function benchLofit(m: LoadedModel, task: string, train: TaskExample[], opts: LofitOptions): LofitFigures {
  const tok = m.tokenizer!;
  const common = { epochs: opts.epochs, batchSize: opts.batch };
  const sel = lofitSelect(m.model, tok, { train, dev: [] }, common);
  const tune = lofitTune(m.model, tok, { train, dev: [] }, sel.selected, common);
  const encoded = encodeExamples(tok, train);
  const pad = m.spec.padTokenId ?? m.spec.eosTokenIds[0] ?? 0;
  const peerBatches = epochBatches(encoded.length, opts.batch, LOFIT_SELECT_DEFAULTS.seed, 0).map((idx) => {
    const b = supervisedBatch(idx.map((i) => encoded[i]), pad);
    return { ids: b.ids, mask: b.mask, targetPositions: b.targetPositions, targets: b.targets };
  });
  return {
    shards: Math.min(sel.shards, tune.shards),
    model: m.name,
    task,
    examples: train.length,
    batch: opts.batch,
    select: { ...figures(sel.epochMs, sel.steps), lr: sel.config.lr, l1: sel.config.l1 },
    tune: { ...figures(tune.epochMs, tune.steps), lr: LOFIT_TUNE_DEFAULTS.lr, heads: tune.heads, cachedPrefixLayer: tune.cachedPrefixLayer },
    peerBatches,
  };
}

/** The bench's LoFIT workload: demo-gpt2 on fact-edit, 64 training examples (8 in the smoke run), batch 8, 2 epochs. */
export async function benchLofitOnTask(opts: { smoke?: boolean }): Promise<LofitFigures> {
  const m = await openModel('demo-gpt2');
  try {
    const task = await loadTask('fact-edit');
    const train = task.splits.train.slice(0, opts.smoke ? 8 : 64);
    return { ...benchLofit(m, 'fact-edit', train, { epochs: 2, batch: 8 }), device: backendReport()?.device, folder: m.folder };
  } finally {
    m.model.dispose();
  }
}
