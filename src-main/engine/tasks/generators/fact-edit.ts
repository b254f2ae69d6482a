import type { Split, TaskExample } from '../schema.js';
import { SPLITS } from '../schema.js';
import type { SplitSizes, TaskGenerator, TaskSplits } from './common.js';
import { PromptBuilder, drawDistinct, exampleId, makeExample, orderedRoles, othersFrom, resolveSizes, sp } from './common.js';
import { splitFacts } from './fact-recall.js';
import { Rng } from './rng.js';
import type { Fact } from './world.js';
import { FACT_TEMPLATES, RELATION_VALUES, addFactQuery } from './world.js';

/**
 * In-context edited recall (MQuAKE-like, one hop): the prompt first states a
 * counterfactual version of a fact, then asks for it.
 *
 *   In this story the capital of Voland is Maro . the capital of Voland is → " Maro"   (wrong: " Teris", ...)
 *
 * The first wrong answer is always the world's original value. The demo base
 * models never see this construction, so they answer the original fact;
 * following the edit is the behaviour to teach. Facts are split into
 * train/dev/test as in fact-recall (no fact is edited in two splits). Causal
 * variable `new` (the stated value); the source states a different value for
 * the same fact in the same words.
 */

const ROLES = ['NEW', 'SUBJECT', 'END'] as const;

interface EditDraft {
  fact: Fact;
  value: string;
  editTemplate: number;
  queryTemplate: number;
}

export function buildEdit(fact: Fact, value: string, editTemplate: number, queryTemplate: number): PromptBuilder {
  const b = new PromptBuilder().add('In').add('this').add('story');
  addFactQuery(b, fact.relation, editTemplate, fact.subject);
  b.add(value, 'NEW').add('.');
  return addFactQuery(b, fact.relation, queryTemplate, fact.subject, 'SUBJECT').end();
}

function drawEdit(rng: Rng, facts: readonly Fact[]): EditDraft {
  const fact = rng.pick(facts);
  const nTemplates = FACT_TEMPLATES[fact.relation].length;
  return {
    fact,
    value: rng.pick(RELATION_VALUES[fact.relation].filter((v) => v !== fact.object)),
    editTemplate: rng.int(nTemplates),
    queryTemplate: rng.int(nTemplates),
  };
}

const keyOf = (d: EditDraft): string => buildEdit(d.fact, d.value, d.editTemplate, d.queryTemplate).prompt;

function toExample(rng: Rng, d: EditDraft, id: string): TaskExample {
  const { fact, value } = d;
  const base = buildEdit(fact, value, d.editTemplate, d.queryTemplate);
  const srcValue = rng.pick(RELATION_VALUES[fact.relation].filter((v) => v !== fact.object && v !== value));
  const source = buildEdit(fact, srcValue, d.editTemplate, d.queryTemplate);
  return makeExample({
    id,
    prompt: base.prompt,
    completion: sp(value),
    wrong: [fact.object, ...othersFrom(rng, RELATION_VALUES[fact.relation], [fact.object, value], 2)].map(sp),
    source: { prompt: source.prompt, completion: sp(srcValue) },
    variables: { new: value },
    sourceVariables: { new: srcValue },
    counterfactual: { new: sp(srcValue) },
    roles: orderedRoles(base.roles, ROLES),
    sourceRoles: orderedRoles(source.roles, ROLES),
    meta: {
      subject: fact.subject,
      relation: fact.relation,
      original: fact.object,
    },
  });
}

export const factEditGenerator: TaskGenerator = {
  name: 'fact-edit',
  title: 'Edited fact recall',
  description:
    'In-context knowledge edits over the fact-recall world: "In this story the capital of Voland is Maro . the capital of Voland is" → " Maro"; the first wrong answer is the original fact. ' +
    'Causal variable new (the stated value; the source states another); roles NEW, SUBJECT, END.',
  kind: 'completion',
  variables: ['new'],
  roles: [...ROLES],
  version: 1,
  defaultSizes: { train: 500, dev: 200, test: 200 },

  generate(seed: number, sizes?: Partial<SplitSizes>): TaskSplits {
    const n = resolveSizes(this.defaultSizes, sizes);
    const rng = new Rng(seed);
    const facts = splitFacts(rng);
    const taken = new Set<string>();
    const drafts = {} as Record<Split, EditDraft[]>;
    for (const split of ['test', 'dev', 'train'] as const) {
      drafts[split] = drawDistinct(rng, n[split], taken, (r) => drawEdit(r, facts[split]), keyOf, 'fact-edit');
    }
    const out = {} as TaskSplits;
    for (const split of SPLITS) {
      out[split] = drafts[split].map((d, i) => toExample(rng, d, exampleId('fact-edit', split, i)));
    }
    return out;
  },
};
