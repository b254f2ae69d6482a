import * as tf from '../../src-main/engine/tf.js';
import { describe, expect, it } from 'vitest';
import { Transformer } from '../../src-main/engine/model/transformer.js';
import { flatValues, patchSweep, type SweepOptions } from '../../src-main/engine/patching/index.js';
import { maxAbsDiff } from '../helpers/backend.js';
import { useReferenceModels, wordPairExamples } from '../helpers/patching-fixtures.js';

const models = useReferenceModels();

describe('attribution patching', () => {
  it.each(['gpt2-tied', 'llama-gqa'])('matches the exact sweep on %s made close to linear (blocks that write little into the residual stream)', (name) => {
    // Output projections scaled by 0.01: every head, attention or MLP patch moves the residual a little, so first
    // order is nearly exact. (A residual-stream patch swaps the whole stream: no model makes that one small.)
    const m = models[name];
    const w = m.model.weights;
    const layers = w.layers.map((l) => ({ ...l, wo: tf.mul(l.wo, 0.01) as tf.Tensor2D, wOut: tf.mul(l.wOut, 0.01) as tf.Tensor2D }));
    const lin = new Transformer(m.spec, { ...w, layers });
    const ex = wordPairExamples(6, 5);
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
