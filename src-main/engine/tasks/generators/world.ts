import { CITIES, COMPANIES, COUNTRIES, LANGUAGES, NAMES } from '../vocabulary.js';
import { PromptBuilder } from './common.js';
import { Rng, deriveSeed } from './rng.js';

/**
 * The synthetic world shared by fact-recall, fact-edit and truthful: 20
 * made-up countries (capital, language) and 20 made-up companies (founder,
 * headquarters). The world is fixed (its own constant seed), independent of
 * the task seed, so every task and the pretraining corpus agree on it.
 */

export const WORLD_SEED = 0x5eed_0001;

export const RELATIONS = ['capital', 'language', 'founder', 'headquarters'] as const;
export type Relation = (typeof RELATIONS)[number];

export interface Fact {
  subject: string;
  relation: Relation;
  object: string;
}

/** Templates per relation; "X" is the subject. The object follows the last word. */
export const FACT_TEMPLATES: Record<Relation, readonly (readonly string[])[]> = {
  capital: [
    ['the', 'capital', 'of', 'X', 'is'],
    ['X', "'s", 'capital', 'is'],
    ['the', 'capital', 'city', 'of', 'X', 'is'],
  ],
  language: [
    ['the', 'language', 'of', 'X', 'is'],
    ['people', 'in', 'X', 'speak'],
    ['the', 'main', 'language', 'of', 'X', 'is'],
  ],
  founder: [
    ['the', 'founder', 'of', 'X', 'is'],
    ['X', 'was', 'founded', 'by'],
    ['the', 'company', 'X', 'was', 'founded', 'by'],
  ],
  headquarters: [
    ['X', 'is', 'based', 'in'],
    ['the', 'home', 'city', 'of', 'X', 'is'],
    ['the', 'company', 'X', 'is', 'based', 'in'],
  ],
};

/** The answers a relation can have (wrong answers are drawn from the same list). */
export const RELATION_VALUES: Record<Relation, readonly string[]> = {
  capital: CITIES,
  language: LANGUAGES,
  founder: NAMES,
  headquarters: CITIES,
};

let cached: Fact[] | undefined;

/** All 80 facts of the world, grouped by relation, subjects in vocabulary order. */
export function knowledgeBase(): Fact[] {
  if (cached) return cached.map((f) => ({ ...f }));
  const rng = new Rng(deriveSeed(WORLD_SEED, 'facts'));
  const facts: Fact[] = [];
  COUNTRIES.forEach((c, i) => facts.push({ subject: c, relation: 'capital', object: CITIES[i] }));
  // Each language is spoken in two countries.
  const byLanguage = rng.shuffle(COUNTRIES);
  const language = new Map(byLanguage.map((c, i) => [c, LANGUAGES[Math.floor(i / 2)]]));
  for (const c of COUNTRIES) facts.push({ subject: c, relation: 'language', object: language.get(c)! });
  const founders = rng.shuffle(NAMES);
  COMPANIES.forEach((c, i) => facts.push({ subject: c, relation: 'founder', object: founders[i] }));
  for (const c of COMPANIES) facts.push({ subject: c, relation: 'headquarters', object: rng.pick(CITIES) });
  cached = facts;
  return facts.map((f) => ({ ...f }));
}

/** The world's value for (subject, relation). */
export function lookupFact(subject: string, relation: Relation): string | undefined {
  return knowledgeBase().find((f) => f.subject === subject && f.relation === relation)?.object;
}

/** Appends one fact sentence (without its object) to a builder; marks the subject. */
export function addFactQuery(b: PromptBuilder, relation: Relation, template: number, subject: string, subjectRole?: string): PromptBuilder {
  for (const w of FACT_TEMPLATES[relation][template]) {
    if (w === 'X') b.add(subject, subjectRole);
    else b.add(w);
  }
  return b;
}
