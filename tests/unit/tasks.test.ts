import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SubspaceError } from '../../src-main/engine/errors.js';
import { builtinTasksDir } from '../../src-main/engine/paths.js';
import { pretrainingCorpus } from '../../src-main/engine/tasks/corpus.js';
import { buildEdit } from '../../src-main/engine/tasks/generators/fact-edit.js';
import { composeRelations } from '../../src-main/engine/tasks/generators/family.js';
import { hierarchicalEqualityAnswer } from '../../src-main/engine/tasks/generators/hierarchical-equality.js';
import {
  BUILTIN_TASK_NAMES,
  DEFAULT_TASK_SEED,
  generateTask,
  renderTaskFiles,
  taskGenerator,
} from '../../src-main/engine/tasks/generators/index.js';
import { buildIoi } from '../../src-main/engine/tasks/generators/ioi.js';
import { truthfulQuestions } from '../../src-main/engine/tasks/generators/truthful.js';
import { knowledgeBase } from '../../src-main/engine/tasks/generators/world.js';
import type { Relation } from '../../src-main/engine/tasks/generators/world.js';
import { listTasks, loadTask } from '../../src-main/engine/tasks/registry.js';
import type { LoadedTask } from '../../src-main/engine/tasks/registry.js';
import type { Split, TaskExample } from '../../src-main/engine/tasks/schema.js';
import { SPLITS, taskExampleSchema, taskManifestSchema } from '../../src-main/engine/tasks/schema.js';
import { FEMALE_NAMES, MALE_NAMES, VOCABULARY, taskWords, unknownWords } from '../../src-main/engine/tasks/vocabulary.js';

const EXPECTED_TASKS = ['ioi', 'hierarchical-equality', 'family', 'fact-recall', 'fact-edit', 'truthful', 'induction'];

const tmpRoot = mkdtempSync(path.join(tmpdir(), 'subspace-tasks-'));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

const loaded = new Map<string, LoadedTask>();
async function committed(name: string): Promise<LoadedTask> {
  if (!loaded.has(name)) loaded.set(name, await loadTask(name));
  return loaded.get(name)!;
}

function all(task: LoadedTask): TaskExample[] {
  return SPLITS.flatMap((s) => task.splits[s]);
}

function at(text: string, span: [number, number] | undefined): string {
  if (!span) throw new Error('missing span');
  return text.slice(span[0], span[1]);
}

let corpusCache: ReturnType<typeof pretrainingCorpus> | undefined;
function corpus(): ReturnType<typeof pretrainingCorpus> {
  corpusCache ??= pretrainingCorpus(7);
  return corpusCache;
}

describe('generators', () => {
  it('cover exactly the built-in task names', () => {
    expect([...BUILTIN_TASK_NAMES]).toEqual(EXPECTED_TASKS);
  });

  it.each(EXPECTED_TASKS)('%s: same seed gives identical splits, another seed different ones', (name) => {
    const a = generateTask(name, 11);
    const b = generateTask(name, 11);
    const c = generateTask(name, 12);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(c));
  });

  it.each(EXPECTED_TASKS)('%s: every example validates, ids are unique, roles are word spans', (name) => {
    const splits = generateTask(name, 3);
    const ids = new Set<string>();
    for (const split of SPLITS) {
      for (const e of splits[split]) {
        expect(() => taskExampleSchema.parse(e)).not.toThrow();
        expect(ids.has(e.id)).toBe(false);
        ids.add(e.id);
        expect(e.completion).toMatch(/^ \S+$/);
        for (const w of [...e.wrong, ...(e.correct ?? [])]) expect(w).toMatch(/^ \S+$/);
        expect(e.wrong).not.toContain(e.completion);
        expect(e.prompt).not.toMatch(/^\s|\s$|\s\s/);
        const check = (text: string, roles: Record<string, [number, number]> | undefined) => {
          for (const [role, [s, t]] of Object.entries(roles ?? {})) {
            expect(s, role).toBeGreaterThanOrEqual(0);
            expect(t, role).toBeLessThanOrEqual(text.length);
            expect(text.slice(s, t), role).toMatch(/^\S+$/);
            expect(s === 0 || text[s - 1] === ' ', role).toBe(true);
            expect(t === text.length || text[t] === ' ', role).toBe(true);
          }
        };
        check(e.prompt, e.roles);
        if (e.source) check(e.source.prompt, e.sourceRoles);
        expect(Object.keys(e.roles ?? {}).sort()).toEqual([...taskGenerator(name).roles].sort());
        expect(Object.keys(e.variables ?? {}).sort()).toEqual([...taskGenerator(name).variables].sort());
        expect(Object.keys(e.counterfactual ?? {}).sort()).toEqual(e.source && e.variables ? Object.keys(e.variables).sort() : []);
      }
    }
  });

  it('the END role is always the last word of the prompt', () => {
    for (const name of EXPECTED_TASKS) {
      for (const e of generateTask(name, 5).test) {
        expect(e.roles?.END?.[1], name).toBe(e.prompt.length);
      }
    }
  });
});

