import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../src-main/engine/tf.js';
import { loadModelFolder, type LoadedModel } from '../../src-main/engine/io/model-folder.js';
import { orthonormalityError } from '../../src-main/engine/interventions/orthogonal.js';
import { evaluateReft, trainReft, type ReftConfig } from '../../src-main/engine/methods/reft.js';
import { loadReft, saveReft } from '../../src-main/engine/methods/reft-artifact.js';
import { cosineMatrix, directionTokens, learnedDirections, projectExamples } from '../../src-main/engine/methods/directions.js';
import { useTestBackend } from '../helpers/backend.js';
import { toyTask } from '../helpers/toy-task.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'reference');
let gpt2: LoadedModel;
let llama: LoadedModel;
const tmp = mkdtempSync(join(tmpdir(), 'subspace-reft-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const train = toyTask(48, 1);
const dev = toyTask(16, 2);

beforeAll(async () => {
  await useTestBackend();
  gpt2 = await loadModelFolder(join(FIX, 'gpt2-tied'));
  llama = await loadModelFolder(join(FIX, 'llama-gqa'));
});

const base: Partial<ReftConfig> = { epochs: 2, batchSize: 8, lr: 2e-2, rank: 2, seed: 7, positions: 'f1+l1' };

describe('ReFT training', () => {
  it('both frozen-computation caches give the same run as recomputing everything', () => {
    const cfg = { ...base, layers: [1, 2], positions: 'l2' };
    const runs = (['window', 'layers', 'none'] as const).map((cache) => trainReft(llama.model, llama.tokenizer!, { train, dev }, { ...cfg, cache }));
    expect(runs.map((r) => r.cacheMode)).toEqual(['window', 'layers', 'none']);
    expect(runs[0].cachedPrefixLayer).toBe(1);
    const [window, layers, none] = runs;
    for (const other of [window, layers]) {
      expect(other.loss.length).toBe(none.loss.length);
      other.loss.forEach((l, i) => expect(Math.abs(l.value - none.loss[i].value)).toBeLessThan(1e-4));
      const a = other.interventions[1].intervention.state().weight.data;
      const b = none.interventions[1].intervention.state().weight.data;
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-4);
    }
    for (const r of runs) for (const p of r.interventions) p.intervention.dispose();
  });

  it('lowers the completion loss, keeps R orthonormal, and counts 2·d·r + r parameters per intervention', () => {
    const before = tf.memory().numTensors;
    const r = trainReft(gpt2.model, gpt2.tokenizer!, { train, dev }, { ...base, epochs: 6, layers: [1], positions: 'l1' });
    const first = r.loss.slice(0, 6).reduce((a, l) => a + l.value, 0) / 6;
    const last = r.loss.slice(-6).reduce((a, l) => a + l.value, 0) / 6;
    expect(last).toBeLessThan(first * 0.8);
    const d = gpt2.spec.dModel;
    expect(r.parameters).toBe(2 * d * 2 + 2);
    const R = r.interventions[0].intervention.state().rotate_layer;
    expect(orthonormalityError(R.data, R.shape[0], R.shape[1])).toBeLessThan(1e-5);
    expect(r.dev).toHaveLength(6);
    const ev = evaluateReft(gpt2.model, gpt2.tokenizer!, dev, r.config, r.interventions);
    expect(ev.n).toBe(16);
    for (const p of r.interventions) p.intervention.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('separate prefix and suffix interventions when weights are not shared', () => {
    const r = trainReft(gpt2.model, gpt2.tokenizer!, { train, dev: [] }, { ...base, epochs: 1, layers: [0, 1], shareWeights: false });
    expect(r.interventions.map((p) => `${p.layer}/${p.group}`)).toEqual(['0/0', '0/1', '1/0', '1/1']);
    for (const p of r.interventions) p.intervention.dispose();
  });

  it('stops with a clear error when the loss becomes NaN or infinite', () => {
    expect(() => trainReft(gpt2.model, gpt2.tokenizer!, { train, dev: [] }, { ...base, lr: 1e30, clipNorm: 1e30, epochs: 3, layers: [1], type: 'nodireft' })).toThrow(/loss became (NaN|Infinity|-Infinity)/);
  });

  it('saves, reloads with equal outputs, and refuses a model of another shape', () => {
    const r = trainReft(gpt2.model, gpt2.tokenizer!, { train, dev: [] }, { ...base, epochs: 1, layers: [1] });
    const dir = join(tmp, 'reft-out');
    saveReft(dir, 'gpt2-tied', gpt2.spec, r.config, r.interventions, { loss: r.loss.at(-1)!.value });
    const back = loadReft(dir, gpt2.spec);
    const e1 = evaluateReft(gpt2.model, gpt2.tokenizer!, dev, r.config, r.interventions);
    const e2 = evaluateReft(gpt2.model, gpt2.tokenizer!, dev, back.config, back.placed);
    expect(e2.meanLogitDiff).toBeCloseTo(e1.meanLogitDiff, 5);
    expect(() => loadReft(dir, llama.spec)).toThrow(/made for gpt2-tied \(gpt2\) and does not fit this model: .*layers/);
    const manifest = join(dir, 'manifest.json');
    writeFileSync(join(dir, 'weights.safetensors'), readFileSync(join(dir, 'weights.safetensors')).subarray(0, 100));
    expect(() => loadReft(dir, gpt2.spec)).toThrow(/checksum mismatch/);
    expect(readFileSync(manifest, 'utf8')).toContain('"method": "reft"');
    for (const p of [...r.interventions, ...back.placed]) p.intervention.dispose();
  });

  it('reads directions: top tokens, cosine similarity, projections with labels', () => {
    const r = trainReft(gpt2.model, gpt2.tokenizer!, { train, dev: [] }, { ...base, epochs: 1, layers: [0, 1] });
    const dirs = learnedDirections(r.interventions);
    expect(dirs.filter((d) => d.kind === 'R')).toHaveLength(4);
    const toks = directionTokens(gpt2.model, gpt2.tokenizer!, r.config, dirs.slice(0, 2), 5);
    expect(toks[0].top).toHaveLength(5);
    expect(toks[0].top[0].score).toBeGreaterThanOrEqual(toks[0].top[4].score);
    expect(toks[0].bottom[0].score).toBeLessThanOrEqual(toks[0].bottom[4].score);
    const rs = dirs.filter((d) => d.kind === 'R' && d.layer === 0);
    const cos = cosineMatrix(rs, rs);
    expect(cos[0][0]).toBeCloseTo(1, 5);
    expect(Math.abs(cos[0][1])).toBeLessThan(1e-5); // orthonormal rows
    const pts = projectExamples(gpt2.model, gpt2.tokenizer!, r.config, dev.slice(0, 5), rs, 0);
    expect(pts).toHaveLength(5);
    expect(pts[0].coords).toHaveLength(2);
    expect(pts[0].label).toMatch(/^t\d+$/);
    for (const p of r.interventions) p.intervention.dispose();
  });

  it('refuses bad configurations by name', () => {
    const t = { train, dev: [] };
    expect(() => trainReft(gpt2.model, gpt2.tokenizer!, t, { layers: [1], rank: 33 })).toThrow(/rank 33 must be a whole number from 1 to the site's width 32/);
    expect(() => trainReft(gpt2.model, gpt2.tokenizer!, t, { layers: [5] })).toThrow(/layer 5 is out of range/);
    expect(() => trainReft(gpt2.model, gpt2.tokenizer!, t, { layers: [1], component: 'residual' })).toThrow(/unknown component 'residual'/);
    expect(() => trainReft(gpt2.model, gpt2.tokenizer!, t, { layers: [1], positions: 'x3' })).toThrow(/x3/);
    expect(() => trainReft(gpt2.model, gpt2.tokenizer!, { train: [], dev: [] }, { layers: [1] })).toThrow(/no examples/);
  });
});
