import { describe, expect, it } from 'vitest';
import { freshSkillLines, pairEqualityLines } from '../../src-main/engine/tasks/corpus.js';
import { generateTask } from '../../src-main/engine/tasks/generators/index.js';
import { unknownWords } from '../../src-main/engine/tasks/vocabulary.js';

describe('later-phase corpus lines', () => {
  it('pair equality is balanced, correct, in the vocabulary and seeded', () => {
    const lines = pairEqualityLines(5, 2000);
    expect(pairEqualityLines(5, 2000)).toEqual(lines);
    expect(pairEqualityLines(6, 2000)).not.toEqual(lines);
    let equal = 0;
    for (const l of lines) {
      const [a, b, eq, ans] = l.text.split(' ');
      expect(eq).toBe('=');
      expect(ans).toBe(a === b ? 'true' : 'false');
      if (a === b) equal++;
      expect(unknownWords(l.text)).toEqual([]);
    }
    expect(equal / lines.length).toBeGreaterThan(0.45);
    expect(equal / lines.length).toBeLessThan(0.55);
  });

  it('fresh skill lines never repeat a dev or test prompt', () => {
    for (const task of ['hierarchical-equality', 'induction']) {
      const splits = generateTask(task);
      const held = new Set([...splits.dev, ...splits.test].map((e) => e.prompt + e.completion));
      const lines = freshSkillLines(task, 3, 3000);
      expect(lines).toHaveLength(3000);
      for (const l of lines) expect(held.has(l.text)).toBe(false);
    }
  });
});