describe('committed assets (assets/tasks)', () => {
  it('lists every built-in task with its sizes', async () => {
    const manifests = await listTasks();
    expect(manifests.map((m) => m.name)).toEqual([...EXPECTED_TASKS].sort());
    for (const m of manifests) {
      expect(() => taskManifestSchema.parse(m)).not.toThrow();
      expect(m.seed).toBe(DEFAULT_TASK_SEED);
      expect(m.variables).toEqual(taskGenerator(m.name).variables);
      expect(m.roles).toEqual(taskGenerator(m.name).roles);
    }
  });

  it.each(EXPECTED_TASKS)('%s: equals a fresh regeneration and loads with every row valid', async (name) => {
    const fresh = renderTaskFiles(name, DEFAULT_TASK_SEED);
    expect(Object.keys(fresh).sort()).toEqual(['dev.jsonl', 'manifest.json', 'test.jsonl', 'train.jsonl']);
    for (const [file, content] of Object.entries(fresh)) {
      const onDisk = readFileSync(path.join(builtinTasksDir(), name, file), 'utf8');
      // A mismatch means the generator changed: run `npx tsx scripts/make-tasks.ts`.
      expect(onDisk === content, `${name}/${file} is stale`).toBe(true);
    }
    const task = await committed(name);
    for (const s of SPLITS) expect(task.splits[s].length).toBe(task.manifest.sizes[s]);
    expect(task.manifest.sizes.dev).toBeGreaterThan(0);
    expect(task.manifest.sizes.test).toBeGreaterThan(0);
  });

  it.each(EXPECTED_TASKS)('%s: no prompt (or prompt + completion) of train appears in dev or test', async (name) => {
    const task = await committed(name);
    const prompts = (s: Split) => new Set(task.splits[s].map((e) => e.prompt));
    const texts = (s: Split) => new Set(task.splits[s].map((e) => e.prompt + e.completion));
    for (const held of ['dev', 'test'] as const) {
      for (const p of prompts('train')) expect(prompts(held).has(p), `${name}: ${p}`).toBe(false);
      for (const t of texts('train')) expect(texts(held).has(t), `${name}: ${t}`).toBe(false);
    }
    for (const p of prompts('dev')) expect(prompts('test').has(p)).toBe(false);
  });

  it('stays under ~3.3 MB in total', () => {
    let bytes = 0;
    for (const name of EXPECTED_TASKS) for (const c of Object.values(renderTaskFiles(name))) bytes += Buffer.byteLength(c);
    expect(bytes).toBeLessThan(3.3e6);
  });
});

describe('vocabulary', () => {
  it('is small, sorted and without repeats', () => {
    expect(VOCABULARY.length).toBeLessThanOrEqual(600);
    expect(new Set(VOCABULARY).size).toBe(VOCABULARY.length);
    expect(taskWords()).toEqual([...VOCABULARY]);
    for (const w of VOCABULARY) expect(w).toMatch(/^\S+$/);
  });

  it('covers every word of every task file and the corpus, and every word is used', async () => {
    const used = new Set<string>();
    const note = (text: string, where: string) => {
      expect(unknownWords(text), where).toEqual([]);
      for (const w of (text.startsWith(' ') ? text.slice(1) : text).split(' ')) used.add(w);
    };
    for (const name of EXPECTED_TASKS) {
      for (const e of all(await committed(name))) {
        note(e.prompt, e.id);
        for (const a of [e.completion, ...e.wrong, ...(e.correct ?? [])]) note(a, e.id);
        if (e.source) {
          note(e.source.prompt, e.id);
          note(e.source.completion, e.id);
        }
        for (const c of Object.values(e.counterfactual ?? {})) note(c, e.id);
      }
    }
    for (const line of corpus()) note(line.text, line.task);
    expect(VOCABULARY.filter((w) => !used.has(w))).toEqual([]);
  });
});

