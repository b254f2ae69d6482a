/**
 * LoFIT's part in a training helper thread: the same task loss and gradient as the
 * loop's own (lofit-step.ts), on the rows the loop hands over, with the parameters
 * the loop sends each step.
 */
import * as tf from '../tf.js';
import { SubspaceError } from '../errors.js';
import { shardModel } from '../parallel/shard-model.js';
import type { SiteEdit } from '../model/transformer.js';
import { PrefixCache, type EncodedExample } from '../train/supervised.js';
import type { PreferenceExample } from './dpo.js';
import type { HeadRef } from './heads.js';
import { cacheRows, FoldedOffsets, scaleEdits, stepTaskLoss, type StepData } from './lofit-step.js';

/** What the loop sends once per training run. */
export interface LofitShardRun {
  op: 'run';
  modelKey: number;
  /** 'select': one [H, dh] scale per layer; 'tune': one [dh] offset per head of `heads`. */
  kind: 'select' | 'tune';
  heads?: HeadRef[];
  shapes: number[][];
  encoded: EncodedExample[];
  prefs?: PreferenceExample[];
  ref?: { chosen: number[]; rejected: number[] };
  beta: number;
  pad: number;
  cacheLayer?: number;
}

/** One step: the rows to compute and the parameters' current values. */
export interface LofitShardStep {
  op: 'step';
  rows: number[];
  params: Float32Array[];
}

export interface LofitShardGrad {
  loss: number;
  grads: Float32Array[];
}

interface RunState {
  data: StepData;
  vars: tf.Variable[];
  edits: () => SiteEdit[];
  dispose: () => void;
}

let run: RunState | undefined;

function endRun(): void {
  run?.dispose();
  run = undefined;
}

function startRun(m: LofitShardRun): void {
  endRun();
  const model = shardModel(m.modelKey);
  // In a tidy, so the zero tensors the variables start from are freed (as newVariable does in lofit.ts).
  const vars = tf.tidy(() => m.shapes.map((shape) => tf.variable(tf.zeros(shape), true)));
  const cache = m.cacheLayer !== undefined ? new PrefixCache(model, m.cacheLayer, cacheRows(m.encoded, m.prefs), m.pad) : undefined;
  // As the loop does: every row now, so this thread's tensor count is steady from the first step too.
  cache?.fillAll();
  const folded = m.kind === 'tune' ? new FoldedOffsets(model, m.heads ?? []) : undefined;
  run = {
    data: { model, encoded: m.encoded, prefs: m.prefs, ref: m.ref, beta: m.beta, pad: m.pad, cache },
    vars,
    edits: folded ? () => folded.edits(vars) : () => scaleEdits(vars),
    dispose: () => {
      tf.dispose(vars);
      cache?.dispose();
      folded?.dispose();
    },
  };
}

function step(m: LofitShardStep): LofitShardGrad {
  if (!run) throw new SubspaceError('INTERNAL', 'a LoFIT step reached the training helper before its run');
  const r = run;
  tf.tidy(() => m.params.forEach((p, i) => r.vars[i].assign(tf.tensor(p, r.vars[i].shape))));
  const { value, grads } = tf.variableGrads(() => stepTaskLoss(r.data, m.rows, r.edits()), r.vars);
  try {
    return { loss: value.dataSync()[0], grads: r.vars.map((v) => Float32Array.from(grads[v.name].dataSync() as Float32Array)) };
  } finally {
    tf.dispose([value, ...Object.values(grads)]);
  }
}

export function handleLofitShard(m: Record<string, unknown>): unknown {
  switch (m.op) {
    case 'run':
      startRun(m as unknown as LofitShardRun);
      return undefined;
    case 'step':
      return step(m as unknown as LofitShardStep);
    case 'end':
      endRun();
      return undefined;
    default:
      throw new SubspaceError('INTERNAL', `unknown LoFIT helper message '${String(m.op)}'`);
  }
}
