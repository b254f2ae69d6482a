import type { Split, TaskExample } from '../schema.js';
import { SPLITS } from '../schema.js';
import { BASE_RELATIONS, FEMALE_NAMES, MALE_NAMES, NAMES, RELATION_WORDS } from '../vocabulary.js';
import type { FreshLine, LineGenerator, SplitSizes, TaskSplits } from './common.js';
import { PromptBuilder, drawDistinct, exampleId, makeExample, orderedRoles, resolveSizes, sp } from './common.js';
import { Rng } from './rng.js';

/**
 * Two-hop kinship (CLUTRR-like):
 *
 *   Anna is Mark 's mother . Mark is Sam 's father . Anna is Sam 's → " grandmother"
 *
 * (or with the two facts in the other order). Causal variables r1 (A's
 * relation to B) and r2 (B's relation to C); the answer is compose(r1, r2),
 * whose gender is A's (fixed by r1). Siblings are taken to be full siblings and
 * all three people distinct; the one composition that is not determined by
 * that (A is B's parent, B is C's child: A may be C's partner, or C) is never
 * used.
 */

export type BaseRelation = (typeof BASE_RELATIONS)[number];
type RelType = 'parent' | 'child' | 'sibling';

const RELATION: Record<BaseRelation, { type: RelType; female: boolean }> = {
  mother: { type: 'parent', female: true },
  father: { type: 'parent', female: false },
  son: { type: 'child', female: false },
  daughter: { type: 'child', female: true },
  brother: { type: 'sibling', female: false },
  sister: { type: 'sibling', female: true },
};

/** [female, male] word for "A is C's ___" given A's relation to B and B's to C. */
const COMPOSITION: Partial<Record<`${RelType}-${RelType}`, [string, string]>> = {
  'parent-parent': ['grandmother', 'grandfather'],
  'parent-sibling': ['mother', 'father'],
  'child-child': ['granddaughter', 'grandson'],
  'child-sibling': ['niece', 'nephew'],
  'child-parent': ['sister', 'brother'],
  'sibling-parent': ['aunt', 'uncle'],
  'sibling-sibling': ['sister', 'brother'],
  'sibling-child': ['daughter', 'son'],
};

/** The causal model: A's relation to C, or undefined where it is not determined. */
export function composeRelations(r1: string, r2: string): string | undefined {
  const a = RELATION[r1 as BaseRelation];
  const b = RELATION[r2 as BaseRelation];
  if (!a || !b) return undefined;
  const pair = COMPOSITION[`${a.type}-${b.type}`];
  return pair ? pair[a.female ? 0 : 1] : undefined;
}

/** Whether the relation word makes its subject female (for the name choice). */
export function relationIsFemale(r: string): boolean {
  return RELATION[r as BaseRelation].female;
}

const ROLES = ['R1', 'R2', 'END'] as const;

interface FamilyDraft {
  r1: BaseRelation;
  r2: BaseRelation;
  a: string;
  b: string;
  c: string;
  order: 0 | 1;
}

function drawFamily(rng: Rng): FamilyDraft {
  const r1 = rng.pick(BASE_RELATIONS);
  const r2 = rng.pick(BASE_RELATIONS.filter((r) => composeRelations(r1, r) !== undefined));
  const a = rng.pick(relationIsFemale(r1) ? FEMALE_NAMES : MALE_NAMES);
  const b = rng.pick((relationIsFemale(r2) ? FEMALE_NAMES : MALE_NAMES).filter((n) => n !== a));
  const c = rng.pick(NAMES.filter((n) => n !== a && n !== b));
  return { r1, r2, a, b, c, order: rng.bool() ? 0 : 1 };
}

function build(d: FamilyDraft): PromptBuilder {
  const p = new PromptBuilder();
  const first = () => p.add(d.a).add('is').add(d.b).add("'s").add(d.r1, 'R1').add('.');
  const second = () => p.add(d.b).add('is').add(d.c).add("'s").add(d.r2, 'R2').add('.');
  if (d.order === 0) {
    first();
    second();
  } else {
    second();
    first();
  }
  return p.add(d.a).add('is').add(d.c).add("'s").end();
}

