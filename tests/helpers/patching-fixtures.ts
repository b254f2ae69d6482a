import { join } from 'node:path';
import { afterEach, beforeAll } from 'vitest';
import { loadModelFolder, type LoadedModel } from '../../src-main/engine/io/model-folder.js';
import { seededRandom } from '../../src-main/engine/random.js';
import type { TaskExample } from '../../src-main/engine/tasks/schema.js';
import { useTestBackend } from './backend.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'reference');

/**
 * The reference models the patching tests run on, loaded before the file's tests. Also yields
 * between tests: sweeps are long synchronous work, and vitest's worker RPC replies must get through.
 */
export function useReferenceModels(): Record<string, LoadedModel> {
  const models: Record<string, LoadedModel> = {};
  beforeAll(async () => {
    await useTestBackend();
    for (const name of ['gpt2-tied', 'llama-gqa']) models[name] = await loadModelFolder(join(FIX, name));
  });
  afterEach(() => new Promise<void>((done) => setImmediate(done)));
  return models;
}

/**
 * Pairs of random word prompts with roles A (second word) and B (second to last).
 * `shift` makes sources longer or shorter than their bases, so roles sit at other indices.
 */
export function wordPairExamples(n: number, seed: number, shift = false): TaskExample[] {
  const rand = seededRandom(seed);
  const word = () => `t${3 + Math.floor(rand() * 28)}`;
  const text = (ws: string[]) => {
    const at = (i: number) => ws.slice(0, i).reduce((a, w) => a + w.length + 1, 0);
    const span = (i: number): [number, number] => [at(i), at(i) + ws[i].length];
    return { prompt: ws.join(' '), roles: { A: span(1), B: span(ws.length - 2) } };
  };
  return Array.from({ length: n }, (_, i) => {
    const base = Array.from({ length: 5 + (i % 3) }, word);
    const source = base.map((w, j) => (j === 1 || j === base.length - 2 ? word() : w));
    if (shift) source.splice(2, 0, ...(i % 2 === 0 ? [word(), word()] : []));
    if (shift && i % 2 === 1) source.splice(2, 1);
    const b = text(base);
    const s = text(source);
    return {
      id: `toy-${i}`,
      prompt: b.prompt,
      completion: ' t40',
      wrong: [' t42', ' t44'],
      source: { prompt: s.prompt, completion: ' t41' },
      roles: b.roles,
      sourceRoles: s.roles,
      counterfactual: { v: ' t43' },
    };
  });
}
