import * as tf from '../../src-main/engine/tf.js';
import { describe, expect, it } from 'vitest';
import type { LoadedModel } from '../../src-main/engine/io/model-folder.js';
import { evaluateInterchange, interchangeForward, preparePairs, type PatchSite, type PromptTokens } from '../../src-main/engine/patching/index.js';
import { seededRandom } from '../../src-main/engine/random.js';
import type { TaskExample } from '../../src-main/engine/tasks/schema.js';
import { maxAbsDiff } from '../helpers/backend.js';
import { useReferenceModels } from '../helpers/patching-fixtures.js';

const models = useReferenceModels();

/** Random word prompts t3…t30; a role X on the word at `at`. */
function words(rand: () => number, n: number): number[] {
  return Array.from({ length: n }, () => 3 + Math.floor(rand() * 28));
}

function tokens(m: LoadedModel, ws: number[], xAt: number): PromptTokens {
  const ids = m.tokenizer!.encode(ws.map((w) => `t${w}`).join(' '));
  const offset = ids.length - ws.length; // a BOS where the tokenizer adds one
  return { ids, roles: { first: 0, last: ids.length - 1, X: offset + xAt } };
}

function data(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

/** Per pair, equal (or unequal) lengths; different lengths across pairs so batches are padded. */
function batch(m: LoadedModel, equal: boolean, seed: number): { base: PromptTokens[]; source: PromptTokens[] } {
  const rand = seededRandom(seed);
  const lens = [5, 7, 6];
  const base = lens.map((n) => tokens(m, words(rand, n), 1));
  const source = lens.map((n, i) => tokens(m, words(rand, equal ? n : n + (i % 2 === 0 ? 2 : -1)), i % 2 === 0 ? 3 : 2));
  return { base, source };
}

/** Logits of one plain run at each row's last token [B, V], read back. */
function lastLogits(m: LoadedModel, prompts: PromptTokens[]): Float32Array[] {
  return prompts.map((p) => {
    const r = m.model.forward({ inputIds: [p.ids] }, { logits: 'last' });
    const out = Float32Array.from(data(r.logits!));
    r.logits!.dispose();
    return out;
  });
}

describe.each(['gpt2-tied', 'llama-gqa'])('interchange interventions on %s', (name) => {
  it('at block_input of layer 0, all positions, equal-length inputs: the patched run gives the source logits everywhere', () => {
    const m = models[name];
    const { base, source } = batch(m, true, 1);
    const r = interchangeForward(m.model, base, source, [{ site: 'block_input', layer: 0 }], { logits: 'all' });
    const got = data(r.logits!);
    const V = m.spec.vocabSize;
    const T = r.logits!.shape[1]!;
    source.forEach((s, b) => {
      const plain = m.model.forward({ inputIds: [s.ids] }, { logits: 'all' });
      const want = data(plain.logits!);
      const row = got.subarray(b * T * V, (b * T + s.ids.length) * V);
      expect(maxAbsDiff(row, want)).toBeLessThan(1e-4);
      plain.logits!.dispose();
    });
    // The base run's own logits are far from these: the patch did something.
    const baseLast = lastLogits(m, base);
    const srcLast = lastLogits(m, source);
    expect(maxAbsDiff(baseLast[0], srcLast[0])).toBeGreaterThan(1e-2);
    r.logits!.dispose();
  });

  it("at the last layer's block_output at the answer position, base and source of different lengths: the source's answer logits", () => {
    const m = models[name];
    const { base, source } = batch(m, false, 2);
    expect(base.map((b) => b.ids.length)).not.toEqual(source.map((s) => s.ids.length));
    const L = m.spec.nLayers;
    const r = interchangeForward(m.model, base, source, [{ site: 'block_output', layer: L - 1, positions: ['last'] }]);
    const got = data(r.logits!);
    const V = m.spec.vocabSize;
    lastLogits(m, source).forEach((want, b) => expect(maxAbsDiff(got.subarray(b * V, (b + 1) * V), want)).toBeLessThan(1e-4));
    r.logits!.dispose();
  });

  it('a subspace patch with the full identity basis equals the full patch', () => {
    const m = models[name];
    const { base, source } = batch(m, false, 3);
    const d = m.spec.dModel;
    const eye = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0)));
    const site: PatchSite = { site: 'block_output', layer: 0, positions: ['X', 'first'] };
    const full = interchangeForward(m.model, base, source, [site], { logits: 'all' });
    const sub = interchangeForward(m.model, base, source, [{ ...site, subspace: eye }], { logits: 'all' });
    const plain = interchangeForward(m.model, base, source, [{ ...site, positions: ['first'] }], { logits: 'all' });
    expect(maxAbsDiff(data(full.logits!), data(sub.logits!))).toBeLessThan(1e-4);
    expect(maxAbsDiff(data(full.logits!), data(plain.logits!))).toBeGreaterThan(1e-3);
    tf.dispose([full.logits!, sub.logits!, plain.logits!]);
  });

  it('a k-dimensional subspace patch equals h + (h_src − h)·B·Bᵀ on the read activations, at the aligned positions only', () => {
    const m = models[name];
    const { base, source } = batch(m, false, 4);
    const { nHeads, dHead } = m.spec;
    const cases: { site: PatchSite; width: number; perPos: number; offset: (h: number) => number }[] = [
      { site: { site: 'head_output', layer: 1, head: 2, positions: ['X', 'last'] }, width: dHead, perPos: nHeads * dHead, offset: () => 2 * dHead },
      { site: { site: 'mlp_output', layer: 0, positions: ['X'] }, width: m.spec.dModel, perPos: m.spec.dModel, offset: () => 0 },
    ];
    for (const c of cases) {
      const k = 3;
      const basis = tf.tidy(() => tf.linalg.qr(tf.randomNormal([c.width, k], 0, 1, 'float32', 11))[0]) as tf.Tensor2D;
      const B = data(basis);
      const readRef = { site: c.site.site, layer: c.site.layer };
      const key = `${readRef.site}:${readRef.layer}`;
      const patched = interchangeForward(m.model, base, source, [{ ...c.site, subspace: basis }], { read: [readRef], logits: 'none' });
      const got = data(patched.sites[key]);
      const T = patched.sites[key].shape[1]!;
      base.forEach((bp, b) => {
        const sp = source[b];
        const h = data(m.model.forward({ inputIds: [bp.ids] }, { read: [readRef], logits: 'none' }).sites[key]);
        const hs = data(m.model.forward({ inputIds: [sp.ids] }, { read: [readRef], logits: 'none' }).sites[key]);
        const want = Float32Array.from(h);
        const roles = (c.site.positions as string[]).map((role) => [bp.roles[role], sp.roles[role]]);
        for (const [pb, ps] of roles) {
          const at = pb * c.perPos + c.offset(0);
          const from = ps * c.perPos + c.offset(0);
          // coefficient of (h_src − h) on each basis vector, then back
          for (let j = 0; j < k; j++) {
            let coef = 0;
            for (let i = 0; i < c.width; i++) coef += (hs[from + i] - h[at + i]) * B[i * k + j];
            for (let i = 0; i < c.width; i++) want[at + i] += coef * B[i * k + j];
          }
        }
        const row = got.subarray(b * T * c.perPos, (b * T + bp.ids.length) * c.perPos);
        expect(maxAbsDiff(row, want), `${key} pair ${b}`).toBeLessThan(1e-4);
        expect(maxAbsDiff(row, h), `${key} pair ${b} changed`).toBeGreaterThan(1e-4);
      });
      tf.dispose([basis, ...Object.values(patched.sites)]);
    }
  });
});

