import type { Split, TaskExample } from '../schema.js';
import { SPLITS } from '../schema.js';
import { SYMBOLS } from '../vocabulary.js';
import type { FreshLine, LineGenerator, SplitSizes, TaskSplits } from './common.js';
import { PromptBuilder, drawDistinct, exampleId, makeExample, orderedRoles, resolveSizes, sp } from './common.js';
import { Rng } from './rng.js';

/**
 * Hierarchical equality (the DAS benchmark): four symbols w x y z, then "=".
 * The answer is " true" iff (w = x) has the same truth value as (y = z).
 *
 *   red red cube cone = → " false"      (w=x true, y=z false)
 *
 * Causal variables "w=x" and "y=z". Each split holds the four (w=x, y=z)
 * combinations in equal shares (so the label is balanced too); each example's
 * source is another example of the same split whose combination is drawn
 * uniformly, so each counterfactual label differs from the base label half
 * the time.
 */

const ROLES = ['W', 'X', 'Y', 'Z', 'END'] as const;
const COMBOS: readonly (readonly [boolean, boolean])[] = [
  [true, true],
  [true, false],
  [false, true],
  [false, false],
];

/** The causal model: the answer given the two equality bits. */
export function hierarchicalEqualityAnswer(wx: boolean, yz: boolean): string {
  return sp(wx === yz ? 'true' : 'false');
}

interface HeDraft {
  symbols: [string, string, string, string];
  wx: boolean;
  yz: boolean;
}

function pair(rng: Rng, equal: boolean): [string, string] {
  if (equal) {
    const a = rng.pick(SYMBOLS);
    return [a, a];
  }
  const [a, b] = rng.sample(SYMBOLS, 2);
  return [a, b];
}

function drawCombo(rng: Rng, wx: boolean, yz: boolean): HeDraft {
  const [w, x] = pair(rng, wx);
  const [y, z] = pair(rng, yz);
  return { symbols: [w, x, y, z], wx, yz };
}

function build(d: HeDraft): PromptBuilder {
  const b = new PromptBuilder();
  d.symbols.forEach((s, i) => b.add(s, ROLES[i]));
  return b.add('=').end();
}

const keyOfDraft = (d: HeDraft): string => build(d).prompt;

function toExample(d: HeDraft, src: HeDraft, id: string): TaskExample {
  const base = build(d);
  const source = build(src);
  const answer = hierarchicalEqualityAnswer(d.wx, d.yz);
  return makeExample({
    id,
    prompt: base.prompt,
    completion: answer,
    wrong: [hierarchicalEqualityAnswer(!d.wx, d.yz)],
    source: { prompt: source.prompt, completion: hierarchicalEqualityAnswer(src.wx, src.yz) },
    variables: { 'w=x': d.wx, 'y=z': d.yz },
    sourceVariables: { 'w=x': src.wx, 'y=z': src.yz },
    counterfactual: {
      'w=x': hierarchicalEqualityAnswer(src.wx, d.yz),
      'y=z': hierarchicalEqualityAnswer(d.wx, src.yz),
    },
    roles: orderedRoles(base.roles, ROLES),
    sourceRoles: orderedRoles(source.roles, ROLES),
  });
}

export const hierarchicalEqualityGenerator: LineGenerator = {
  name: 'hierarchical-equality',
  title: 'Hierarchical equality',
  description:
    'The DAS benchmark: "w x y z =" → " true" iff (w = x) equals (y = z), over 24 symbol words, balanced over the four (w=x, y=z) cases. ' +
    'Causal variables w=x and y=z with counterfactual labels from a source example; roles W, X, Y, Z, END.',
  kind: 'completion',
  variables: ['w=x', 'y=z'],
  roles: [...ROLES],
  version: 1,
  defaultSizes: { train: 900, dev: 200, test: 200 },

  generate(seed: number, sizes?: Partial<SplitSizes>): TaskSplits {
    const n = resolveSizes(this.defaultSizes, sizes);
    const rng = new Rng(seed);
    const taken = new Set<string>();
    const drafts = {} as Record<Split, HeDraft[]>;
    for (const split of ['test', 'dev', 'train'] as const) {
      const items: HeDraft[] = [];
      COMBOS.forEach(([wx, yz], c) => {
        const quota = Math.floor(n[split] / 4) + (c < n[split] % 4 ? 1 : 0);
        items.push(...drawDistinct(rng, quota, taken, (r) => drawCombo(r, wx, yz), keyOfDraft, 'hierarchical-equality'));
      });
      drafts[split] = rng.shuffle(items);
    }
    const out = {} as TaskSplits;
    for (const split of SPLITS) {
      const pool = drafts[split];
      const buckets = new Map<string, HeDraft[]>(COMBOS.map(([wx, yz]) => [`${wx}${yz}`, pool.filter((o) => o.wx === wx && o.yz === yz)]));
      out[split] = pool.map((d, i) => {
        const wx = rng.bool();
        const yz = rng.bool();
        const candidates = buckets.get(`${wx}${yz}`)!.filter((o) => o !== d);
        const src = candidates.length > 0 ? rng.pick(candidates) : drawCombo(rng, wx, yz);
        return toExample(d, src, exampleId('hierarchical-equality', split, i));
      });
    }
    return out;
  },

  freshLine(rng: Rng): FreshLine {
    const d = drawCombo(rng, rng.bool(), rng.bool());
    const prompt = build(d).prompt;
    return { key: prompt, text: prompt + hierarchicalEqualityAnswer(d.wx, d.yz) };
  },

  keyOf(example: TaskExample): string {
    return example.prompt;
  },
};

/**
 * A training line whose two equalities each hold with probability `p`. Balanced
 * lines give the answer no correlation with either equality alone, so a model
 * trained only on them sits at chance for a long time (the XNOR of two learned
 * features); with p ≠ ½ each equality predicts the answer by itself, the
 * features form, and balanced lines then teach the rest.
 */
export function biasedEqualityLine(rng: Rng, p: number): FreshLine {
  const d = drawCombo(rng, rng.next() < p, rng.next() < p);
  const prompt = build(d).prompt;
  return { key: prompt, text: prompt + hierarchicalEqualityAnswer(d.wx, d.yz) };
}
