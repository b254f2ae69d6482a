import { SubspaceError } from '../errors.js';
import type { SubspaceTokenizer } from '../io/tokenizer.js';
import { encodeWithRoles } from '../tasks/roles.js';
import type { TaskExample } from '../tasks/schema.js';

/** A tokenised prompt and the token positions of its named roles (always `first` and `last`). */
export interface PromptTokens {
  ids: number[];
  roles: Record<string, number>;
}

/**
 * One clean/corrupt pair of a task: the example's prompt (clean) and its source
 * prompt (corrupt). Answers are the first token of each completion.
 */
export interface PatchPair {
  id: string;
  clean: PromptTokens;
  corrupt: PromptTokens;
  /** The clean answer: `correct` in the logit difference. */
  answer: number;
  /** `wrong` in the logit difference: the corrupt answer, or the example's first wrong answer where both runs give the same answer. */
  wrong: number;
  /** The corrupt (source) run's own answer. */
  sourceAnswer: number;
  /** The causal model's counterfactual for the chosen variable (base = clean prompt, variable from the source). */
  counterfactual?: number;
  /** Every answer the example names (completion, wrong answers, source answer, counterfactuals): accuracy is over these. */
  candidates: number[];
}

/** Which run gives the activations. denoise: clean values into the corrupt run; noise: corrupt values into the clean run. */
export type PatchDirection = 'denoise' | 'noise';
export const PATCH_DIRECTIONS: readonly PatchDirection[] = ['denoise', 'noise'];

export interface PairOptions {
  /** A causal variable of the task: accuracy and probability then target `counterfactual[variable]` (noise direction). */
  variable?: string;
  /** Named in error messages. */
  taskName?: string;
}

/** The first token of each answer text, encoded once however many examples name it. */
function answerTokens(tok: SubspaceTokenizer): (answer: string) => number {
  const seen = new Map<string, number>();
  return (answer) => {
    let id = seen.get(answer);
    if (id === undefined) {
      const ids = tok.encode(answer, { addSpecialTokens: false });
      if (ids.length === 0) throw new SubspaceError('BAD_ARGUMENT', `completion encodes to no tokens: ${JSON.stringify(answer)}`, 'completion');
      id = ids[0];
      seen.set(answer, id);
    }
    return id;
  };
}

/**
 * Tokenises task examples into clean/corrupt pairs. Every example needs a
 * `source`; with `variable`, every example needs that counterfactual label.
 */
export function preparePairs(tok: SubspaceTokenizer, examples: readonly TaskExample[], opts: PairOptions = {}): PatchPair[] {
  const task = opts.taskName ? `task '${opts.taskName}'` : 'the task';
  if (examples.length === 0) throw new SubspaceError('BAD_ARGUMENT', `no examples to patch: ${task} gave an empty list`, 'examples');
  const firstToken = answerTokens(tok);
  return examples.map((e) => {
    if (!e.source) {
      throw new SubspaceError('BAD_ARGUMENT', `example '${e.id}' of ${task} has no source prompt: patching needs a (base, source) pair for every example`, e.id);
    }
    const clean: PromptTokens = encodeWithRoles(tok, e.prompt, e.roles);
    const corrupt: PromptTokens = encodeWithRoles(tok, e.source.prompt, e.sourceRoles);
    const answer = firstToken(e.completion);
    const sourceAnswer = firstToken(e.source.completion);
    const wrongs = e.wrong.map((w) => firstToken(w));
    const wrong = sourceAnswer !== answer ? sourceAnswer : (wrongs.find((w) => w !== answer) ?? wrongs[0]);
    let counterfactual: number | undefined;
    if (opts.variable !== undefined) {
      const label = e.counterfactual?.[opts.variable];
      if (label === undefined) {
        const known = Object.keys(e.counterfactual ?? {});
        throw new SubspaceError(
          'BAD_ARGUMENT',
          `example '${e.id}' of ${task} has no counterfactual label for variable '${opts.variable}' (it has: ${known.length ? known.join(', ') : 'none'})`,
          'variable',
        );
      }
      counterfactual = firstToken(label);
    }
    const cf = Object.values(e.counterfactual ?? {}).map((c) => firstToken(c));
    const candidates = [...new Set([answer, ...wrongs, sourceAnswer, ...cf])];
    return { id: e.id, clean, corrupt, answer, wrong, sourceAnswer, counterfactual, candidates };
  });
}

/** Base (the run that is patched) and source (the run that gives activations) of each pair. */
export function sides(pairs: readonly PatchPair[], direction: PatchDirection): { base: PromptTokens[]; source: PromptTokens[] } {
  if (direction !== 'denoise' && direction !== 'noise') {
    throw new SubspaceError('BAD_ARGUMENT', `direction must be denoise or noise (got '${String(direction)}')`, 'direction');
  }
  return direction === 'denoise'
    ? { base: pairs.map((p) => p.corrupt), source: pairs.map((p) => p.clean) }
    : { base: pairs.map((p) => p.clean), source: pairs.map((p) => p.corrupt) };
}

