import * as tf from '../tf.js';
import { SubspaceError } from '../errors.js';
import { KVCache, type SiteEdit, type Transformer } from './transformer.js';
import { seededRandom } from '../random.js';

export interface GenerateOptions {
  maxNewTokens?: number;
  /** 0 (default) is greedy decoding. */
  temperature?: number;
  /** Nucleus sampling: keep the smallest set of tokens whose probability reaches topP. */
  topP?: number;
  seed?: number;
  /** Generation stops for a sequence once it emits one of these ids. */
  stopTokens?: number[];
  /** Edits applied to the prompt pass only; decode steps run on the unedited model, as pyreft does. */
  promptEdits?: SiteEdit[];
  /**
   * Edits applied at every decode step (one new token per sequence), for methods
   * that act at every position or at the last one while generating (LoFIT, ITI).
   * They must not name positions.
   */
  decodeEdits?: SiteEdit[];
  padTokenId?: number;
  /** Called after every step with the tokens chosen, for streaming. */
  onToken?: (step: number, tokens: number[]) => void;
}

export interface GenerateResult {
  /** The new tokens per sequence, without the prompt, cut after a stop token (kept). */
  tokens: number[][];
  finished: boolean[];
}

export { seededRandom };

/** Picks one token from a row of logits. Exposed for tests. */
export function pickToken(logits: Float32Array, temperature: number, topP: number, rand: () => number): number {
  if (temperature <= 0) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const probs = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    probs[i] = Math.exp((logits[i] - max) / temperature);
    sum += probs[i];
  }
  const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a]);
  let kept = 0;
  let cum = 0;
  for (const i of order) {
    cum += probs[i] / sum;
    kept++;
    if (cum >= topP) break;
  }
  const nucleus = order.slice(0, kept);
  const total = nucleus.reduce((s, i) => s + probs[i], 0);
  let r = rand() * total;
  for (const i of nucleus) {
    r -= probs[i];
    if (r <= 0) return i;
  }
  return nucleus[nucleus.length - 1];
}

/**
 * Batched generation with a KV cache. Prompts are left-padded so every
 * sequence's next token sits at the last column.
 */
export function generate(model: Transformer, prompts: number[][], opts: GenerateOptions = {}): GenerateResult {
  const maxNew = opts.maxNewTokens ?? 20;
  const temperature = opts.temperature ?? 0;
  const topP = opts.topP ?? 1;
  if (!(maxNew >= 0) || !Number.isInteger(maxNew)) throw new SubspaceError('BAD_ARGUMENT', `max new tokens must be a whole number ≥ 0 (got ${maxNew})`, 'maxNewTokens');
  if (!(temperature >= 0)) throw new SubspaceError('BAD_ARGUMENT', `temperature must be ≥ 0 (got ${temperature})`, 'temperature');
  if (!(topP > 0 && topP <= 1)) throw new SubspaceError('BAD_ARGUMENT', `top-p must be in (0, 1] (got ${topP})`, 'topP');
  if (opts.decodeEdits?.some((e) => e.positions)) {
    throw new SubspaceError('BAD_ARGUMENT', 'decode-step edits act on the one new token and take no positions', 'decodeEdits');
  }
  if (prompts.length === 0 || prompts.some((p) => p.length === 0)) {
    throw new SubspaceError('BAD_ARGUMENT', 'empty prompt: every prompt needs at least one token', 'prompt');
  }
  const rand = seededRandom(opts.seed ?? 0);
  const stop = new Set(opts.stopTokens ?? model.spec.eosTokenIds);
  const pad = opts.padTokenId ?? model.spec.padTokenId ?? model.spec.eosTokenIds[0] ?? 0;
  const T = Math.max(...prompts.map((p) => p.length));
  const ids = prompts.map((p) => [...new Array(T - p.length).fill(pad), ...p]);
  const mask = prompts.map((p) => [...new Array(T - p.length).fill(0), ...p.map(() => 1)]);
  const cache = new KVCache(model.spec.nLayers);
  const out: number[][] = prompts.map(() => []);
  const finished = prompts.map(() => false);
  try {
    let step = 0;
    let next = ids;
    let nextMask = mask;
    while (step < maxNew && !finished.every(Boolean)) {
      const r = model.forward(
        { inputIds: next, attentionMask: nextMask },
        { cache, logits: 'last', edits: step === 0 ? opts.promptEdits : opts.decodeEdits },
      );
      const logits = r.logits!;
      const data = logits.dataSync() as Float32Array;
      tf.dispose([logits, ...Object.values(r.sites)]);
      const V = model.spec.vocabSize;
      const chosen: number[] = [];
      for (let b = 0; b < prompts.length; b++) {
        const tok = finished[b] ? pad : pickToken(data.subarray(b * V, (b + 1) * V), temperature, topP, rand);
        chosen.push(tok);
        if (!finished[b]) {
          out[b].push(tok);
          if (stop.has(tok)) finished[b] = true;
        }
      }
      opts.onToken?.(step, chosen);
      step++;
      next = chosen.map((t) => [t]);
      // Finished rows are fed masked padding until the whole batch is done.
      nextMask = finished.map((f) => [f ? 0 : 1]);
    }
  } finally {
    cache.dispose();
  }
  return { tokens: out, finished };
}
