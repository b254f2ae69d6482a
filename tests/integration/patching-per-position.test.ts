import * as tf from '../../src-main/engine/tf.js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LoadedModel } from '../../src-main/engine/io/model-folder.js';
import { KVCache } from '../../src-main/engine/model/transformer.js';
import { openModel } from '../../src-main/engine/open-model.js';
import { padBatch, patchSweep, preparePairs, sides, type SweepOptions, type SweepResult } from '../../src-main/engine/patching/index.js';
import type { TaskExample } from '../../src-main/engine/tasks/schema.js';
import { loadTask } from '../../src-main/engine/tasks/registry.js';
import { useTestBackend } from '../helpers/backend.js';
import { compareWithNaive } from '../helpers/patching.js';

const models: Record<string, LoadedModel> = {};
let ioi: TaskExample[];
let roles: string[];

beforeAll(async () => {
  // wasm: one plain forward per patch, the reference here, is too slow on the pure-JS backend.
  await useTestBackend('wasm');
  for (const name of ['demo-gpt2', 'demo-llama']) models[name] = await openModel(name);
  const task = await loadTask('ioi');
  ioi = task.splits.test.slice(0, 4);
  roles = task.manifest.roles;
});

// Sweeps are long synchronous work: yield between tests so vitest's worker RPC replies get through.
afterEach(() => new Promise<void>((done) => setImmediate(done)));

const PREFIX = 'the garden , ';

/** ioi pairs whose two prompts differ in length: a few words before the source (even) or the prompt (odd), roles moved with them. */
function ragged(examples: readonly TaskExample[]): TaskExample[] {
  const shift = (r: Record<string, [number, number]> | undefined): Record<string, [number, number]> =>
    Object.fromEntries(Object.entries(r ?? {}).map(([k, [a, b]]) => [k, [a + PREFIX.length, b + PREFIX.length] as [number, number]]));
  return examples.map((e, i) =>
    i % 2 === 0
      ? { ...e, source: { ...e.source!, prompt: PREFIX + e.source!.prompt }, sourceRoles: shift(e.sourceRoles) }
      : { ...e, prompt: PREFIX + e.prompt, roles: shift(e.roles) },
  );
}

/** The fast sweep against one forward per patch, value by value. */
function compare(name: string, ex: TaskExample[], opts: SweepOptions): { exact: SweepResult; naive: SweepResult } {
  return compareWithNaive(models[name], ex, { taskName: 'ioi', taskRoles: roles, ...opts }, `${name} ${JSON.stringify(opts)}`);
}

/** Token-layers of the base and source runs, which every method makes once. */
function runsWork(name: string, ex: TaskExample[]): { N: number; Tb: number; Ts: number; L: number; work: number } {
  const m = models[name];
  const pairs = preparePairs(m.tokenizer!, ex);
  const { base, source } = sides(pairs, 'denoise');
  const Tb = padBatch(base, 0).T;
  const Ts = padBatch(source, 0).T;
  const L = m.spec.nLayers;
  return { N: pairs.length, Tb, Ts, L, work: pairs.length * (Tb + Ts) * L };
}