/**
 * The answer a patch should produce, for probability and accuracy: the answer
 * of the run the activations come from (denoise: the clean answer; noise: the
 * corrupt answer), or with a variable, the causal model's counterfactual.
 */
export function targets(pairs: readonly PatchPair[], direction: PatchDirection): number[] {
  return pairs.map((p) => {
    if (p.counterfactual !== undefined) {
      if (direction !== 'noise') {
        throw new SubspaceError(
          'BAD_ARGUMENT',
          'a causal variable needs direction noise: counterfactual labels describe the clean (base) prompt taking that variable from the source prompt',
          'variable',
        );
      }
      return p.counterfactual;
    }
    return direction === 'denoise' ? p.answer : p.sourceAnswer;
  });
}

/** A batch of prompts padded on the right to one length. */
export interface PaddedBatch {
  ids: number[][];
  mask: number[][];
  lengths: number[];
  roles: Record<string, number>[];
  T: number;
}

/** Token sequences padded on the right to the longest, with the attention mask (1 on real tokens). */
export function padSequences(seqs: readonly (readonly number[])[], padId: number): { ids: number[][]; mask: number[][]; T: number } {
  const T = Math.max(...seqs.map((s) => s.length));
  return {
    ids: seqs.map((s) => [...s, ...new Array(T - s.length).fill(padId)]),
    mask: seqs.map((s) => [...s.map(() => 1), ...new Array(T - s.length).fill(0)]),
    T,
  };
}

export function padBatch(prompts: readonly PromptTokens[], padId: number): PaddedBatch {
  const { ids, mask, T } = padSequences(prompts.map((p) => p.ids), padId);
  return { ids, mask, lengths: prompts.map((p) => p.ids.length), roles: prompts.map((p) => p.roles), T };
}

/** Which tokens to patch: 'all', or a list of token indices and role names. */
export type PositionSpec = 'all' | readonly (number | string)[];

/** Per pair, the base positions and the aligned source positions, padded with -1 to one length. */
export interface AlignedPositions {
  base: number[][];
  source: number[][];
}

/**
 * Aligns positions between base and source, which may differ in length: a number
 * is the same token index in both; a role name is each prompt's own position of
 * that role; 'all' is every index both prompts have (the common prefix length).
 */
export function alignPositions(spec: PositionSpec, base: PaddedBatch, source: PaddedBatch, taskName = 'the task'): AlignedPositions {
  if (base.lengths.length !== source.lengths.length) {
    throw new SubspaceError('BAD_ARGUMENT', `base has ${base.lengths.length} inputs but source has ${source.lengths.length}: every base input needs its source`, 'source');
  }
  const b: number[][] = [];
  const s: number[][] = [];
  for (let i = 0; i < base.lengths.length; i++) {
    const lb = base.lengths[i];
    const ls = source.lengths[i];
    if (spec === 'all') {
      const n = Math.min(lb, ls);
      b.push(Array.from({ length: n }, (_, t) => t));
      s.push(Array.from({ length: n }, (_, t) => t));
      continue;
    }
    if (!Array.isArray(spec) || spec.length === 0) {
      throw new SubspaceError('BAD_ARGUMENT', `positions must be 'all' or a non-empty list of token indices and role names`, 'positions');
    }
    const rb: number[] = [];
    const rs: number[] = [];
    for (const p of spec) {
      if (typeof p === 'number') {
        if (!Number.isInteger(p) || p < 0 || p >= Math.min(lb, ls)) {
          throw new SubspaceError('BAD_ARGUMENT', `position ${p} is out of range for pair ${i}: base has ${lb} tokens and source ${ls}`, 'positions');
        }
        rb.push(p);
        rs.push(p);
      } else {
        const pb = base.roles[i][p];
        const ps = source.roles[i][p];
        if (pb === undefined || ps === undefined) {
          const known = Object.keys(pb === undefined ? base.roles[i] : source.roles[i]).join(', ');
          throw new SubspaceError('BAD_ARGUMENT', `position role "${p}" is not defined by ${taskName}; it defines: ${known}.`, 'positions');
        }
        rb.push(pb);
        rs.push(ps);
      }
    }
    b.push(rb);
    s.push(rs);
  }
  return { base: padRows(b), source: padRows(s) };
}

/** Pads ragged position lists with -1 (the runtime ignores those entries). */
export function padRows(rows: number[][]): number[][] {
  const P = Math.max(1, ...rows.map((r) => r.length));
  return rows.map((r) => [...r, ...new Array(P - r.length).fill(-1)]);
}

/** The roles every pair defines on both sides, in the order given, else in the order the first pair lists them. */
export function commonRoles(pairs: readonly PatchPair[], preferred: readonly string[] = []): string[] {
  const first = Object.keys(pairs[0]?.clean.roles ?? {});
  const order = [...preferred, ...first.filter((r) => !preferred.includes(r))];
  return order.filter((r) => pairs.every((p) => p.clean.roles[r] !== undefined && p.corrupt.roles[r] !== undefined));
}
