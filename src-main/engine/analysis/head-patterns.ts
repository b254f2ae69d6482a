import * as tf from '../tf.js';
import { SubspaceError } from '../errors.js';
import type { LoadedModel } from '../io/model-folder.js';
import type { SubspaceTokenizer } from '../io/tokenizer.js';
import { loadTask } from '../tasks/registry.js';
import type { Transformer } from '../model/transformer.js';
import { siteKey } from '../model/sites.js';
import { seededRandom, shuffleInPlace } from '../random.js';

/**
 * Attention-pattern signatures of each head, measured on random token
 * sequences repeated twice (the standard probe for copying circuits):
 *
 * - previous token: attention from each position to the one before it;
 * - duplicate token: from a token of the second copy to the same token in the first;
 * - induction: from a token of the second copy to the token that followed it
 *   in the first copy, the position whose value an induction head copies.
 *
 * Each score is a mean attention weight in [0, 1]: 1 means the head always
 * attends there, and 1/position is what uniform attention would give.
 */
export interface HeadPatterns {
  previousToken: number[][];
  duplicateToken: number[][];
  induction: number[][];
  sequences: number;
  length: number;
  seed: number;
  /** How many distinct tokens the sequences were drawn from. */
  poolSize: number;
}

export interface HeadPatternOptions {
  /** Random sequences to average over. */
  sequences?: number;
  /** Tokens per copy; each row is BOS (where the model has one), the sequence, then the sequence again. */
  length?: number;
  seed?: number;
  /**
   * The token ids to draw sequences from (default: the whole vocabulary, specials excluded). A model
   * trained on a narrow corpus may copy only the tokens it copied in training: taskTokens gives those.
   */
  tokens?: number[];
}

export const HEAD_PATTERN_DEFAULTS = { sequences: 64, length: 8, seed: 0 };

/** Token ids a random sequence may use: every id both the model and the tokenizer know, specials excluded. */
function tokenPool(model: Transformer, tok: SubspaceTokenizer | undefined): number[] {
  const spec = model.spec;
  const n = Math.min(spec.vocabSize, tok?.vocabSize ?? spec.vocabSize);
  const reserved = new Set([spec.bosTokenId, ...spec.eosTokenIds, spec.padTokenId, tok?.bosTokenId].filter((x): x is number => x !== undefined));
  const pool: number[] = [];
  for (let id = 0; id < n; id++) if (!reserved.has(id) && !tok?.isSpecialId(id)) pool.push(id);
  return pool;
}

/** The distinct non-special token ids of a task's examples (prompts and completions), in order of first use. */
export function taskTokens(tok: SubspaceTokenizer, examples: readonly { prompt: string; completion: string }[]): number[] {
  const seen = new Set<number>();
  for (const e of examples) for (const id of tok.encode(e.prompt + e.completion)) if (!tok.isSpecialId(id) && id !== tok.bosTokenId) seen.add(id);
  return [...seen];
}

/** The tokens of a built-in task's train split (taskTokens), for a model that must have a tokenizer. */
export async function tokensOfTask(m: LoadedModel, task: string): Promise<number[]> {
  if (!m.tokenizer) throw new SubspaceError('NOT_FOUND', `${m.folder}: no tokenizer.json; drawing tokens from a task needs one`, 'model');
  return taskTokens(m.tokenizer, (await loadTask(task)).splits.train);
}

function checkPool(tokens: number[], all: number[]): number[] {
  const allowed = new Set(all);
  const bad = tokens.find((id) => !allowed.has(id));
  if (bad !== undefined) throw new SubspaceError('BAD_ARGUMENT', `tokens: ${bad} is not an ordinary token id of this model`, 'tokens');
  return [...new Set(tokens)];
}

function wholeAtLeast(name: string, x: number, min: number): void {
  if (!Number.isInteger(x) || x < min) throw new SubspaceError('BAD_ARGUMENT', `${name} must be a whole number ≥ ${min} (got ${x})`, name);
}

export function headPatterns(model: Transformer, tok: SubspaceTokenizer | undefined, options: HeadPatternOptions = {}): HeadPatterns {
  const { sequences, length: L, seed } = { ...HEAD_PATTERN_DEFAULTS, ...options };
  wholeAtLeast('sequences', sequences, 1);
  wholeAtLeast('length', L, 2);
  const spec = model.spec;
  const bos = tok?.bosTokenId ?? spec.bosTokenId;
  const o = bos === undefined ? 0 : 1;
  if (o + 2 * L > spec.maxPositions) {
    throw new SubspaceError('BAD_ARGUMENT', `length ${L} repeated twice${o ? ' after BOS' : ''} is ${o + 2 * L} tokens, more than the model's ${spec.maxPositions} positions`, 'length');
  }
  const all = tokenPool(model, tok);
  const pool = options.tokens ? checkPool(options.tokens, all) : all;
  if (pool.length < L) throw new SubspaceError('BAD_ARGUMENT', `length ${L} needs ${L} distinct tokens; there are ${pool.length} to draw from`, 'length');

  const rand = seededRandom(seed);
  const ids = Array.from({ length: sequences }, () => {
    // Distinct tokens, so each token of the second copy has exactly one earlier occurrence.
    const seq = shuffleInPlace([...pool], rand).slice(0, L);
    return [...(o ? [bos!] : []), ...seq, ...seq];
  });
  const refs = Array.from({ length: spec.nLayers }, (_, layer) => ({ site: 'attention_pattern' as const, layer }));
  const r = model.forward({ inputIds: ids }, { read: refs, logits: 'none' });
  const zeros = () => Array.from({ length: spec.nLayers }, () => new Array<number>(spec.nHeads).fill(0));
  const out = { previousToken: zeros(), duplicateToken: zeros(), induction: zeros() };
  try {
    for (let l = 0; l < spec.nLayers; l++) {
      const a = r.sites[siteKey(refs[l])].arraySync() as number[][][][]; // [B, H, T, S]
      for (let h = 0; h < spec.nHeads; h++) {
        let prev = 0;
        let dup = 0;
        let ind = 0;
        for (const row of a) {
          const p = row[h];
          for (let t = o + 1; t < o + 2 * L; t++) prev += p[t][t - 1];
          for (let i = 0; i < L; i++) {
            const t = o + L + i; // seq[i] in the second copy
            dup += p[t][o + i];
            ind += p[t][o + i + 1];
          }
        }
        out.previousToken[l][h] = prev / (sequences * (2 * L - 1));
        out.duplicateToken[l][h] = dup / (sequences * L);
        out.induction[l][h] = ind / (sequences * L);
      }
    }
  } finally {
    tf.dispose(Object.values(r.sites));
  }
  return { ...out, sequences, length: L, seed, poolSize: pool.length };
}