describe.each(['demo-gpt2', 'demo-llama'])('per-position sweeps on %s reuse the base run before the patched layer and position', (name) => {
  it.each(['denoise', 'noise'] as const)('resid by index, attn, mlp and heads by role, %s: the values of one forward per patch, for a fraction of the work', (direction) => {
    const { N, Tb, L, work } = runsWork(name, ioi);
    const r = compare(name, ioi, { kind: 'resid', direction, positions: 'index' });
    expect(r.exact.values).toHaveLength(L);
    // Restarting every patch at its layer over all positions would run N·T tokens through layers l..L-2
    // and the answer through the last; from the patched position on, the sweep runs far fewer.
    const layerOnly = r.exact.positions!.length * N * [...Array(L).keys()].reduce((a, l) => a + Tb * Math.max(L - 1 - l, 0) + 1, 0);
    expect(r.exact.stats.tokenLayers! - work).toBeLessThan(0.6 * layerOnly);
    expect(r.exact.stats.tokenLayers!).toBeLessThan(r.naive.stats.tokenLayers! / 4);
    compare(name, ioi, { kind: 'attn', direction, positions: ['IO', 'S2', 'END'] });
    compare(name, ioi, { kind: 'mlp', direction, positions: ['S1', 'END'], memoryMiB: 0.05 });
    const h = compare(name, ioi, { kind: 'heads', direction, perPosition: true, heads: [1, 6], positions: ['IO', 'S1', 'S2', 'END'] });
    expect(h.exact.values[0][1]).toHaveLength(4);
    expect(h.exact.stats.forwards).toBeLessThan(h.naive.stats.forwards);
  });

  it.each(['denoise', 'noise'] as const)('sources of other lengths, %s: roles at other indices, index positions up to the shorter prompt', (direction) => {
    const ex = ragged(ioi);
    const m = models[name];
    const pairs = preparePairs(m.tokenizer!, ex);
    expect(pairs.every((p) => p.clean.ids.length !== p.corrupt.ids.length)).toBe(true);
    compare(name, ex, { kind: 'resid', direction, positions: ['IO', 'S1', 'S2', 'END'] });
    compare(name, ex, { kind: 'resid', direction, residSite: 'block_input', positions: 'index', layers: [0, 3] });
    compare(name, ex, { kind: 'heads', direction, perPosition: true, heads: [0, 5], positions: ['S1', 'END'], memoryMiB: 0.1 });
    compare(name, ex, { kind: 'mlp', direction, positions: ['S2', 'END'], layers: [1, 3] });
    compare(name, ex, { kind: 'heads', direction });
  });

  it('counts the work by hand: a patch at the answer position, before the last layer or inside it', () => {
    const { N, Tb, L, work } = runsWork(name, ioi);
    const o = { taskName: 'ioi', taskRoles: roles, method: 'exact' as const };
    const run = (opts: SweepOptions) => patchSweep(models[name].model, models[name].tokenizer!, ioi, { ...o, ...opts }).stats;
    // The residual leaving layer 0 at the answer: layers 1..L-2 and the last layer on that token alone.
    expect(run({ kind: 'resid', positions: ['END'], layers: [0] })).toMatchObject({ tokenLayers: work + N * (L - 1), forwards: 2 + 2 });
    // Inside the last layer only the answer counts: one forward of one token.
    expect(run({ kind: 'resid', positions: ['S1', 'END'], layers: [L - 1] })).toMatchObject({ tokenLayers: work + 2 * N, forwards: 2 + 1 });
    expect(run({ kind: 'heads', heads: [2], layers: [L - 1] })).toMatchObject({ tokenLayers: work + N, forwards: 2 + 1 });
    // A head at every position of layer 1: all positions through layers 1..L-2, the answer through the last.
    expect(run({ kind: 'heads', heads: [2], layers: [1] })).toMatchObject({ tokenLayers: work + N * Tb * (L - 2) + N, forwards: 2 + 2 });
    // The MLP output at S1 of layer 0: layer 0 on that token, layers 1..L-2 from S1 on, the last at the answer.
    const pairs = preparePairs(models[name].tokenizer!, ioi);
    const suffix = Math.max(...pairs.map((p) => p.corrupt.ids.length - p.corrupt.roles.S1));
    expect(run({ kind: 'mlp', positions: ['S1'], layers: [0] })).toMatchObject({ tokenLayers: work + N + N * suffix * (L - 2) + N, forwards: 2 + 3 });
  });

  it('the forward resumed at a layer from each row’s own position, after the base run’s keys and values, equals the full forward', () => {
    // What the sweep rests on, checked with the runtime alone: rows of one batch resume at different positions.
    const m = models[name];
    const pairs = preparePairs(m.tokenizer!, ragged(ioi).slice(0, 3));
    const batch = padBatch(pairs.map((p) => p.clean), 0);
    const L = m.spec.nLayers;
    const layer = 1;
    const cache = new KVCache(L);
    const full = m.model.forward({ inputIds: batch.ids, attentionMask: batch.mask }, { read: [{ site: 'block_input', layer }], cache, stopBefore: L });
    const from = [3, 0, batch.lengths[2] - 1];
    const S = Math.max(...from);
    const T = Math.max(...from.map((f, b) => batch.lengths[b] - f));
    const at = (b: number, i: number) => Math.min(from[b] + i, batch.lengths[b] - 1);
    const resid = full.sites[`block_input:${layer}`].arraySync() as number[][][];
    const start = tf.tensor3d(from.map((_, b) => Array.from({ length: T }, (_, i) => resid[b][at(b, i)])));
    const prefix = new KVCache(L);
    prefix.mask = from.map((f) => Array.from({ length: S }, (_, j) => (j < f ? 1 : 0)));
    for (let l = layer; l < L; l++) {
      prefix.keys[l] = tf.slice(cache.keys[l]!, [0, 0, 0, 0], [-1, -1, S, -1]);
      prefix.values[l] = tf.slice(cache.values[l]!, [0, 0, 0, 0], [-1, -1, S, -1]);
    }
    const ids = from.map((_, b) => Array.from({ length: T }, (_, i) => batch.ids[b][at(b, i)]));
    const mask = from.map((f, b) => Array.from({ length: T }, (_, i) => (f + i < batch.lengths[b] ? 1 : 0)));
    const out = m.model.forward({ inputIds: ids, attentionMask: mask }, { start: { layer, residual: start }, cache: prefix, cacheReadOnly: true, stopBefore: L });
    const want = full.residual!.arraySync() as number[][][];
    const got = out.residual!.arraySync() as number[][][];
    let worst = 0;
    from.forEach((f, b) => {
      for (let i = 0; f + i < batch.lengths[b]; i++) for (let k = 0; k < m.spec.dModel; k++) worst = Math.max(worst, Math.abs(got[b][i][k] - want[b][f + i][k]));
    });
    expect(worst).toBeLessThan(1e-4);
    // The prefix was read, not extended.
    expect(prefix.length).toBe(S);
    tf.dispose([start, full.residual!, out.residual!, ...Object.values(full.sites)]);
    cache.dispose();
    prefix.dispose();
  });
});
