import * as tf from '../../src-main/engine/tf.js';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModelFolder, type LoadedModel } from '../../src-main/engine/io/model-folder.js';
import { alignPositions, buildGrid, checkPatchSite, padBatch, preparePairs, ranks, resolveSubspace, sides, spearman, targets } from '../../src-main/engine/patching/index.js';
import type { TaskExample } from '../../src-main/engine/tasks/schema.js';
import { useTestBackend } from '../helpers/backend.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'reference');
let m: LoadedModel;

beforeAll(async () => {
  await useTestBackend();
  m = await loadModelFolder(join(FIX, 'gpt2-tied'));
});

/** A prompt of words t{n} with a role span on the word at `at`. */
function prompt(words: number[], at: number): { text: string; span: [number, number] } {
  const text = words.map((w) => `t${w}`).join(' ');
  const start = words.slice(0, at).reduce((a, w) => a + `t${w}`.length + 1, 0);
  return { text, span: [start, start + `t${words[at]}`.length] };
}

function example(id: string, base: number[], source: number[], extra: Partial<TaskExample> = {}): TaskExample {
  const b = prompt(base, 1);
  const s = prompt(source, 1);
  return { id, prompt: b.text, completion: ' t40', wrong: [' t42'], source: { prompt: s.text, completion: ' t41' }, roles: { X: b.span }, sourceRoles: { X: s.span }, ...extra };
}

describe('pairs and positions', () => {
  it('tokenises clean/corrupt pairs: the wrong answer is the source answer, else the first wrong one', () => {
    const tok = m.tokenizer!;
    const [p, q] = preparePairs(tok, [example('a', [3, 4, 5], [3, 6, 5]), example('b', [3, 4, 5], [3, 6, 5, 7], { source: { prompt: 't3 t6 t5 t7', completion: ' t40' } })]);
    expect(p.clean.ids).toEqual(tok.encode('t3 t4 t5'));
    expect(p.answer).toBe(tok.encode(' t40', { addSpecialTokens: false })[0]);
    expect(p.wrong).toBe(p.sourceAnswer);
    expect(q.sourceAnswer).toBe(q.answer);
    expect(q.wrong).toBe(tok.encode(' t42', { addSpecialTokens: false })[0]);
    expect(p.candidates).toHaveLength(3);
    expect(p.clean.roles.X).toBe(p.clean.ids.indexOf(tok.encode('t4', { addSpecialTokens: false })[0]));
    // Targets: the answer of the run the values come from; with a variable, its counterfactual (noise only).
    expect(targets([p], 'denoise')).toEqual([p.answer]);
    expect(targets([p], 'noise')).toEqual([p.sourceAnswer]);
    const [c] = preparePairs(tok, [example('c', [3, 4, 5], [3, 6, 5], { counterfactual: { v: ' t43' } })], { variable: 'v' });
    expect(targets([c], 'noise')).toEqual([tok.encode(' t43', { addSpecialTokens: false })[0]]);
    expect(() => targets([c], 'denoise')).toThrow(/causal variable needs direction noise/);
    expect(sides([p], 'denoise').base[0]).toBe(p.corrupt);
    expect(sides([p], 'noise').base[0]).toBe(p.clean);
  });

  it('aligns positions by index, by role (each prompt its own position) and over the common length', () => {
    const tok = m.tokenizer!;
    const pairs = preparePairs(tok, [example('a', [3, 4, 5, 6], [9, 3, 4, 5, 6, 7]), example('b', [3, 4], [3, 8])]);
    // Role X sits on the second word; give the source of pair a its X two words later.
    const sourceRoles = [{ ...pairs[0].corrupt.roles, X: 3 }, pairs[1].corrupt.roles];
    const base = padBatch(pairs.map((p) => p.clean), 0);
    const source = { ...padBatch(pairs.map((p) => p.corrupt), 0), roles: sourceRoles };
    expect(base.T).toBe(4);
    expect(source.T).toBe(6);
    expect(base.mask[1]).toEqual([1, 1, 0, 0]);
    expect(alignPositions([1, 'X', 'last'], base, source)).toEqual({ base: [[1, 1, 3], [1, 1, 1]], source: [[1, 3, 5], [1, 1, 1]] });
    expect(alignPositions('all', base, source)).toEqual({ base: [[0, 1, 2, 3], [0, 1, -1, -1]], source: [[0, 1, 2, 3], [0, 1, -1, -1]] });
    expect(() => alignPositions(['Y'], base, source, 'task "toy"')).toThrow(/position role "Y" is not defined by task "toy"; it defines: first, last, X/);
    expect(() => alignPositions([2], base, source)).toThrow(/position 2 is out of range for pair 1/);
    expect(() => alignPositions([0], base, { ...source, lengths: [6] })).toThrow(/base has 2 inputs but source has 1/);
  });

  it('refuses an example without a source, naming it, and a variable an example has no label for', () => {
    const tok = m.tokenizer!;
    const noSource: TaskExample = { id: 'lonely', prompt: 't3 t4', completion: ' t40', wrong: [' t41'] };
    expect(() => preparePairs(tok, [example('a', [3, 4], [3, 5]), noSource], { taskName: 'toy' })).toThrow(/example 'lonely' of task 'toy' has no source prompt/);
    expect(() => preparePairs(tok, [example('a', [3, 4], [3, 5], { counterfactual: { io: ' t9' } })], { variable: 's' })).toThrow(/no counterfactual label for variable 's' \(it has: io\)/);
  });
});

