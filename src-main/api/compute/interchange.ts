/**
 * The Interchange view's engine call: one task example as a base/source pair
 * (tokens with their indices and roles) and, for one patch, the next-token
 * distributions of the clean, corrupt and patched runs. Runs in the compute process.
 */
import * as tf from '../../engine/tf.js';
import { SubspaceError } from '../../engine/errors.js';
import { encodePair } from '../../engine/eval/score.js';
import type { LoadedModel } from '../../engine/io/model-folder.js';
import type { SubspaceTokenizer } from '../../engine/io/tokenizer.js';
import { interchangeForward, type PatchableSite, type PromptTokens } from '../../engine/patching/index.js';
import { loadTask } from '../../engine/tasks/registry.js';
import { encodeWithRoles } from '../../engine/tasks/roles.js';

export interface InterchangeSiteArg {
  site: PatchableSite;
  layer: number;
  head?: number;
  positions: 'all' | (number | string)[];
}

export interface InterchangeCellArgs {
  model: string;
  task: string;
  split: 'train' | 'dev' | 'test';
  index: number;
  direction: 'denoise' | 'noise';
  /** Edited prompts replace the example's (the roles then shrink to first and last). */
  basePrompt?: string;
  sourcePrompt?: string;
  site?: InterchangeSiteArg;
  topK: number;
}

export interface ProbToken {
  id: number;
  token: string;
  prob: number;
}

export interface SideOut {
  /** Which run of the pair this side is. */
  run: 'clean' | 'corrupt';
  prompt: string;
  tokens: string[];
  roles: Record<string, number>;
  edited: boolean;
}

export interface InterchangeCellResult {
  exampleId: string;
  total: number;
  direction: 'denoise' | 'noise';
  base: SideOut;
  source: SideOut;
  answers: { clean: { id: number; token: string }; corrupt: { id: number; token: string } };
  distributions?: { clean: ProbToken[]; corrupt: ProbToken[]; patched: ProbToken[] };
}

/** Softmax of one row, its top k, and any `extra` ids wherever they rank. */
/** Tokens of a prompt the user edited, with the roles every prompt has. */
function editedTokens(ids: number[]): { ids: number[]; roles: Record<string, number> } {
  return { ids, roles: { first: 0, last: ids.length - 1 } };
}

function topOf(tok: SubspaceTokenizer, logits: Float32Array, k: number, extra: number[]): ProbToken[] {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const order = Array.from(logits.keys())
    .sort((a, b) => logits[b] - logits[a])
    .slice(0, k);
  const ids = [...new Set([...order, ...extra])];
  const names = tok.tokenStrings(ids);
  return ids.map((id, i) => ({ id, token: names[i] ?? String(id), prob: Math.exp(logits[id] - max) / sum }));
}

function lastLogits(m: LoadedModel, ids: number[][], run: (ids: number[][]) => tf.Tensor): Float32Array {
  const t = run(ids);
  try {
    return t.dataSync() as Float32Array;
  } finally {
    t.dispose();
  }
}

export async function interchangeCell(m: LoadedModel, a: InterchangeCellArgs): Promise<InterchangeCellResult> {
  const tok = m.tokenizer;
  if (!tok) throw new SubspaceError('NOT_FOUND', `${m.folder}: no tokenizer.json; interchange needs one`, 'model');
  const task = await loadTask(a.task);
  const list = task.splits[a.split];
  if (a.index >= list.length) throw new SubspaceError('BAD_ARGUMENT', `index: ${a.index} is past the end of ${a.task}/${a.split} (${list.length} examples)`, 'index');
  const ex = list[a.index];
  if (!ex.source) throw new SubspaceError('BAD_ARGUMENT', `index: example '${ex.id}' of ${a.task} has no source prompt to patch from`, 'index');
  const denoise = a.direction === 'denoise';
  // Denoise patches clean values into the corrupt run: the corrupt prompt is the base.
  const side = (run: 'clean' | 'corrupt', edited: string | undefined, field: string): SideOut & { ids: number[] } => {
    const original = run === 'clean' ? ex.prompt : ex.source!.prompt;
    const prompt = edited ?? original;
    const isEdited = edited !== undefined && edited !== original;
    // An edited prompt keeps only first and last: the task's spans describe the original.
    const { ids, roles } = isEdited ? editedTokens(tok.encode(prompt)) : encodeWithRoles(tok, prompt, run === 'clean' ? ex.roles : ex.sourceRoles);
    if (ids.length === 0) throw new SubspaceError('BAD_ARGUMENT', `${field}: encodes to no tokens`, field);
    if (ids.length > m.spec.maxPositions) throw new SubspaceError('BAD_ARGUMENT', `${field}: ${ids.length} tokens, but ${m.name} takes at most ${m.spec.maxPositions}`, field);
    return { run, prompt, tokens: tok.tokenStrings(ids), roles, edited: isEdited, ids };
  };
  const base = side(denoise ? 'corrupt' : 'clean', a.basePrompt, 'basePrompt');
  const source = side(denoise ? 'clean' : 'corrupt', a.sourcePrompt, 'sourcePrompt');
  const clean = denoise ? source : base;
  const corrupt = denoise ? base : source;
  const answerOf = (prompt: string, completion: string) => {
    const id = encodePair(tok, prompt, completion).continuation[0];
    return { id, token: tok.tokenStrings([id])[0] ?? String(id) };
  };
  const answers = { clean: answerOf(ex.prompt, ex.completion), corrupt: answerOf(ex.source.prompt, ex.source.completion) };
  const strip = ({ ids: _ids, ...s }: SideOut & { ids: number[] }): SideOut => s;
  const out: InterchangeCellResult = { exampleId: ex.id, total: list.length, direction: a.direction, base: strip(base), source: strip(source), answers };
  if (!a.site) return out;
  const extra = [answers.clean.id, answers.corrupt.id];
  const plain = (ids: number[]) => lastLogits(m, [ids], (x) => m.model.forward({ inputIds: x }, { logits: 'last' }).logits!);
  const asTokens = (s: { ids: number[]; roles: Record<string, number> }): PromptTokens => ({ ids: s.ids, roles: s.roles });
  const patched = lastLogits(m, [base.ids], () => {
    const r = interchangeForward(m.model, [asTokens(base)], [asTokens(source)], [{ ...a.site!, positions: a.site!.positions }], { logits: 'last', taskName: a.task });
    tf.dispose(Object.values(r.sites));
    return r.logits!;
  });
  out.distributions = { clean: topOf(tok, plain(clean.ids), a.topK, extra), corrupt: topOf(tok, plain(corrupt.ids), a.topK, extra), patched: topOf(tok, patched, a.topK, extra) };
  return out;
}