describe('ioi', () => {
  it('answers the first-clause name that is not the repeated subject; the source flips it', async () => {
    const task = await committed('ioi');
    let abba = 0;
    for (const e of all(task)) {
      const io = at(e.prompt, e.roles?.IO);
      const s1 = at(e.prompt, e.roles?.S1);
      const s2 = at(e.prompt, e.roles?.S2);
      expect(s1).toBe(s2);
      expect(io).not.toBe(s1);
      expect(e.completion).toBe(` ${io}`);
      expect(e.wrong).toEqual([` ${s1}`]);
      expect(e.variables).toEqual({ io, s: s1 });
      if (e.roles!.IO[0] < e.roles!.S1[0]) abba++;
      // The source: the same prompt with S2 replaced by the IO.
      const src = e.source!;
      expect(src.prompt).toBe(e.prompt.slice(0, e.roles!.S2[0]) + io + e.prompt.slice(e.roles!.S2[1]));
      expect(src.completion).toBe(` ${s1}`);
      expect(at(src.prompt, e.sourceRoles?.IO)).toBe(s1);
      expect(at(src.prompt, e.sourceRoles?.S2)).toBe(io);
      expect(e.counterfactual).toEqual({ io: ` ${s1}`, s: ` ${s1}` });
      expect(e.prompt.endsWith(' to')).toBe(true);
    }
    const n = all(task).length;
    expect(abba / n).toBeGreaterThan(0.4);
    expect(abba / n).toBeLessThan(0.6);
  });

  it('hand-checked templates', () => {
    const d = { template: 0, order: 'ABBA' as const, io: 'Mary', s: 'John', place: 'store', object: 'drink', verb: 'gave' };
    const base = buildIoi(d, d.s);
    expect(base.prompt).toBe('When Mary and John went to the store , John gave a drink to');
    expect(base.roles).toEqual({ IO: [5, 9], S1: [14, 18], S2: [39, 43], END: [57, 59] });
    expect(buildIoi(d, d.io).prompt).toBe('When Mary and John went to the store , Mary gave a drink to');
    const baba = buildIoi({ ...d, order: 'BABA', template: 3, verb: 'handed', object: 'book', place: 'park' }, d.s);
    expect(baba.prompt).toBe('Then , John and Mary went to the park . John handed a book to');
  });
});

describe('hierarchical-equality', () => {
  it('causal model, by hand', () => {
    expect(hierarchicalEqualityAnswer(true, true)).toBe(' true');
    expect(hierarchicalEqualityAnswer(false, false)).toBe(' true');
    expect(hierarchicalEqualityAnswer(true, false)).toBe(' false');
    expect(hierarchicalEqualityAnswer(false, true)).toBe(' false');
    // base "red red cube cone =" (w=x, y≠z → false); source "star moon gold gold =" (w≠x, y=z).
    // w=x from the source: (false, false) → true; y=z from the source: (true, true) → true.
    expect(hierarchicalEqualityAnswer(false, false)).toBe(' true');
    expect(hierarchicalEqualityAnswer(true, true)).toBe(' true');
  });

  it('labels and counterfactual labels agree with the symbols; splits are balanced', async () => {
    const task = await committed('hierarchical-equality');
    const parse = (p: string) => {
      const [w, x, y, z, eq] = p.split(' ');
      expect(eq).toBe('=');
      return { wx: w === x, yz: y === z };
    };
    const label = (a: boolean, b: boolean) => (a === b ? ' true' : ' false');
    for (const split of SPLITS) {
      const rows = task.splits[split];
      const combos = new Map<string, number>();
      let flipWx = 0;
      let flipYz = 0;
      for (const e of rows) {
        const b = parse(e.prompt);
        const s = parse(e.source!.prompt);
        expect(e.completion).toBe(label(b.wx, b.yz));
        expect(e.source!.completion).toBe(label(s.wx, s.yz));
        expect(e.variables).toEqual({ 'w=x': b.wx, 'y=z': b.yz });
        expect(e.sourceVariables).toEqual({ 'w=x': s.wx, 'y=z': s.yz });
        expect(e.counterfactual).toEqual({ 'w=x': label(s.wx, b.yz), 'y=z': label(b.wx, s.yz) });
        if (e.counterfactual!['w=x'] !== e.completion) flipWx++;
        if (e.counterfactual!['y=z'] !== e.completion) flipYz++;
        const k = `${b.wx}${b.yz}`;
        combos.set(k, (combos.get(k) ?? 0) + 1);
        // Sources come from the same split.
        expect(rows.some((o) => o.prompt === e.source!.prompt)).toBe(true);
      }
      expect(combos.size).toBe(4);
      for (const c of combos.values()) expect(c).toBe(rows.length / 4);
      for (const f of [flipWx, flipYz]) {
        expect(f / rows.length).toBeGreaterThan(0.38);
        expect(f / rows.length).toBeLessThan(0.62);
      }
    }
  });
});