describe('sites and subspaces', () => {
  it('checks site, layer and head against the model', () => {
    const spec = m.spec;
    expect(() => checkPatchSite(spec, { site: 'attention_pattern' as never, layer: 0 })).toThrow(/unknown or unpatchable site 'attention_pattern'/);
    expect(() => checkPatchSite(spec, { site: 'resid' as never, layer: 0 })).toThrow(/unknown or unpatchable site 'resid'/);
    expect(() => checkPatchSite(spec, { site: 'block_output', layer: 2 })).toThrow(/layer 2 is out of range: the model has layers 0..1/);
    expect(() => checkPatchSite(spec, { site: 'head_output', layer: 0, head: 4 })).toThrow(/head 4 is out of range: the model has heads 0..3/);
    expect(() => checkPatchSite(spec, { site: 'mlp_output', layer: 0, head: 1 })).toThrow(/has no heads/);
  });

  it('accepts an orthonormal basis of the site width and refuses the wrong shape, a larger dimension or a skewed basis', () => {
    const d = m.spec.dModel;
    const eye = (n: number, k: number) => Array.from({ length: n }, (_, i) => Array.from({ length: k }, (_, j) => (i === j ? 1 : 0)));
    const ok = resolveSubspace(m.spec, { site: 'block_output', layer: 0, subspace: eye(d, 3) })!;
    expect(ok.basis.shape).toEqual([d, 3]);
    expect(ok.basisT.shape).toEqual([3, d]);
    tf.dispose([ok.basis, ok.basisT]);
    const dh = m.spec.dHead;
    expect(resolveSubspace(m.spec, { site: 'head_output', layer: 0, head: 1, subspace: tf.tensor2d(eye(dh, 2)) })!.k).toBe(2);
    expect(() => resolveSubspace(m.spec, { site: 'block_output', layer: 0, subspace: eye(d, d + 1) })).toThrow(new RegExp(`dimension ${d + 1}, larger than the site's width ${d}`));
    expect(() => resolveSubspace(m.spec, { site: 'head_output', layer: 0, head: 0, subspace: eye(d, 2) })).toThrow(new RegExp(`must have shape \\[${dh}, k\\]`));
    expect(() => resolveSubspace(m.spec, { site: 'block_output', layer: 0, subspace: [[1, 2], [3]] as number[][] })).toThrow(/every row must hold 2 finite numbers/);
    const skew = eye(d, 2);
    skew[1][0] = 1;
    expect(() => resolveSubspace(m.spec, { site: 'block_output', layer: 0, subspace: skew })).toThrow(/orthonormal columns/);
  });
});

describe('sweep grids', () => {
  it('lays out heads × layers, heads per position and layers × positions, refusing out-of-range layers and heads', () => {
    const tok = m.tokenizer!;
    const pairs = preparePairs(tok, [example('a', [3, 4, 5], [3, 6, 5]), example('b', [3, 4, 5, 6], [3, 7, 5, 6])]);
    const base = padBatch(pairs.map((p) => p.corrupt), 0);
    const source = padBatch(pairs.map((p) => p.clean), 0);
    const heads = buildGrid(m.spec, base, source, { kind: 'heads', positions: ['X'] });
    expect(heads.shape).toEqual([2, 4]);
    expect(heads.cells[5]).toMatchObject({ site: 'head_output', layer: 1, head: 1, base: [[0, 1, 2, -1], [0, 1, 2, 3]] });
    const per = buildGrid(m.spec, base, source, { kind: 'heads', perPosition: true, positions: ['X', 'last'], heads: [2] });
    expect(per.shape).toEqual([2, 1, 2]);
    expect(per.cells[1]).toMatchObject({ layer: 0, head: 2, base: [[2], [3]] });
    const resid = buildGrid(m.spec, base, source, { kind: 'resid', residSite: 'block_input', positions: 'index' });
    expect(resid.shape).toEqual([2, 4]);
    expect(resid.positions).toEqual(['0', '1', '2', '3']);
    expect(resid.cells[3]).toMatchObject({ site: 'block_input', layer: 0, base: [[-1], [3]], source: [[-1], [3]] });
    expect(buildGrid(m.spec, base, source, { kind: 'mlp', positions: ['X'], layers: [1] }).cells[0].site).toBe('mlp_output');
    expect(() => buildGrid(m.spec, base, source, { kind: 'attn', positions: ['X'], layers: [2] })).toThrow(/layer 2 is out of range: the model has layers 0..1/);
    expect(() => buildGrid(m.spec, base, source, { kind: 'heads', positions: ['X'], heads: [-1] })).toThrow(/head -1 is out of range/);
    expect(() => buildGrid(m.spec, base, source, { kind: 'neurons' as never, positions: ['X'] })).toThrow(/unknown sweep 'neurons'/);
  });
});

describe('rank correlation', () => {
  it('is Pearson correlation of ranks, ties sharing their mean rank', () => {
    expect(ranks([10, 30, 20, 20])).toEqual([1, 4, 2.5, 2.5]);
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    // By hand: ranks a = 1,2,3,4,5 and b = 2,1,4,3,5 → 1 − 6·Σd²/(n(n²−1)) = 1 − 6·4/120.
    expect(spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])).toBeCloseTo(0.8, 12);
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNaN();
  });
});
