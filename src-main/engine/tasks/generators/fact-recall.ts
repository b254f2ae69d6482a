import type { Split, TaskExample } from '../schema.js';
import { SPLITS } from '../schema.js';
import type { SplitSizes, TaskGenerator, TaskSplits } from './common.js';
import { PromptBuilder, exampleId, fractionCounts, makeExample, orderedRoles, othersFrom, sp } from './common.js';
import { Rng } from './rng.js';
import type { Fact } from './world.js';
import { FACT_TEMPLATES, RELATIONS, RELATION_VALUES, addFactQuery, knowledgeBase } from './world.js';

/**
 * Recall of the synthetic world's facts, three phrasings per relation:
 *
 *   the capital of Voland is → " Teris"
 *
 * The facts are split (per relation, 60/20/20) into train/dev/test, every
 * phrasing of a fact in the same split. Causal variable `subject`: the source
 * is another subject with the same relation and phrasing and a different
 * answer, so the counterfactual answer is the source's.
 */

const ROLES = ['SUBJECT', 'END'] as const;

export function factPrompt(fact: Fact, template: number): PromptBuilder {
  return addFactQuery(new PromptBuilder(), fact.relation, template, fact.subject, 'SUBJECT').end();
}

/** Facts split by relation into train/dev/test with the given rng. */
export function splitFacts(rng: Rng): Record<Split, Fact[]> {
  const out: Record<Split, Fact[]> = { train: [], dev: [], test: [] };
  const facts = knowledgeBase();
  for (const rel of RELATIONS) {
    const group = rng.shuffle(facts.filter((f) => f.relation === rel));
    const n = fractionCounts(group.length, 0.2, 0.2);
    out.test.push(...group.slice(0, n.test));
    out.dev.push(...group.slice(n.test, n.test + n.dev));
    out.train.push(...group.slice(n.test + n.dev));
  }
  return out;
}

function toExample(rng: Rng, fact: Fact, template: number, id: string): TaskExample {
  const base = factPrompt(fact, template);
  const src = rng.pick(knowledgeBase().filter((f) => f.relation === fact.relation && f.object !== fact.object));
  const source = factPrompt(src, template);
  return makeExample({
    id,
    prompt: base.prompt,
    completion: sp(fact.object),
    wrong: othersFrom(rng, RELATION_VALUES[fact.relation], [fact.object], 3).map(sp),
    source: { prompt: source.prompt, completion: sp(src.object) },
    variables: { subject: fact.subject },
    sourceVariables: { subject: src.subject },
    counterfactual: { subject: sp(src.object) },
    roles: orderedRoles(base.roles, ROLES),
    sourceRoles: orderedRoles(source.roles, ROLES),
    meta: { relation: fact.relation, template },
  });
}

const TEMPLATES_PER_FACT = FACT_TEMPLATES.capital.length;
const FACT_SPLIT = fractionCounts(knowledgeBase().length / RELATIONS.length, 0.2, 0.2);

export const factRecallGenerator: TaskGenerator = {
  name: 'fact-recall',
  title: 'Fact recall',
  description:
    'Recall of a synthetic world (20 countries: capital, language; 20 companies: founder, headquarters), e.g. "the capital of Voland is" → " Teris", three phrasings per relation. ' +
    'Causal variable subject (the source is another subject of the same relation); roles SUBJECT, END.',
  kind: 'completion',
  variables: ['subject'],
  roles: [...ROLES],
  version: 1,
  defaultSizes: {
    train: FACT_SPLIT.train * RELATIONS.length * TEMPLATES_PER_FACT,
    dev: FACT_SPLIT.dev * RELATIONS.length * TEMPLATES_PER_FACT,
    test: FACT_SPLIT.test * RELATIONS.length * TEMPLATES_PER_FACT,
  },

  generate(seed: number, sizes?: Partial<SplitSizes>): TaskSplits {
    for (const s of SPLITS) {
      if (sizes?.[s] !== undefined && sizes[s] !== this.defaultSizes[s]) {
        throw new Error(`fact-recall has a fixed size per split (${JSON.stringify(this.defaultSizes)})`);
      }
    }
    const rng = new Rng(seed);
    const facts = splitFacts(rng);
    const out = {} as TaskSplits;
    for (const split of SPLITS) {
      const items = rng.shuffle(facts[split].flatMap((f) => FACT_TEMPLATES[f.relation].map((_, t) => [f, t] as const)));
      out[split] = items.map(([f, t], i) => toExample(rng, f, t, exampleId('fact-recall', split, i)));
    }
    return out;
  },
};
