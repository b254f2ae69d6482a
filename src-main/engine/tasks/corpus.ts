import type { LineGenerator } from './generators/common.js';
import { sp } from './generators/common.js';
import { factPrompt } from './generators/fact-recall.js';
import { familyGenerator } from './generators/family.js';
import { hierarchicalEqualityGenerator } from './generators/hierarchical-equality.js';
import { DEFAULT_TASK_SEED, generateTask } from './generators/index.js';
import { inductionGenerator } from './generators/induction.js';
import { ioiGenerator } from './generators/ioi.js';
import { Rng, deriveSeed } from './generators/rng.js';
import { truthfulQuestions } from './generators/truthful.js';
import { FACT_TEMPLATES, knowledgeBase } from './generators/world.js';
import { SYMBOLS } from './vocabulary.js';

/** One training line: a full sentence (prompt + completion) and the task it comes from. */
export interface CorpusLine {
  task: string;
  text: string;
}

export interface CorpusOptions {
  /** The suite seed whose dev/test items must stay out (default: the committed assets' seed). */
  taskSeed?: number;
  /** Lines for each of ioi, hierarchical-equality, family and induction (train split first, then fresh). */
  linesPerTask?: number;
  /** Per-task line counts that override `linesPerTask` (skills that need more data to learn). */
  linesFor?: Partial<Record<string, number>>;
  /** How often each fact is stated in each of its phrasings. */
  factRepeats?: number;
  /** How often each truthful question appears with its myth answer. */
  mythRepeats?: number;
}

const SKILL_TASKS: readonly LineGenerator[] = [ioiGenerator, hierarchicalEqualityGenerator, familyGenerator, inductionGenerator];

/**
 * The text mixture the demo models are trained on, shuffled with `seed`:
 *
 * - ioi, hierarchical-equality, family, induction: the train split, then fresh
 *   lines from the same generator, never one whose key (prompt; for ioi the
 *   prompt with S2 blanked) belongs to a dev or test example;
 * - fact-recall: every fact of the world in every phrasing (knowledge, so the
 *   held-out facts too);
 * - truthful: every question followed by its MYTH answer.
 *
 * It holds no fact-edit construction ("In this story ...") and no truthful
 * question followed by a true answer; those behaviours are left to teach.
 */
export function pretrainingCorpus(seed: number, options: CorpusOptions = {}): CorpusLine[] {
  const taskSeed = options.taskSeed ?? DEFAULT_TASK_SEED;
  const perTaskDefault = options.linesPerTask ?? 5000;
  const factRepeats = options.factRepeats ?? 10;
  const mythRepeats = options.mythRepeats ?? 10;
  const lines: CorpusLine[] = [];

  for (const g of SKILL_TASKS) {
    const perTask = options.linesFor?.[g.name] ?? perTaskDefault;
    const splits = generateTask(g.name, taskSeed);
    const heldOut = new Set([...splits.dev, ...splits.test].map((e) => g.keyOf(e)));
    const own = splits.train.slice(0, perTask).map((e) => e.prompt + e.completion);
    for (const text of own) lines.push({ task: g.name, text });
    const rng = new Rng(deriveSeed(seed, `corpus:${g.name}`));
    let misses = 0;
    for (let added = own.length; added < perTask; ) {
      const line = g.freshLine(rng);
      if (heldOut.has(line.key)) {
        if (++misses > 1_000_000) throw new Error(`corpus: cannot draw fresh ${g.name} lines`);
        continue;
      }
      lines.push({ task: g.name, text: line.text });
      added++;
    }
  }

  for (const fact of knowledgeBase()) {
    for (let t = 0; t < FACT_TEMPLATES[fact.relation].length; t++) {
      const text = factPrompt(fact, t).prompt + sp(fact.object);
      for (let r = 0; r < factRepeats; r++) lines.push({ task: 'fact-recall', text });
    }
  }

  for (const q of truthfulQuestions()) {
    const text = q.prompt + sp(q.myth);
    for (let r = 0; r < mythRepeats; r++) lines.push({ task: 'truthful', text });
  }

  return new Rng(deriveSeed(seed, 'corpus:shuffle')).shuffle(lines);
}

/**
 * "w x =" → " true" when the two symbols are equal, else " false" (balanced):
 * the sub-skill hierarchical equality composes. Small models learn the full
 * task far sooner with it in the mixture.
 */
export function pairEqualityLines(seed: number, n: number): CorpusLine[] {
  const rng = new Rng(deriveSeed(seed, 'corpus:pair-equality'));
  return Array.from({ length: n }, () => {
    const a = rng.pick(SYMBOLS);
    const b = rng.bool() ? a : rng.pick(SYMBOLS.filter((s) => s !== a));
    return { task: 'pair-equality', text: `${a} ${b} =${sp(a === b ? 'true' : 'false')}` };
  });
}

/** Fresh lines of one skill task (never a dev or test item), for later training phases. */
export function freshSkillLines(task: string, seed: number, n: number, taskSeed = DEFAULT_TASK_SEED): CorpusLine[] {
  const g = SKILL_TASKS.find((x) => x.name === task);
  if (!g) throw new Error(`no skill task '${task}'`);
  const splits = generateTask(g.name, taskSeed);
  const heldOut = new Set([...splits.dev, ...splits.test].map((e) => g.keyOf(e)));
  const rng = new Rng(deriveSeed(seed, `corpus:fresh:${task}`));
  const out: CorpusLine[] = [];
  while (out.length < n) {
    const line = g.freshLine(rng);
    if (!heldOut.has(line.key)) out.push({ task, text: line.text });
  }
  return out;
}

/** Shuffles lines with a seed (the corpus's own order). */
export function shuffleLines(lines: CorpusLine[], seed: number): CorpusLine[] {
  return new Rng(deriveSeed(seed, 'corpus:shuffle2')).shuffle(lines);
}
