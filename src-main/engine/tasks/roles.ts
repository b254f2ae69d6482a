import { SubspaceError } from '../errors.js';
import type { SubspaceTokenizer } from '../io/tokenizer.js';

/** Character spans [start, end) of named roles in a prompt, as tasks store them. */
export type RoleSpans = Record<string, readonly [number, number]>;

/** Roles every prompt has, whatever the task: its first and its last token. */
export const BUILTIN_ROLES = ['first', 'last'] as const;

/**
 * Token positions of a prompt's named roles: each role maps to the index of the
 * last token that overlaps its span (the token a model has finished reading the
 * role at), in the ids `tok.encode(prompt)` gives, BOS included.
 *
 * A prefix of the prompt is encoded up to the span's end and matched against the
 * full encoding, so tokenizers that merge across the boundary still give the
 * position inside the full prompt.
 */
export function rolePositions(tok: SubspaceTokenizer, prompt: string, spans: RoleSpans | undefined): Record<string, number> {
  return encodeWithRoles(tok, prompt, spans).roles;
}

/** A prompt's ids (`tok.encode(prompt)`) and its role positions, encoding the prompt once. */
export function encodeWithRoles(tok: SubspaceTokenizer, prompt: string, spans: RoleSpans | undefined): { ids: number[]; roles: Record<string, number> } {
  const full = tok.encode(prompt);
  if (full.length === 0) throw new SubspaceError('BAD_ARGUMENT', 'rolePositions: the prompt encodes to no tokens.', 'prompt');
  const out: Record<string, number> = { first: 0, last: full.length - 1 };
  for (const [role, span] of Object.entries(spans ?? {})) {
    const [start, end] = span;
    if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end > start && end <= prompt.length)) {
      throw new SubspaceError(
        'BAD_ARGUMENT',
        `rolePositions: role "${role}" has span [${start}, ${end}), which is not inside the ${prompt.length}-character prompt.`,
        'roles',
      );
    }
    const prefix = tok.encode(prompt.slice(0, end));
    let common = 0;
    while (common < prefix.length && common < full.length && prefix[common] === full[common]) common++;
    // A prefix whose last token differs from the full prompt's (a merge across the
    // boundary) still ends inside that token: it is the first one that differs.
    const pos = common === prefix.length ? common - 1 : Math.min(common, full.length - 1);
    out[role] = Math.max(0, pos);
  }
  return { ids: full, roles: out };
}

/**
 * The position of `role` in one prompt, with an error that names the roles the
 * task does define when it does not have this one.
 */
export function rolePosition(tok: SubspaceTokenizer, prompt: string, spans: RoleSpans | undefined, role: string, taskName = 'the task'): number {
  const positions = rolePositions(tok, prompt, spans);
  const p = positions[role];
  if (p === undefined) {
    const known = Object.keys(positions).join(', ');
    throw new SubspaceError('BAD_ARGUMENT', `position role "${role}" is not defined by ${taskName}; it defines: ${known}.`, 'role');
  }
  return p;
}
