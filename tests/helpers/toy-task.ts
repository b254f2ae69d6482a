import { seededRandom } from '../../src-main/engine/random.js';
import type { TaskExample } from '../../src-main/engine/tasks/schema.js';

/**
 * A toy task the random fixture models cannot do: answer with the token two
 * before the end, shifted (vocabulary t0…t63 of tests/fixtures/reference).
 */
export function toyTask(n: number, seed: number): TaskExample[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const len = 4 + Math.floor(rand() * 3);
    const toks = Array.from({ length: len }, () => 3 + Math.floor(rand() * 20));
    const answer = (toks[len - 2] % 8) + 40;
    return { id: `toy-${seed}-${i}`, prompt: toks.map((t) => `t${t}`).join(' '), completion: ` t${answer}`, wrong: [` t${((answer - 40 + 1) % 8) + 40}`] };
  });
}
