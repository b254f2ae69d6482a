import type { TaskExample } from '../schema.js';
import { NONSENSE } from '../vocabulary.js';
import type { FreshLine, LineGenerator, SplitSizes, TaskSplits } from './common.js';
import { PromptBuilder, drawDistinct, exampleId, makeExample, orderedRoles, resolveSizes, sp } from './common.js';
import { Rng } from './rng.js';

/**
 * Induction: a sequence of 5–10 distinct nonsense tokens, then its start again;
 * the prompt stops mid-repeat and the answer is the token that followed the
 * last token the first time.
 *
 *   zib kra mox dup fel zib kra → " mox"
 *
 * Roles: PREV (the first occurrence of the last token), NEXT (the token after
 * it, i.e. the answer's first occurrence) and END. The source is another
 * sequence of the same length cut at the same point, so positions line up.
 */

const ROLES = ['PREV', 'NEXT', 'END'] as const;

interface InductionDraft {
  seq: string[];
  /** How many tokens of the repeat are in the prompt (1 ≤ k < seq.length). */
  k: number;
}

function drawShaped(rng: Rng, length: number, k: number): InductionDraft {
  return { seq: rng.sample(NONSENSE, length), k };
}

function drawInduction(rng: Rng): InductionDraft {
  const length = rng.range(5, 10);
  return drawShaped(rng, length, rng.range(1, length - 1));
}

function build(d: InductionDraft): PromptBuilder {
  const b = new PromptBuilder();
  d.seq.forEach((w, i) => b.add(w, i === d.k - 1 ? 'PREV' : i === d.k ? 'NEXT' : undefined));
  for (let i = 0; i < d.k; i++) b.add(d.seq[i]);
  return b.end();
}

const keyOfDraft = (d: InductionDraft): string => build(d).prompt;

function toExample(rng: Rng, d: InductionDraft, src: InductionDraft, id: string): TaskExample {
  const base = build(d);
  const source = build(src);
  const answer = d.seq[d.k];
  const inSequence = rng.pick(d.seq.filter((w) => w !== answer));
  const outside = rng.pick(NONSENSE.filter((w) => !d.seq.includes(w)));
  return makeExample({
    id,
    prompt: base.prompt,
    completion: sp(answer),
    wrong: [sp(inSequence), sp(outside)],
    source: { prompt: source.prompt, completion: sp(src.seq[src.k]) },
    roles: orderedRoles(base.roles, ROLES),
    sourceRoles: orderedRoles(source.roles, ROLES),
    meta: { length: d.seq.length, repeated: d.k },
  });
}

export const inductionGenerator: LineGenerator = {
  name: 'induction',
  title: 'Induction',
  description:
    'Copying from context: a random sequence of 5–10 nonsense tokens repeated up to a point, e.g. "zib kra mox dup fel zib kra" → " mox". ' +
    'Roles PREV (earlier occurrence of the last token), NEXT (the token after it) and END; the source is another sequence of the same shape.',
  kind: 'completion',
  variables: [],
  roles: [...ROLES],
  version: 1,
  defaultSizes: { train: 900, dev: 200, test: 200 },

  generate(seed: number, sizes?: Partial<SplitSizes>): TaskSplits {
    const n = resolveSizes(this.defaultSizes, sizes);
    const rng = new Rng(seed);
    const taken = new Set<string>();
    const draw = (k: number) => drawDistinct(rng, k, taken, drawInduction, keyOfDraft, 'induction');
    const drafts = { test: draw(n.test), dev: draw(n.dev), train: draw(n.train) };
    const out = {} as TaskSplits;
    for (const split of ['train', 'dev', 'test'] as const) {
      out[split] = drafts[split].map((d, i) => {
        const [src] = drawDistinct(rng, 1, taken, (r) => drawShaped(r, d.seq.length, d.k), keyOfDraft, 'induction source');
        return toExample(rng, d, src, exampleId('induction', split, i));
      });
    }
    return out;
  },

  freshLine(rng: Rng): FreshLine {
    const d = drawInduction(rng);
    const prompt = build(d).prompt;
    return { key: prompt, text: prompt + sp(d.seq[d.k]) };
  },

  keyOf(example: TaskExample): string {
    return example.prompt;
  },
};
