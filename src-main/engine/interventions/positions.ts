/**
 * The ReFT positions grammar (pyreft's `parse_positions` / `get_intervention_locations`,
 * pyreft/dataset.py and examples/loreft/dataset.py) turned into the runtime's per-sequence
 * position lists (`SiteEdit.positions`: number[][], -1 = no position).
 *
 * Grammar, as pyreft accepts it: `f<n>` (the first n prompt tokens), `l<n>` (the last n), or
 * `f<n>+l<n>` (both; the f part comes first: pyreft fails on `l3+f2`). n is a whole number ≥ 0.
 * We also tolerate surrounding whitespace and spaces around '+'.
 *
 * Rules, for a prompt of length L (pyreft's `last_position`; its LoReFT experiment scripts pass
 * the prompt length, which we follow. Its generic ReftDataset subclasses pass L − 1, so their
 * "last" tokens stop one short of the final prompt token):
 * - Clipping: f = min(n_f, ⌊L/2⌋) and l = min(n_l, ⌊L/2⌋), ALWAYS, also when only one part is
 *   given (pyreft clips both unconditionally: `l3` on a 5-token prompt edits 2 tokens, and any
 *   spec on a 1-token prompt edits nothing). So first and last never overlap.
 * - Positions: first = 0..f−1, last = L−l..L−1, each shifted by the sequence's offset (the number
 *   of left-padding tokens) when given.
 * - Padding: a list is padded with -1 up to its unclipped length, so every sequence of a batch has
 *   the same list length whatever its prompt length (pyreft pads with a dummy pad-token position
 *   that attention ignores; the runtime ignores -1, which is equivalent).
 * - Groups: one group (one intervention per layer) for `f<n>`, `l<n>`, or any spec with shared
 *   weights: the list is first ++ last ++ padding (length n_f + n_l). Two groups (two
 *   interventions per layer, pyreft's `layers += layers`) for `f<n>+l<n>` without shared weights:
 *   group 0 = first ++ padding (prefix), group 1 = last ++ padding (suffix), both padded to
 *   max(n_f, n_l). pyreft quirk kept for parity: when, for a sequence, the clipped f or l is 0
 *   (an explicit `f0+l3`, or a prompt shorter than 2 tokens), BOTH groups get that sequence's
 *   combined list (first ++ last ++ padding).
 */
import { SubspaceError } from '../errors.js';

export interface ParsedPositions {
  /** n of `f<n>` (0 when absent). */
  first: number;
  /** n of `l<n>` (0 when absent). */
  last: number;
  /** Both parts were given (`f<n>+l<n>`): without shared weights that makes two groups. */
  combined: boolean;
  /** The canonical spelling, e.g. `f7+l7`. */
  spec: string;
}

export interface PositionOptions {
  /** One intervention covers first and last positions (pyreft `share_weights`). */
  shareWeights: boolean;
  /** Per sequence, the index where its prompt starts (left padding); default 0. */
  offsets?: number[];
  /**
   * Drop trailing columns that are -1 in every sequence of the group (the runtime ignores them;
   * this only makes the lists shorter). Default false: pyreft's padded lengths.
   */
  trimPadding?: boolean;
}

const GRAMMAR = "expected f<n>, l<n> or f<n>+l<n>, e.g. 'f7+l7', 'f1', 'l3'";
const MAX_N = 1 << 20;

export function parsePositions(spec: string): ParsedPositions {
  if (typeof spec !== 'string') {
    throw new SubspaceError('BAD_ARGUMENT', `positions must be a string (${GRAMMAR})`, 'positions');
  }
  const text = spec.trim();
  const m = /^(?:f(\d+)\s*\+\s*l(\d+)|f(\d+)|l(\d+))$/.exec(text);
  if (!m) {
    const swapped = /^l(\d+)\s*\+\s*f(\d+)$/.exec(text);
    const hint = swapped ? `: write the first-token part first, 'f${swapped[2]}+l${swapped[1]}'` : '';
    throw new SubspaceError('BAD_ARGUMENT', `positions '${spec}' does not parse: ${GRAMMAR}${hint}`, 'positions');
  }
  const num = (s: string | undefined) => {
    if (s === undefined) return 0;
    const n = Number(s);
    if (n > MAX_N) throw new SubspaceError('BAD_ARGUMENT', `positions '${spec}': ${s} is more positions than any prompt has (at most ${MAX_N})`, 'positions');
    return n;
  };
  if (m[1] !== undefined) {
    const first = num(m[1]);
    const last = num(m[2]);
    return { first, last, combined: true, spec: `f${first}+l${last}` };
  }
  if (m[3] !== undefined) {
    const first = num(m[3]);
    return { first, last: 0, combined: false, spec: `f${first}` };
  }
  const last = num(m[4]);
  return { first: 0, last, combined: false, spec: `l${last}` };
}

