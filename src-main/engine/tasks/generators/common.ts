import type { Split, TaskExample, TaskManifest } from '../schema.js';
import { SPLITS } from '../schema.js';
import type { Rng } from './rng.js';

export type SplitSizes = Record<Split, number>;
export type TaskSplits = Record<Split, TaskExample[]>;
export type Span = [number, number];

/** A line of text the demo models may be trained on, with the key it is deduplicated by. */
export interface FreshLine {
  key: string;
  text: string;
}

/** What every built-in task generator provides. */
export interface TaskGenerator {
  name: string;
  title: string;
  description: string;
  kind: TaskManifest['kind'];
  variables: string[];
  roles: string[];
  /** Bumped whenever the generator's output changes for a given seed. */
  version: number;
  defaultSizes: SplitSizes;
  /** The three splits; a pure function of the seed (and sizes). */
  generate(seed: number, sizes?: Partial<SplitSizes>): TaskSplits;
}

/**
 * A generator that can also draw fresh training lines for the pretraining
 * corpus; `keyOf` gives the key under which an example excludes fresh lines
 * (so no dev/test item is ever trained on).
 */
export interface LineGenerator extends TaskGenerator {
  freshLine(rng: Rng): FreshLine;
  keyOf(example: TaskExample): string;
}

export function resolveSizes(defaults: SplitSizes, sizes?: Partial<SplitSizes>): SplitSizes {
  const out = { ...defaults, ...sizes };
  for (const s of SPLITS) {
    if (!Number.isInteger(out[s]) || out[s] < 0) throw new Error(`bad size for split ${s}: ${out[s]}`);
  }
  return out;
}

export function exampleId(task: string, split: Split, index: number): string {
  return `${task}-${split}-${String(index).padStart(4, '0')}`;
}

/** A completion as it follows the prompt: one word with its leading space. */
export function sp(word: string): string {
  return ` ${word}`;
}

/**
 * Builds a prompt word by word, recording the character span [start, end) of
 * named words (the span covers the word itself, not the space before it).
 */
export class PromptBuilder {
  private text = '';
  readonly roles: Record<string, Span> = {};

  add(word: string, role?: string): this {
    if (word.length === 0 || word.includes(' ')) throw new Error(`bad word '${word}'`);
    if (this.text.length > 0) this.text += ' ';
    const start = this.text.length;
    this.text += word;
    if (role) this.roles[role] = [start, this.text.length];
    return this;
  }

  addAll(words: readonly string[]): this {
    for (const w of words) this.add(w);
    return this;
  }

  /** Marks the last word added as END. */
  end(): this {
    const start = this.text.lastIndexOf(' ') + 1;
    this.roles.END = [start, this.text.length];
    return this;
  }

  get prompt(): string {
    return this.text;
  }
}

/**
 * An example with its keys in one fixed order (so serialisation is stable) and
 * without undefined fields.
 */
export function makeExample(e: TaskExample): TaskExample {
  const order: (keyof TaskExample)[] = [
    'id', 'prompt', 'completion', 'wrong', 'correct', 'source', 'variables', 'sourceVariables',
    'counterfactual', 'roles', 'sourceRoles', 'meta',
  ];
  const out: Record<string, unknown> = {};
  for (const k of order) if (e[k] !== undefined) out[k] = e[k];
  return out as TaskExample;
}

/** Sorted role record (stable key order). */
export function orderedRoles(roles: Record<string, Span>, names: readonly string[]): Record<string, Span> {
  const out: Record<string, Span> = {};
  for (const n of names) {
    if (!roles[n]) throw new Error(`role ${n} missing`);
    out[n] = roles[n];
  }
  return out;
}

/**
 * Draws `n` items with keys not in `taken` (and adds their keys to it).
 * Throws if the draw function cannot produce enough distinct items.
 */
export function drawDistinct<T>(
  rng: Rng,
  n: number,
  taken: Set<string>,
  draw: (rng: Rng) => T,
  keyOf: (item: T) => string,
  what: string,
): T[] {
  const out: T[] = [];
  let misses = 0;
  while (out.length < n) {
    const item = draw(rng);
    const key = keyOf(item);
    if (taken.has(key)) {
      if (++misses > 200_000 + 100 * n) throw new Error(`${what}: cannot draw ${n} distinct items`);
      continue;
    }
    taken.add(key);
    out.push(item);
  }
  return out;
}

/** Up to k items of `pool` that are not in `exclude`, in random order. */
export function othersFrom<T>(rng: Rng, pool: readonly T[], exclude: readonly T[], k: number): T[] {
  return rng.sample(
    pool.filter((x) => !exclude.includes(x)),
    Math.min(k, pool.filter((x) => !exclude.includes(x)).length),
  );
}

/** Splits n items into [test, dev, train] counts by fractions (test and dev rounded). */
export function fractionCounts(n: number, devFrac: number, testFrac: number): SplitSizes {
  const test = Math.round(n * testFrac);
  const dev = Math.round(n * devFrac);
  return { train: n - test - dev, dev, test };
}
