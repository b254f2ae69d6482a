import * as tf from '../../src-main/engine/tf.js';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFolder, type LoadedModel } from '../../src-main/engine/io/model-folder.js';
import { Transformer } from '../../src-main/engine/model/transformer.js';
import { flatValues, patchSweep, type SweepOptions } from '../../src-main/engine/patching/index.js';
import { seededRandom } from '../../src-main/engine/random.js';
import type { TaskExample } from '../../src-main/engine/tasks/schema.js';
import { maxAbsDiff, useTestBackend } from '../helpers/backend.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'reference');
const models: Record<string, LoadedModel> = {};

beforeAll(async () => {
  await useTestBackend();
  for (const name of ['gpt2-tied', 'llama-gqa']) models[name] = await loadModelFolder(join(FIX, name));
});

// Sweeps are long synchronous work: yield between tests so vitest's worker RPC replies get through.
afterEach(() => new Promise<void>((done) => setImmediate(done)));

/**
 * Pairs of random word prompts with roles A (second word) and B (second to last).
 * `shift` makes sources longer or shorter than their bases, so roles sit at other indices.
 */
function examples(n: number, seed: number, shift = false): TaskExample[] {
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

describe('attribution patching', () => {
  it.each(['gpt2-tied', 'llama-gqa'])('matches the exact sweep on %s made close to linear (blocks that write little into the residual stream)', (name) => {
    // Output projections scaled by 0.01: every head, attention or MLP patch moves the residual a little, so first
    // order is nearly exact. (A residual-stream patch swaps the whole stream: no model makes that one small.)
    const m = models[name];
    const w = m.model.weights;
    const layers = w.layers.map((l) => ({ ...l, wo: tf.mul(l.wo, 0.01) as tf.Tensor2D, wOut: tf.mul(l.wOut, 0.01) as tf.Tensor2D }));
    const lin = new Transformer(m.spec, { ...w, layers });
    const ex = examples(6, 5);
    try {
      const cases: [SweepOptions, number][] = [
        [{ kind: 'heads' }, 0.05],
        [{ kind: 'heads', direction: 'noise', metric: 'normalised' }, 0.05],
        [{ kind: 'heads', perPosition: true, positions: ['A', 'last'] }, 0.05],
        [{ kind: 'mlp', positions: ['A', 'B', 'last'] }, 0.05],
        [{ kind: 'attn', direction: 'noise', positions: ['B', 'last'] }, 0.05],
        // p(target) is an exponential of the logits: first order is looser there.
        [{ kind: 'heads', metric: 'prob' }, 0.2],
      ];
      for (const [o, tolerance] of cases) {
        const exact = patchSweep(lin, m.tokenizer!, ex, o);
        const attr = patchSweep(lin, m.tokenizer!, ex, { ...o, method: 'attribution' });
        expect(attr.stats).toMatchObject({ forwards: 2, backwards: 1 });
        expect(attr.unpatched).toBeCloseTo(exact.unpatched, 5);
        const e = flatValues(exact.values).map((v) => v - exact.unpatched);
        const a = flatValues(attr.values).map((v) => v - attr.unpatched);
        const largest = Math.max(...e.map(Math.abs));
        expect(largest, JSON.stringify(o)).toBeGreaterThan(1e-5);
        expect(maxAbsDiff(a, e), JSON.stringify(o)).toBeLessThan(tolerance * largest);
      }
    } finally {
      layers.forEach((l) => tf.dispose([l.wo, l.wOut]));
    }
  });
});