describe('interchange bad input', () => {
  it('names the problem: batch sizes, unknown role, subspace too wide, layer or head out of range, unknown site', () => {
    const m = models['gpt2-tied'];
    const { base, source } = batch(m, false, 5);
    const call = (sites: PatchSite[], b = base, s = source) => () => interchangeForward(m.model, b, s, sites);
    const before = tf.memory().numTensors;
    expect(call([{ site: 'block_output', layer: 0 }], base, source.slice(0, 2))).toThrow(/base batch has 3 inputs but source batch has 2/);
    expect(call([{ site: 'block_output', layer: 0, positions: ['IO'] }])).toThrow(/position role "IO" is not defined by the task; it defines: first, last, X/);
    const d = m.spec.dModel;
    const wide = Array.from({ length: d }, () => new Array(d + 2).fill(0));
    expect(call([{ site: 'block_output', layer: 0, subspace: wide }])).toThrow(new RegExp(`has dimension ${d + 2}, larger than the site's width ${d}`));
    expect(call([{ site: 'block_output', layer: 5 }])).toThrow(/layer 5 is out of range/);
    expect(call([{ site: 'head_output', layer: 0, head: 7 }])).toThrow(/head 7 is out of range/);
    expect(call([{ site: 'residual' as never, layer: 0 }])).toThrow(/unknown or unpatchable site 'residual'/);
    // The same refusals leave no tensors behind (a valid basis before a bad site is freed).
    const eye = Array.from({ length: d }, (_, i) => [i === 0 ? 1 : 0]);
    expect(call([{ site: 'block_output', layer: 0, subspace: eye }, { site: 'block_output', layer: 9 }])).toThrow(/layer 9/);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('evaluateInterchange on task examples', () => {
  it('scores patched, clean and corrupt runs; patching every position at block_input 0 (noise) gives the corrupt run', () => {
    const m = models['llama-gqa'];
    const rand = seededRandom(9);
    const examples: TaskExample[] = [0, 1, 2, 3].map((i) => {
      const ws = words(rand, 5 + i);
      const src = [...ws];
      src[1] = 3 + ((ws[1] + 5) % 28);
      return { id: `e${i}`, prompt: ws.map((w) => `t${w}`).join(' '), completion: ' t40', wrong: [' t42'], source: { prompt: src.map((w) => `t${w}`).join(' '), completion: ' t41' } };
    });
    const r = evaluateInterchange(m.model, m.tokenizer!, examples, [{ site: 'block_input', layer: 0 }]);
    expect(r.n).toBe(4);
    expect(r.direction).toBe('noise');
    expect(r.patched.logitDiff).toBeCloseTo(r.corrupt.logitDiff, 4);
    expect(r.patched.normalised).toBeCloseTo(0, 4);
    expect(r.clean.normalised).toBeCloseTo(1, 6);
    expect(r.patched.prob).toBeCloseTo(r.corrupt.prob, 5);
    expect(r.pairs).toHaveLength(4);
    const pairs = preparePairs(m.tokenizer!, examples);
    // Per-pair values against a plain run of each source prompt.
    pairs.forEach((p, i) => {
      const fw = m.model.forward({ inputIds: [p.corrupt.ids] }, { logits: 'last' });
      const l = data(fw.logits!);
      expect(r.pairs[i].logitDiff).toBeCloseTo(l[p.answer] - l[p.wrong], 4);
      fw.logits!.dispose();
    });
  });
});
