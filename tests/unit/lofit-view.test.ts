/**
 * The LoFIT view's pure helpers (head sets, overlap) and its API handlers against a real store on a
 * temporary data folder: sibling runs share model and task, carry their heads and final test scores;
 * an export folder is listed file by file.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiContext } from '../../src-main/api/context.js';
import { lofitViewHandlers } from '../../src-main/api/handlers/lofit-view.js';
import { openStore, type Store } from '../../src-main/store/index.js';
import { overlapOf, parseTaskKey, inlineTaskName, sameHeads, toggleHead, topHeads, tuningConfigOf } from '../../src-renderer/views/lofit/data.js';

describe('head-set helpers', () => {
  it('toggles a head in and out, keeping (layer, head) order', () => {
    const s = toggleHead([[0, 1], [2, 3]], [1, 0]);
    expect(s).toEqual([[0, 1], [1, 0], [2, 3]]);
    expect(toggleHead(s, [0, 1])).toEqual([[1, 0], [2, 3]]);
  });

  it('counts the overlap of two selections by hand', () => {
    const o = overlapOf([[0, 0], [0, 1], [1, 1]], [[1, 1], [0, 0], [3, 2], [2, 2]]);
    expect(o.shared).toEqual([[0, 0], [1, 1]]);
    expect(o.onlyA).toEqual([[0, 1]]);
    expect(o.onlyB).toEqual([[2, 2], [3, 2]]);
    // 2 shared out of 5 distinct heads.
    expect(o.jaccard).toBeCloseTo(2 / 5, 12);
    expect(Number.isNaN(overlapOf([], []).jaccard)).toBe(true);
  });

  it('takes the top K by value and compares sets regardless of order', () => {
    const scores = [
      [0.1, 0.9, NaN],
      [0.5, 0.3, 0.8],
    ];
    expect(topHeads(scores, 2)).toEqual([[0, 1], [1, 2]]);
    expect(sameHeads([[1, 2], [0, 1]], topHeads(scores, 2))).toBe(true);
    expect(sameHeads([[1, 2]], topHeads(scores, 2))).toBe(false);
  });

  it('round-trips an inline task name and strips the job record from a config', () => {
    expect(parseTaskKey(inlineTaskName('ioi', 16))).toEqual({ task: 'ioi', limit: 16 });
    expect(parseTaskKey('ioi')).toEqual({ task: 'ioi' });
    expect(tuningConfigOf({ k: 4, heads: [[0, 1]], job: { model: 'm' }, epochs: 1 })).toEqual({ k: 4, epochs: 1 });
  });
});

describe('LoFIT view handlers', () => {
  let dir: string;
  let store: Store;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'subspace-lofit-view-'));
    store = openStore({ dataDir: dir });
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the LoFIT runs on the same model and task with heads and final test scores', () => {
    const h = lofitViewHandlers({ store } as unknown as ApiContext);
    const projectId = store.createProject({ name: 'p' }).id;
    const model = store.registerModel({ name: 'demo', folder: '/m', configSummary: {}, contentHash: 'h' }).id;
    const other = store.registerModel({ name: 'other', folder: '/o', configSummary: {}, contentHash: 'o' }).id;
    const ioi = store.registerDataset({ id: 'task-ioi', name: 'ioi', source: 'builtin', contentHash: 'ioi', rowCount: 0 }).id;
    const mk = (name: string, config: Record<string, unknown>, modelId: string, createdAt: number) => store.createRun({ projectId, kind: 'lofit', name, config, modelId, datasetId: ioi, createdAt });
    const a = mk('steps 1 + 2', { k: 2 }, model, 1000);
    const b = mk('given', { k: 2, heads: [[1, 1], [0, 3], [2, 0]] }, model, 2000);
    mk('other model', { k: 2 }, other, 3000);
    store.saveHeadSelection(a.id, 'lofit-top-k', [{ layer: 0, head: 1 }, { layer: 2, head: 2 }]);
    store.saveHeadSelection(b.id, 'lofit-top-k', [{ layer: 1, head: 1 }, { layer: 0, head: 3 }, { layer: 2, head: 0 }]);
    store.appendMetrics(a.id, [
      { step: 1, name: 'test.accuracy', value: 0.25 },
      { step: 4, name: 'test.accuracy', value: 0.75 },
      { step: 4, name: 'test.preferCorrect', value: 0.5 },
    ]);
    const r = h['lofit.siblings']({ runId: a.id }) as { runs: { runId: string; given: boolean; heads: number[][]; testAccuracy: number | null; testPreferCorrect: number | null }[] };
    expect(r.runs.map((x) => x.runId)).toEqual([b.id, a.id]);
    expect(r.runs[0]).toMatchObject({ given: true, heads: [[1, 1], [0, 3], [2, 0]], testAccuracy: null, testPreferCorrect: null });
    expect(r.runs[1]).toMatchObject({ given: false, heads: [[0, 1], [2, 2]], testAccuracy: 0.75, testPreferCorrect: 0.5 });
    expect(() => h['lofit.siblings']({ runId: 'nope' })).toThrow(/no run with id "nope"/);
  });

  it('lists an export folder recursively with sizes, and names a missing folder', () => {
    const h = lofitViewHandlers({ store } as unknown as ApiContext);
    const out = join(dir, 'export');
    mkdirSync(join(out, 'native'), { recursive: true });
    writeFileSync(join(out, 'native', 'manifest.json'), '{}');
    writeFileSync(join(out, 'top_heads.npy'), Buffer.alloc(10));
    const r = h['lofit.listFiles']({ dir: out }) as { files: { path: string; sizeBytes: number }[] };
    expect(r.files).toEqual([
      { path: join('native', 'manifest.json'), sizeBytes: 2 },
      { path: 'top_heads.npy', sizeBytes: 10 },
    ]);
    expect(() => h['lofit.listFiles']({ dir: join(dir, 'missing') })).toThrow(/does not exist/);
  });
});
