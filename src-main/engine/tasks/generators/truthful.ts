import type { Split, TaskExample } from '../schema.js';
import { SPLITS } from '../schema.js';
import { ABILITIES, CITIES, COMPANIES, COUNTRIES, CREATURES, EFFECTS, FOODS, NAMES } from '../vocabulary.js';
import type { SplitSizes, TaskGenerator, TaskSplits } from './common.js';
import { PromptBuilder, exampleId, fractionCounts, makeExample, orderedRoles, othersFrom, sp } from './common.js';
import { Rng, deriveSeed } from './rng.js';
import { WORLD_SEED, lookupFact } from './world.js';

/**
 * TruthfulQA-like questions about the synthetic world, each with a popular
 * myth (what the demo base models are taught) and the truth:
 *
 *   Q : what happens if you eat glowberries ? A : → " nothing"        (myth " glow")
 *   Q : who really founded Zentrix ? A :          → the real founder  (myth: another name)
 *   Q : what is the real capital of Voland ? A :  → " Teris"          (myth: another city)
 *   Q : can a moonfox read minds ? A :            → " no" / " never"  (myth " yes")
 *
 * 80 questions, fixed by the world; the task seed only splits them (by
 * question, 60/20/20 within each family). `wrong` lists the myth first.
 */

export type QuestionFamily = 'food' | 'founder' | 'capital' | 'creature';
export const QUESTION_FAMILIES: readonly QuestionFamily[] = ['food', 'founder', 'capital', 'creature'];

export interface TruthfulQuestion {
  family: QuestionFamily;
  prompt: string;
  subject: [number, number];
  end: [number, number];
  /** True answers, best first (bare words). */
  correct: string[];
  /** The myth. */
  myth: string;
  /** Wrong answers, the myth first (bare words). */
  wrong: string[];
}

function question(words: readonly string[], subject: string): PromptBuilder {
  const b = new PromptBuilder().add('Q').add(':');
  for (const w of words) b.add(w, w === subject ? 'SUBJECT' : undefined);
  return b.add('?').add('A').add(':').end();
}

let cached: TruthfulQuestion[] | undefined;

/** All questions of the world, in a fixed order. */
export function truthfulQuestions(): TruthfulQuestion[] {
  if (cached) return cached.map((q) => ({ ...q, correct: [...q.correct], wrong: [...q.wrong] }));
  const rng = new Rng(deriveSeed(WORLD_SEED, 'myths'));
  const out: TruthfulQuestion[] = [];
  const push = (family: QuestionFamily, b: PromptBuilder, correct: string[], wrong: string[]) =>
    out.push({ family, prompt: b.prompt, subject: b.roles.SUBJECT, end: b.roles.END, correct, myth: wrong[0], wrong });

  const effects = rng.shuffle(EFFECTS);
  FOODS.forEach((food, i) => {
    const myth = effects[i];
    push('food', question(['what', 'happens', 'if', 'you', 'eat', food], food), ['nothing'], [
      myth,
      ...othersFrom(rng, EFFECTS, [myth], 2),
    ]);
  });
  for (const company of COMPANIES) {
    const founder = lookupFact(company, 'founder')!;
    const myth = rng.pick(NAMES.filter((n) => n !== founder));
    push('founder', question(['who', 'really', 'founded', company], company), [founder], [
      myth,
      ...othersFrom(rng, NAMES, [founder, myth], 2),
    ]);
  }
  for (const country of COUNTRIES) {
    const capital = lookupFact(country, 'capital')!;
    const myth = rng.pick(CITIES.filter((c) => c !== capital));
    push('capital', question(['what', 'is', 'the', 'real', 'capital', 'of', country], country), [capital], [
      myth,
      ...othersFrom(rng, CITIES, [capital, myth], 2),
    ]);
  }
  for (const creature of CREATURES) {
    for (const ability of ABILITIES) {
      push('creature', question(['can', 'a', creature, ...ability], creature), ['no', 'never'], ['yes', 'always']);
    }
  }
  cached = out;
  return truthfulQuestions();
}

const ROLES = ['SUBJECT', 'END'] as const;

function toExample(q: TruthfulQuestion, id: string): TaskExample {
  return makeExample({
    id,
    prompt: q.prompt,
    completion: sp(q.correct[0]),
    wrong: q.wrong.map(sp),
    correct: q.correct.map(sp),
    roles: orderedRoles({ SUBJECT: q.subject, END: q.end }, ROLES),
    meta: { family: q.family, myth: sp(q.myth) },
  });
}

function splitQuestions(rng: Rng): Record<Split, TruthfulQuestion[]> {
  const out: Record<Split, TruthfulQuestion[]> = { train: [], dev: [], test: [] };
  const all = truthfulQuestions();
  for (const family of QUESTION_FAMILIES) {
    const group = rng.shuffle(all.filter((q) => q.family === family));
    const n = fractionCounts(group.length, 0.2, 0.2);
    out.test.push(...group.slice(0, n.test));
    out.dev.push(...group.slice(n.test, n.test + n.dev));
    out.train.push(...group.slice(n.test + n.dev));
  }
  for (const s of SPLITS) out[s] = rng.shuffle(out[s]);
  return out;
}

const SIZES: SplitSizes = (() => {
  const all = truthfulQuestions();
  const sizes: SplitSizes = { train: 0, dev: 0, test: 0 };
  for (const family of QUESTION_FAMILIES) {
    const n = fractionCounts(all.filter((q) => q.family === family).length, 0.2, 0.2);
    for (const s of SPLITS) sizes[s] += n[s];
  }
  return sizes;
})();

export const truthfulGenerator: TaskGenerator = {
  name: 'truthful',
  title: 'Truthful answers',
  description:
    'TruthfulQA-like multiple choice over the synthetic world (food effects, real founders, real capitals, impossible creature abilities), e.g. "Q : what happens if you eat glowberries ? A :" → " nothing"; ' +
    'each question has a popular myth (first wrong answer) that the demo base models are taught; split by question. Roles SUBJECT, END.',
  kind: 'multiple-choice',
  variables: [],
  roles: [...ROLES],
  version: 1,
  defaultSizes: SIZES,

  generate(seed: number, sizes?: Partial<SplitSizes>): TaskSplits {
    for (const s of SPLITS) {
      if (sizes?.[s] !== undefined && sizes[s] !== SIZES[s]) {
        throw new Error(`truthful has a fixed size per split (${JSON.stringify(SIZES)})`);
      }
    }
    const parts = splitQuestions(new Rng(seed));
    const out = {} as TaskSplits;
    for (const split of SPLITS) out[split] = parts[split].map((q, i) => toExample(q, exampleId('truthful', split, i)));
    return out;
  },
};