/** 1 or 2: how many interventions per layer the spec makes (pyreft: two for `f+l` without shared weights). */
export function interventionGroupCount(parsed: ParsedPositions | string, shareWeights: boolean): number {
  const p = typeof parsed === 'string' ? parsePositions(parsed) : parsed;
  return p.combined && !shareWeights ? 2 : 1;
}

/** The counts after pyreft's clipping for one prompt length: min(n, ⌊L/2⌋) each. */
export function clippedCounts(parsed: ParsedPositions | string, promptLength: number): { first: number; last: number } {
  const p = typeof parsed === 'string' ? parsePositions(parsed) : parsed;
  checkCount(promptLength, 'promptLengths');
  const half = Math.floor(promptLength / 2);
  return { first: Math.min(p.first, half), last: Math.min(p.last, half) };
}

/**
 * Per intervention group, per sequence, the positions to edit (-1 = none). `promptLengths[i]` is
 * the number of prompt tokens of sequence i; with left padding, `offsets[i]` is where they start.
 */
export function interventionPositions(parsed: ParsedPositions | string, promptLengths: number[], opts: PositionOptions): number[][][] {
  const p = typeof parsed === 'string' ? parsePositions(parsed) : parsed;
  if (!p || typeof p !== 'object' || !Number.isInteger(p.first) || !Number.isInteger(p.last) || p.first < 0 || p.last < 0) {
    throw new SubspaceError('BAD_ARGUMENT', `positions must come from parsePositions (${GRAMMAR})`, 'positions');
  }
  if (!Array.isArray(promptLengths)) throw new SubspaceError('BAD_ARGUMENT', 'promptLengths must be an array of whole numbers', 'promptLengths');
  promptLengths.forEach((L) => checkCount(L, 'promptLengths'));
  const offsets = opts?.offsets;
  if (offsets !== undefined) {
    if (!Array.isArray(offsets) || offsets.length !== promptLengths.length) {
      throw new SubspaceError('BAD_ARGUMENT', `offsets must list one start per sequence (${promptLengths.length}), got ${Array.isArray(offsets) ? offsets.length : typeof offsets}`, 'offsets');
    }
    offsets.forEach((o) => checkCount(o, 'offsets'));
  }
  const groups = interventionGroupCount(p, opts?.shareWeights ?? false);
  const out: number[][][] = Array.from({ length: groups }, () => []);
  const pad = (list: number[], n: number) => {
    while (list.length < n) list.push(-1);
    return list;
  };

  promptLengths.forEach((L, i) => {
    const o = offsets ? offsets[i] : 0;
    const { first: f, last: l } = clippedCounts(p, L);
    const firstPositions = Array.from({ length: f }, (_, k) => o + k);
    const lastPositions = Array.from({ length: l }, (_, k) => o + L - l + k);
    if (groups === 1 || f === 0 || l === 0) {
      const row = pad([...firstPositions, ...lastPositions], p.first + p.last);
      for (const g of out) g.push(row.slice());
    } else {
      const width = Math.max(p.first, p.last);
      out[0].push(pad(firstPositions, width));
      out[1].push(pad(lastPositions, width));
    }
  });

  // Rows of one group share one length (the runtime needs rectangular lists).
  for (const g of out) {
    let width = Math.max(0, ...g.map((row) => row.length));
    if (opts?.trimPadding) {
      while (width > 0 && g.every((row) => (row[width - 1] ?? -1) === -1)) width--;
      for (const row of g) row.length = Math.min(row.length, width);
    }
    for (const row of g) pad(row, width);
  }
  return out;
}

function checkCount(n: unknown, name: string): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
    throw new SubspaceError('BAD_ARGUMENT', `${name} must hold whole numbers ≥ 0, got ${String(n)}`, name);
  }
}
