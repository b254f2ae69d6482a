import { describe, expect, it } from 'vitest';
import { biasedEqualityLines, freshSkillLines, learnFrom, pretrainingCorpus } from '../../src-main/engine/tasks/corpus.js';
import { generateTask } from '../../src-main/engine/tasks/generators/index.js';
import { unknownWords } from '../../src-main/engine/tasks/vocabulary.js';
import { lmBatch } from '../../src-main/engine/train/lm.js';

describe('curriculum corpus lines', () => {
  it('biased hierarchical-equality lines hold each equality at the asked rate, with the right answer', () => {
    const lines = biasedEqualityLines(5, 4000, 0.75);
    expect(biasedEqualityLines(5, 4000, 0.75)).toEqual(lines);
    expect(biasedEqualityLines(6, 4000, 0.75)).not.toEqual(lines);
    let wx = 0;
    let yz = 0;
    for (const l of lines) {
      const [w, x, y, z, eq, ans] = l.text.split(' ');
      expect(eq).toBe('=');
      expect(ans).toBe(w === x === (y === z) ? 'true' : 'false');
      if (w === x) wx++;
      if (y === z) yz++;
      expect(unknownWords(l.text)).toEqual([]);
      expect(l.learnFrom).toBe(5);
    }
    // A little under 0.75: only 576 prompts have both equalities, dev and test hold 100 of
    // them, and held-out prompts are redrawn.
    for (const share of [wx / lines.length, yz / lines.length]) {
      expect(share).toBeGreaterThan(0.7);
      expect(share).toBeLessThan(0.78);
    }
    // The balanced rate, for contrast: the bias is what was asked, not the generator's own.
    const even = biasedEqualityLines(5, 4000, 0.5).filter((l) => l.text.split(' ')[0] === l.text.split(' ')[1]).length / 4000;
    expect(even).toBeGreaterThan(0.45);
    expect(even).toBeLessThan(0.52);
  });

  it('neither biased nor fresh lines repeat a dev or test prompt', () => {
    const sets = {
      'hierarchical-equality': [...freshSkillLines('hierarchical-equality', 3, 3000), ...biasedEqualityLines(3, 3000, 0.75)],
      induction: freshSkillLines('induction', 3, 3000),
    };
    for (const [task, lines] of Object.entries(sets)) {
      const splits = generateTask(task);
      const held = new Set([...splits.dev, ...splits.test].map((e) => e.prompt + e.completion));
      for (const l of lines) expect(held.has(l.text)).toBe(false);
    }
  });

  it('marks where a line becomes predictable: the equality answer, the second word of an induction repeat', () => {
    expect(learnFrom('hierarchical-equality', 'red red cube cone = false')).toBe(5);
    // "zib kra mox dup fel" then its repeat: "zib" (word 5) cannot be foreseen, "kra" (word 6) can.
    expect(learnFrom('induction', 'zib kra mox dup fel zib kra mox')).toBe(6);
    expect(learnFrom('ioi', 'When Mary and John went to the store , John gave a drink to Mary')).toBeUndefined();
    for (const l of freshSkillLines('induction', 4, 500)) {
      const words = l.text.split(' ');
      const from = l.learnFrom!;
      expect(words[from - 1]).toBe(words[0]);
      expect(new Set(words.slice(0, from - 1)).size).toBe(from - 1);
    }
    const corpus = pretrainingCorpus(3, { linesPerTask: 50, factRepeats: 1, mythRepeats: 1 });
    for (const l of corpus) expect(l.learnFrom).toBe(learnFrom(l.task, l.text));
  });

  it('lmBatch trains only from each row’s start, with the answer weighted', () => {
    // Token j + 1 is word j (BOS first), and position t predicts token t + 1: start 5 trains word 5 on.
    const b = lmBatch(
      [
        [1, 10, 10, 11, 12, 13, 14],
        [1, 20, 21, 22],
      ],
      0,
      4,
      [5, undefined],
    );
    expect(b.weights).toEqual([
      [0, 0, 0, 0, 0, 4, 0],
      [1, 1, 4, 0, 0, 0, 0],
    ]);
    expect(b.mask[1]).toEqual([1, 1, 1, 1, 0, 0, 0]);
  });
});