function answer(d: FamilyDraft): string {
  const r = composeRelations(d.r1, d.r2);
  if (!r) throw new Error(`no composition for ${d.r1} ∘ ${d.r2}`);
  return r;
}

function wrongFor(rng: Rng, d: FamilyDraft): string[] {
  const right = answer(d);
  const out: string[] = [];
  for (const w of [d.r1, d.r2, ...rng.shuffle(RELATION_WORDS)]) {
    if (w !== right && !out.includes(w)) out.push(w);
    if (out.length === 3) break;
  }
  return out.map(sp);
}

function compatibleSource(d: FamilyDraft, s: FamilyDraft): boolean {
  return s.r1 !== d.r1 && composeRelations(s.r1, d.r2) !== undefined && composeRelations(d.r1, s.r2) !== undefined;
}

function toExample(rng: Rng, d: FamilyDraft, src: FamilyDraft, id: string): TaskExample {
  const base = build(d);
  const source = build(src);
  return makeExample({
    id,
    prompt: base.prompt,
    completion: sp(answer(d)),
    wrong: wrongFor(rng, d),
    source: { prompt: source.prompt, completion: sp(answer(src)) },
    variables: { r1: d.r1, r2: d.r2 },
    sourceVariables: { r1: src.r1, r2: src.r2 },
    counterfactual: { r1: sp(composeRelations(src.r1, d.r2)!), r2: sp(composeRelations(d.r1, src.r2)!) },
    roles: orderedRoles(base.roles, ROLES),
    sourceRoles: orderedRoles(source.roles, ROLES),
    meta: { order: d.order },
  });
}

const keyOfDraft = (d: FamilyDraft): string => build(d).prompt;

export const familyGenerator: LineGenerator = {
  name: 'family',
  title: 'Two-hop family relations',
  description:
    'CLUTRR-like composition: "A is B \'s mother . B is C \'s father . A is C \'s" → " grandmother" over six base relations. ' +
    'Causal variables r1 and r2 (the stated relations; the source has a different r1); roles R1, R2, END.',
  kind: 'completion',
  variables: ['r1', 'r2'],
  roles: [...ROLES],
  version: 1,
  defaultSizes: { train: 900, dev: 200, test: 200 },

  generate(seed: number, sizes?: Partial<SplitSizes>): TaskSplits {
    const n = resolveSizes(this.defaultSizes, sizes);
    const rng = new Rng(seed);
    const taken = new Set<string>();
    const drafts = {} as Record<Split, FamilyDraft[]>;
    for (const split of ['test', 'dev', 'train'] as const) {
      drafts[split] = drawDistinct(rng, n[split], taken, drawFamily, keyOfDraft, 'family');
    }
    const out = {} as TaskSplits;
    for (const split of SPLITS) {
      const pool = drafts[split];
      const buckets = new Map<string, FamilyDraft[]>();
      for (const d of pool) buckets.set(`${d.r1}|${d.r2}`, [...(buckets.get(`${d.r1}|${d.r2}`) ?? []), d]);
      out[split] = pool.map((d, i) => {
        const candidates = [...buckets.values()].filter((b) => compatibleSource(d, b[0])).flat();
        let src: FamilyDraft;
        if (candidates.length > 0) src = rng.pick(candidates);
        else do src = drawFamily(rng); while (!compatibleSource(d, src));
        return toExample(rng, d, src, exampleId('family', split, i));
      });
    }
    return out;
  },

  freshLine(rng: Rng): FreshLine {
    const d = drawFamily(rng);
    const prompt = build(d).prompt;
    return { key: prompt, text: prompt + sp(answer(d)) };
  },

  keyOf(example: TaskExample): string {
    return example.prompt;
  },
};
