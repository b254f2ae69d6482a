import * as tf from '../tf.js';
import { SubspaceError } from '../errors.js';
import type { SubspaceTokenizer } from '../io/tokenizer.js';
import type { SiteEdit, Transformer } from '../model/transformer.js';

export interface ScoredContinuation {
  /** Sum of log-probabilities of the continuation's tokens given the prompt. */
  logprob: number;
  /** Whether greedy decoding would produce the continuation (each token is the argmax). */
  greedy: boolean;
  tokens: number;
}

export interface ScoreOptions {
  batchSize?: number;
  /** Edits to apply, built per batch from the prompt lengths (e.g. at the last prompt token). */
  edits?: (promptLengths: number[], totalLength: number) => SiteEdit[];
}

/** Tokenises a prompt and its continuation so that prompt ⧺ continuation is what the model reads. */
export function encodePair(tok: SubspaceTokenizer, prompt: string, continuation: string): { prompt: number[]; continuation: number[] } {
  const p = tok.encode(prompt);
  const c = tok.encode(continuation, { addSpecialTokens: false });
  if (p.length === 0) throw new SubspaceError('BAD_ARGUMENT', `prompt encodes to no tokens: ${JSON.stringify(prompt)}`, 'prompt');
  if (c.length === 0) throw new SubspaceError('BAD_ARGUMENT', `completion encodes to no tokens: ${JSON.stringify(continuation)}`, 'completion');
  return { prompt: p, continuation: c };
}

/**
 * Log-likelihood of each continuation after its prompt, batched; only the
 * positions that predict continuation tokens are unembedded.
 */
export function scoreContinuations(model: Transformer, pairs: { prompt: number[]; continuation: number[] }[], opts: ScoreOptions = {}): ScoredContinuation[] {
  const bs = opts.batchSize ?? 32;
  const out: ScoredContinuation[] = [];
  const pad = model.spec.padTokenId ?? model.spec.eosTokenIds[0] ?? 0;
  for (let i = 0; i < pairs.length; i += bs) {
    const batch = pairs.slice(i, i + bs);
    const seqs = batch.map((p) => [...p.prompt, ...p.continuation]);
    const T = Math.max(...seqs.map((s) => s.length));
    const P = Math.max(...batch.map((p) => p.continuation.length));
    const ids = seqs.map((s) => [...s, ...new Array(T - s.length).fill(pad)]);
    const mask = seqs.map((s) => [...s.map(() => 1), ...new Array(T - s.length).fill(0)]);
    const positions = batch.map((p) => Array.from({ length: P }, (_, k) => (k < p.continuation.length ? p.prompt.length - 1 + k : -1)));
    const edits = opts.edits?.(batch.map((p) => p.prompt.length), T);
    const r = model.forward({ inputIds: ids, attentionMask: mask }, { logits: { positions }, edits });
    const logp = tf.tidy(() => tf.logSoftmax(r.logits!));
    const data = logp.dataSync() as Float32Array;
    tf.dispose([logp, r.logits!, ...Object.values(r.sites)]);
    const V = model.spec.vocabSize;
    batch.forEach((p, b) => {
      let lp = 0;
      let greedy = true;
      p.continuation.forEach((tokId, k) => {
        const row = data.subarray((b * P + k) * V, (b * P + k + 1) * V);
        lp += row[tokId];
        for (let v = 0; v < V; v++) {
          if (row[v] > row[tokId]) {
            greedy = false;
            break;
          }
        }
      });
      out.push({ logprob: lp, greedy, tokens: p.continuation.length });
    });
  }
  return out;
}