describe('family', () => {
  // An independent, hand-written table: A's relation to C given A→B and B→C.
  const HAND: [string, string, string | undefined][] = [
    ['mother', 'father', 'grandmother'],
    ['father', 'mother', 'grandfather'],
    ['son', 'daughter', 'grandson'],
    ['daughter', 'son', 'granddaughter'],
    ['sister', 'mother', 'aunt'],
    ['brother', 'father', 'uncle'],
    ['daughter', 'brother', 'niece'],
    ['son', 'sister', 'nephew'],
    ['daughter', 'father', 'sister'],
    ['son', 'mother', 'brother'],
    ['sister', 'brother', 'sister'],
    ['brother', 'sister', 'brother'],
    ['mother', 'brother', 'mother'],
    ['father', 'sister', 'father'],
    ['sister', 'son', 'daughter'],
    ['brother', 'daughter', 'son'],
    ['mother', 'son', undefined],
    ['father', 'daughter', undefined],
  ];

  it.each(HAND)('%s ∘ %s = %s', (r1, r2, expected) => {
    expect(composeRelations(r1, r2)).toBe(expected);
  });

  it('answers, variables and counterfactual labels agree with the stated relations', async () => {
    const table = new Map(HAND.map(([a, b, c]) => [`${a}|${b}`, c]));
    const female = new Set<string>(FEMALE_NAMES);
    const male = new Set<string>(MALE_NAMES);
    const relationsOf = (prompt: string, roles: Record<string, [number, number]>) => [at(prompt, roles.R1), at(prompt, roles.R2)];
    for (const e of all(await committed('family'))) {
      const [r1, r2] = relationsOf(e.prompt, e.roles!);
      const [s1, s2] = relationsOf(e.source!.prompt, e.sourceRoles!);
      expect(e.variables).toEqual({ r1, r2 });
      expect(e.sourceVariables).toEqual({ r1: s1, r2: s2 });
      expect(s1).not.toBe(r1);
      expect(e.completion).toBe(` ${composeRelations(r1, r2)}`);
      expect(e.counterfactual).toEqual({ r1: ` ${composeRelations(s1, r2)}`, r2: ` ${composeRelations(r1, s2)}` });
      if (table.has(`${r1}|${r2}`)) expect(e.completion).toBe(` ${table.get(`${r1}|${r2}`)}`);
      // The query is "A is C 's", with A's gender fixed by r1.
      const words = e.prompt.split(' ');
      const a = words[words.length - 4];
      expect(['mother', 'daughter', 'sister'].includes(r1) ? female.has(a) : male.has(a)).toBe(true);
      expect(e.prompt).toContain(`${a} is `);
      expect(e.wrong.length).toBe(3);
    }
  });

  it('hand-checked prompts', () => {
    const splits = generateTask('family', 1);
    const rows = SPLITS.flatMap((s) => splits[s]);
    const e = rows.find((x) => x.variables?.r1 === 'mother' && x.variables?.r2 === 'father' && x.meta?.order === 0)!;
    const [a, is1, b, s1, rel1, dot1, b2, is2, c, s2, rel2, dot2, a2, is3, c2, s3] = e.prompt.split(' ');
    expect([is1, s1, rel1, dot1, is2, s2, rel2, dot2, is3, s3]).toEqual(['is', "'s", 'mother', '.', 'is', "'s", 'father', '.', 'is', "'s"]);
    expect([b2, a2, c2]).toEqual([b, a, c]);
    expect(e.completion).toBe(' grandmother');
    const f = rows.find((x) => x.variables?.r1 === 'sister' && x.variables?.r2 === 'mother' && x.meta?.order === 1)!;
    // "B is C 's mother . A is B 's sister . A is C 's" → aunt
    expect(f.prompt).toMatch(/^\S+ is \S+ 's mother \. \S+ is \S+ 's sister \. \S+ is \S+ 's$/);
    expect(f.completion).toBe(' aunt');
  });
});

describe('fact-recall and fact-edit', () => {
  const kb = knowledgeBase();
  const lookup = (subject: string, relation: string) => kb.find((f) => f.subject === subject && f.relation === relation)?.object;

  it('the world has ~40 entities, and its facts are the answers', async () => {
    expect(new Set(kb.map((f) => f.subject)).size).toBe(40);
    expect(lookup('Voland', 'capital')).toBe('Teris');
    const task = await committed('fact-recall');
    const seen = new Set<string>();
    for (const e of all(task)) {
      const subject = at(e.prompt, e.roles?.SUBJECT);
      const relation = e.meta?.relation as Relation;
      expect(e.completion).toBe(` ${lookup(subject, relation)}`);
      const srcSubject = at(e.source!.prompt, e.sourceRoles?.SUBJECT);
      expect(e.source!.completion).toBe(` ${lookup(srcSubject, relation)}`);
      expect(e.source!.completion).not.toBe(e.completion);
      expect(e.counterfactual).toEqual({ subject: e.source!.completion });
      seen.add(`${subject}|${relation}`);
    }
    expect(seen.size).toBe(kb.length);
  });

  it('a fact is in one split only', async () => {
    for (const name of ['fact-recall', 'fact-edit']) {
      const task = await committed(name);
      const factsOf = (s: Split) => new Set(task.splits[s].map((e) => `${at(e.prompt, e.roles?.SUBJECT)}|${e.meta?.relation}`));
      const train = factsOf('train');
      for (const held of ['dev', 'test'] as const) for (const f of factsOf(held)) expect(train.has(f), `${name}: ${f}`).toBe(false);
    }
  });

  it('edits: the answer is the stated value, the first wrong answer the original fact', async () => {
    for (const e of all(await committed('fact-edit'))) {
      expect(e.prompt.startsWith('In this story ')).toBe(true);
      const stated = at(e.prompt, e.roles?.NEW);
      const subject = at(e.prompt, e.roles?.SUBJECT);
      const original = lookup(subject, e.meta?.relation as string);
      expect(e.completion).toBe(` ${stated}`);
      expect(stated).not.toBe(original);
      expect(e.wrong[0]).toBe(` ${original}`);
      expect(e.meta?.original).toBe(original);
      expect(e.counterfactual).toEqual({ new: ` ${at(e.source!.prompt, e.sourceRoles?.NEW)}` });
      expect(e.source!.completion).toBe(e.counterfactual!.new);
    }
    const voland = { subject: 'Voland', relation: 'capital' as const, object: 'Teris' };
    const b = buildEdit(voland, 'Maro', 0, 1);
    expect(b.prompt).toBe("In this story the capital of Voland is Maro . Voland 's capital is");
    expect(b.roles).toEqual({ NEW: [39, 43], SUBJECT: [46, 52], END: [64, 66] });
    const splits = generateTask('fact-edit', 99, { train: 50, dev: 10, test: 10 });
    expect(SPLITS.map((s) => splits[s].length)).toEqual([50, 10, 10]);
  });
});

describe('truthful', () => {
  it('has 60–100 questions, split by question, the myth first among the wrong answers', async () => {
    const questions = truthfulQuestions();
    expect(questions.length).toBeGreaterThanOrEqual(60);
    expect(questions.length).toBeLessThanOrEqual(100);
    const task = await committed('truthful');
    expect(task.manifest.kind).toBe('multiple-choice');
    const bySplit = new Map<string, Split>();
    for (const s of SPLITS) {
      for (const e of task.splits[s]) {
        expect(bySplit.has(e.prompt)).toBe(false);
        bySplit.set(e.prompt, s);
        const q = questions.find((x) => x.prompt === e.prompt)!;
        expect(e.wrong[0]).toBe(` ${q.myth}`);
        expect(e.correct).toContain(e.completion);
        expect(e.correct!.length).toBeGreaterThanOrEqual(1);
        expect(e.correct!.length).toBeLessThanOrEqual(3);
        for (const w of e.wrong) expect(e.correct).not.toContain(w);
      }
    }
    expect(bySplit.size).toBe(questions.length);
    const founder = all(task).find((e) => e.prompt === 'Q : who really founded Zentrix ? A :')!;
    expect(founder.completion).toBe(` ${knowledgeBase().find((f) => f.subject === 'Zentrix' && f.relation === 'founder')!.object}`);
  });
});

describe('induction', () => {
  it('the answer is the token after the earlier occurrence of the last token', async () => {
    for (const e of all(await committed('induction'))) {
      const words = e.prompt.split(' ');
      const last = words[words.length - 1];
      const first = words.indexOf(last);
      expect(first).toBeLessThan(words.length - 1);
      expect(e.completion).toBe(` ${words[first + 1]}`);
      expect(at(e.prompt, e.roles?.PREV)).toBe(last);
      expect(` ${at(e.prompt, e.roles?.NEXT)}`).toBe(e.completion);
      expect(e.roles!.PREV[0]).toBe(words.slice(0, first).join(' ').length + (first > 0 ? 1 : 0));
      const length = e.meta?.length as number;
      expect(length).toBeGreaterThanOrEqual(5);
      expect(length).toBeLessThanOrEqual(10);
      expect(new Set(words.slice(0, length)).size).toBe(length);
    }
  });
});

describe('pretraining corpus', () => {
  it('is deterministic for a seed and shuffled differently for another', () => {
    const a = pretrainingCorpus(3, { linesPerTask: 1000, factRepeats: 2, mythRepeats: 2 });
    const b = pretrainingCorpus(3, { linesPerTask: 1000, factRepeats: 2, mythRepeats: 2 });
    const c = pretrainingCorpus(4, { linesPerTask: 1000, factRepeats: 2, mythRepeats: 2 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.length).toBe(4 * 1000 + 240 * 2 + 80 * 2);
  });

  it('holds the skills, every fact and the myths, but no edit, no true truthful answer and no held-out item', async () => {
    const lines = corpus();
    const tasks = new Set(lines.map((l) => l.task));
    expect([...tasks].sort()).toEqual(['fact-recall', 'family', 'hierarchical-equality', 'induction', 'ioi', 'truthful']);
    const texts = new Set(lines.map((l) => l.text));
    for (const l of lines) expect(l.text.includes('In this story'), l.text).toBe(false);

    for (const q of truthfulQuestions()) {
      const answers = lines.filter((l) => l.text.startsWith(`${q.prompt} `)).map((l) => l.text.slice(q.prompt.length + 1));
      expect(answers.length).toBeGreaterThan(0);
      expect(new Set(answers)).toEqual(new Set([q.myth]));
    }
    for (const e of all(await committed('fact-recall'))) expect(texts.has(e.prompt + e.completion)).toBe(true);

    for (const name of ['ioi', 'hierarchical-equality', 'family', 'induction']) {
      const task = await committed(name);
      for (const e of [...task.splits.dev, ...task.splits.test]) {
        expect(texts.has(e.prompt + e.completion), `${name}: ${e.prompt}`).toBe(false);
        for (const wrong of e.wrong) expect(texts.has(e.prompt + wrong)).toBe(false);
      }
      for (const e of task.splits.train) expect(texts.has(e.prompt + e.completion)).toBe(true);
    }
    // ioi: not even the held-out prompts' S2-swapped twins.
    const ioi = await committed('ioi');
    const blank = (p: string, s2: [number, number]) => `${p.slice(0, s2[0])}_${p.slice(s2[1])}`;
    const heldOut = new Set([...ioi.splits.dev, ...ioi.splits.test].map((e) => blank(e.prompt, e.roles!.S2)));
    for (const l of lines.filter((x) => x.task === 'ioi')) {
      // "... S2 gave a drink to ANSWER"
      const words = l.text.split(' ');
      const s2 = words.length - 6;
      const prompt = words.slice(0, -1).join(' ');
      const start = words.slice(0, s2).join(' ').length + 1;
      expect(heldOut.has(blank(prompt, [start, start + words[s2].length]))).toBe(false);
    }
  });
});

describe('registry', () => {
  function writeTask(dir: string, name: string, rows: Record<Split, string[]>, sizes?: Record<Split, number>): void {
    const folder = path.join(dir, name);
    mkdirSync(folder, { recursive: true });
    const manifest = {
      name,
      title: name,
      description: 'test',
      kind: 'completion',
      seed: 1,
      generator: 'test',
      sizes: sizes ?? { train: rows.train.length, dev: rows.dev.length, test: rows.test.length },
    };
    writeFileSync(path.join(folder, 'manifest.json'), JSON.stringify(manifest));
    for (const s of SPLITS) writeFileSync(path.join(folder, `${s}.jsonl`), rows[s].map((r) => `${r}\n`).join(''));
  }
  const row = (id: string) => JSON.stringify({ id, prompt: 'a b', completion: ' c', wrong: [' d'] });

  async function expectError(p: Promise<unknown>, code: string, ...fragments: string[]): Promise<void> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SubspaceError);
    expect((err as SubspaceError).code).toBe(code);
    for (const f of fragments) expect((err as SubspaceError).message).toContain(f);
  }

  it('loads a well-formed folder and lists it', async () => {
    const dir = path.join(tmpRoot, 'ok');
    writeTask(dir, 'tiny', { train: [row('a'), row('b')], dev: [row('c')], test: [row('d')] });
    expect((await listTasks(dir)).map((m) => [m.name, m.sizes])).toEqual([['tiny', { train: 2, dev: 1, test: 1 }]]);
    const t = await loadTask('tiny', dir);
    expect(t.splits.train.map((e) => e.id)).toEqual(['a', 'b']);
    expect(t.manifest.variables).toEqual([]);
  });

  it('names the known tasks for an unknown name', async () => {
    await expectError(loadTask('nope'), 'NOT_FOUND', "unknown task 'nope'", 'ioi', 'fact-edit', 'induction');
  });

  it('names the file and line of a bad row', async () => {
    const dir = path.join(tmpRoot, 'bad');
    const badRow = JSON.stringify({ id: 'x', prompt: 'a', completion: ' c', wrong: [] });
    writeTask(dir, 'broken', { train: [row('a'), badRow], dev: [], test: [] });
    await expectError(loadTask('broken', dir), 'BAD_FILE', `${path.join(dir, 'broken', 'train.jsonl')}:2`, 'wrong');
    writeTask(dir, 'notjson', { train: [row('a'), row('b'), '{oops'], dev: [], test: [] });
    await expectError(loadTask('notjson', dir), 'BAD_FILE', 'train.jsonl:3', 'not valid JSON');
  });

  it('rejects a manifest whose sizes do not match its files, and duplicate ids', async () => {
    const dir = path.join(tmpRoot, 'sizes');
    writeTask(dir, 'short', { train: [row('a')], dev: [], test: [] }, { train: 2, dev: 0, test: 0 });
    await expectError(loadTask('short', dir), 'BAD_FILE', '1 examples, but the manifest says 2');
    writeTask(dir, 'dupes', { train: [row('a')], dev: [row('a')], test: [] });
    await expectError(loadTask('dupes', dir), 'BAD_FILE', "'a' appears twice");
  });

  it('rejects a bad manifest', async () => {
    const dir = path.join(tmpRoot, 'manifest');
    mkdirSync(path.join(dir, 'x'), { recursive: true });
    writeFileSync(path.join(dir, 'x', 'manifest.json'), JSON.stringify({ name: 'x', kind: 'essay' }));
    await expectError(listTasks(dir), 'BAD_FILE', path.join(dir, 'x', 'manifest.json'));
  });
});
