import type { FreshLine, LineGenerator, TaskSplits } from './generators/common.js';
import { sp } from './generators/common.js';
import { factPrompt } from './generators/fact-recall.js';
import { familyGenerator } from './generators/family.js';
import { biasedEqualityLine, hierarchicalEqualityGenerator } from './generators/hierarchical-equality.js';
import { DEFAULT_TASK_SEED, generateTask } from './generators/index.js';
import { inductionGenerator } from './generators/induction.js';
import { ioiGenerator } from './generators/ioi.js';
import { Rng, deriveSeed } from './generators/rng.js';
import { truthfulQuestions } from './generators/truthful.js';
import { FACT_TEMPLATES, knowledgeBase } from './generators/world.js';

/** One training line: a full sentence (prompt + completion) and the task it comes from. */
export interface CorpusLine {
  task: string;
  text: string;
  /**
   * The index of the first word worth predicting, where the words before it are
   * random draws no model can predict (hierarchical equality's symbols, an
   * induction sequence's first pass): training on those adds only noise.
   */
  learnFrom?: number;
}

/** Where a skill line's predictable part starts (see CorpusLine.learnFrom). */
export function learnFrom(task: string, text: string): number | undefined {
  const words = text.trim().split(/\s+/);
  if (task === 'hierarchical-equality') return words.length - 1;
  // The repeat's first word cannot be foreseen; every word after it can be copied.
  if (task === 'induction') return words.indexOf(words[0], 1) + 1;
  return undefined;
}

function skillLine(task: string, text: string): CorpusLine {
  const from = learnFrom(task, text);
  return from === undefined ? { task, text } : { task, text, learnFrom: from };
}

/** The keys of a task's dev and test items, which no training line may repeat. */
function heldOutKeys(g: LineGenerator, splits: TaskSplits): Set<string> {
  return new Set([...splits.dev, ...splits.test].map((e) => g.keyOf(e)));
}

/** `n` lines drawn with `draw`, skipping any whose key is held out. */
function drawLines(task: string, n: number, heldOut: Set<string>, rng: Rng, draw: (rng: Rng) => FreshLine): CorpusLine[] {
  const out: CorpusLine[] = [];
  let misses = 0;
  while (out.length < n) {
    const line = draw(rng);
    if (!heldOut.has(line.key)) out.push(skillLine(task, line.text));
    else if (++misses > 1_000_000) throw new Error(`corpus: cannot draw fresh ${task} lines`);
  }
  return out;
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
    const own = splits.train.slice(0, perTask).map((e) => e.prompt + e.completion);
    for (const text of own) lines.push(skillLine(g.name, text));
    const rng = new Rng(deriveSeed(seed, `corpus:${g.name}`));
    lines.push(...drawLines(g.name, perTask - own.length, heldOutKeys(g, splits), rng, (r) => g.freshLine(r)));
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
 * Hierarchical-equality lines whose equalities each hold with probability `p`
 * (biasedEqualityLine says why), never a dev or test prompt.
 */
export function biasedEqualityLines(seed: number, n: number, p: number, taskSeed = DEFAULT_TASK_SEED): CorpusLine[] {
  const g = hierarchicalEqualityGenerator;
  const rng = new Rng(deriveSeed(seed, `corpus:biased-equality:${p}`));
  return drawLines(g.name, n, heldOutKeys(g, generateTask(g.name, taskSeed)), rng, (r) => biasedEqualityLine(r, p));
}

/** Fresh lines of one skill task (never a dev or test item), for later training phases. */
export function freshSkillLines(task: string, seed: number, n: number, taskSeed = DEFAULT_TASK_SEED): CorpusLine[] {
  const g = SKILL_TASKS.find((x) => x.name === task);
  if (!g) throw new Error(`no skill task '${task}'`);
  const rng = new Rng(deriveSeed(seed, `corpus:fresh:${task}`));
  return drawLines(task, n, heldOutKeys(g, generateTask(g.name, taskSeed)), rng, (r) => g.freshLine(r));
}

/** Shuffles lines with a seed (the corpus's own order). */
export function shuffleLines(lines: CorpusLine[], seed: number): CorpusLine[] {
  return new Rng(deriveSeed(seed, 'corpus:shuffle2')).shuffle(lines);
}
