import type { TaskExample } from '../schema.js';
import { GIVE_VERBS, NAMES, OBJECTS, PLACES } from '../vocabulary.js';
import type { FreshLine, LineGenerator, SplitSizes, TaskSplits } from './common.js';
import { PromptBuilder, drawDistinct, exampleId, makeExample, orderedRoles, resolveSizes, sp } from './common.js';
import { Rng } from './rng.js';

/**
 * Indirect object identification. The first clause names two people; the
 * second has one of them (the subject S) give something "to" — the answer is
 * the other one (the indirect object IO).
 *
 *   When Mary and John went to the store , John gave a drink to → " Mary"
 *
 * ABBA: IO named first; BABA: S named first. The source is the same prompt
 * with the second subject mention swapped to the IO, which flips the answer.
 */

/** First clauses; "A" and "B" are the two names, "P" the place. */
export const IOI_OPENINGS: readonly (readonly string[])[] = [
  ['When', 'A', 'and', 'B', 'went', 'to', 'the', 'P', ','],
  ['After', 'A', 'and', 'B', 'went', 'to', 'the', 'P', ','],
  ['While', 'A', 'and', 'B', 'were', 'at', 'the', 'P', ','],
  ['Then', ',', 'A', 'and', 'B', 'went', 'to', 'the', 'P', '.'],
  ['When', 'A', 'and', 'B', 'arrived', 'at', 'the', 'P', ','],
];

const ROLES = ['IO', 'S1', 'S2', 'END'] as const;

export interface IoiDraft {
  template: number;
  order: 'ABBA' | 'BABA';
  io: string;
  s: string;
  place: string;
  object: string;
  verb: string;
}

function drawIoi(rng: Rng): IoiDraft {
  const [io, s] = rng.sample(NAMES, 2);
  return {
    template: rng.int(IOI_OPENINGS.length),
    order: rng.bool() ? 'ABBA' : 'BABA',
    io,
    s,
    place: rng.pick(PLACES),
    object: rng.pick(OBJECTS),
    verb: rng.pick(GIVE_VERBS),
  };
}

/** The prompt with `subject2` as the giver in the second clause. */
export function buildIoi(d: IoiDraft, subject2: string): PromptBuilder {
  const b = new PromptBuilder();
  const [first, second] = d.order === 'ABBA' ? [d.io, d.s] : [d.s, d.io];
  for (const w of IOI_OPENINGS[d.template]) {
    if (w === 'A') b.add(first, first === d.io ? 'IO' : 'S1');
    else if (w === 'B') b.add(second, second === d.io ? 'IO' : 'S1');
    else if (w === 'P') b.add(d.place);
    else b.add(w);
  }
  b.add(subject2, 'S2').add(d.verb).add('a').add(d.object).add('to').end();
  return b;
}

/** The key a prompt and its S2-swapped source share: the prompt with S2 blanked. */
function keyFromSpan(prompt: string, s2: [number, number]): string {
  return `${prompt.slice(0, s2[0])}_${prompt.slice(s2[1])}`;
}

function draftKey(d: IoiDraft): string {
  const b = buildIoi(d, d.s);
  return keyFromSpan(b.prompt, b.roles.S2);
}

function toExample(d: IoiDraft, id: string): TaskExample {
  const base = buildIoi(d, d.s);
  const src = buildIoi(d, d.io);
  // In the source, the roles of the two first-clause names are exchanged.
  const srcRoles = { IO: base.roles.S1, S1: base.roles.IO, S2: src.roles.S2, END: src.roles.END };
  return makeExample({
    id,
    prompt: base.prompt,
    completion: sp(d.io),
    wrong: [sp(d.s)],
    source: { prompt: src.prompt, completion: sp(d.s) },
    variables: { io: d.io, s: d.s },
    sourceVariables: { io: d.s, s: d.io },
    // The answer is the first-clause name that is not s: setting io (or s) to the
    // source's value makes it the base's s.
    counterfactual: { io: sp(d.s), s: sp(d.s) },
    roles: orderedRoles(base.roles, ROLES),
    sourceRoles: orderedRoles(srcRoles, ROLES),
    meta: { template: d.template, order: d.order },
  });
}

export const ioiGenerator: LineGenerator = {
  name: 'ioi',
  title: 'Indirect object identification',
  description:
    'Name mover: "When Mary and John went to the store , John gave a drink to" → " Mary" (ABBA and BABA orders, five openings). ' +
    'Variables io and s (the names); roles IO, S1, S2 (second subject mention) and END; the source swaps S2 to the IO, flipping the answer.',
  kind: 'completion',
  variables: ['io', 's'],
  roles: [...ROLES],
  version: 1,
  defaultSizes: { train: 900, dev: 200, test: 200 },

  generate(seed: number, sizes?: Partial<SplitSizes>): TaskSplits {
    const n = resolveSizes(this.defaultSizes, sizes);
    const rng = new Rng(seed);
    const taken = new Set<string>();
    const draw = (k: number) => drawDistinct(rng, k, taken, drawIoi, draftKey, 'ioi');
    const test = draw(n.test);
    const dev = draw(n.dev);
    const train = draw(n.train);
    return {
      train: train.map((d, i) => toExample(d, exampleId('ioi', 'train', i))),
      dev: dev.map((d, i) => toExample(d, exampleId('ioi', 'dev', i))),
      test: test.map((d, i) => toExample(d, exampleId('ioi', 'test', i))),
    };
  },

  freshLine(rng: Rng): FreshLine {
    const d = drawIoi(rng);
    const b = buildIoi(d, d.s);
    return { key: keyFromSpan(b.prompt, b.roles.S2), text: b.prompt + sp(d.io) };
  },

  keyOf(example: TaskExample): string {
    const s2 = example.roles?.S2;
    if (!s2) throw new Error(`ioi example ${example.id} has no S2 role`);
    return keyFromSpan(example.prompt, s2);
  },
};
