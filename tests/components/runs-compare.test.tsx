// @vitest-environment jsdom
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { MetricSeries, RunSummary } from '../../src-main/api/contract.js';
import { CATEGORY_COLORS } from '../../src-renderer/charts/theme.js';
import { curveFamilies, familyCurves, headOverlap, metricFamily, overlapSummary, type RunHeads } from '../../src-renderer/views/runs/compare-data.js';
import { RunTable } from '../../src-renderer/views/runs/RunTable.js';
import { distinctTaskLabels, taskLabel } from '../../src-renderer/views/runs/task-label.js';

afterEach(cleanup);

const INLINE_ID = 'inline-2f0549591d3cc018';
const unnamedInline = { id: INLINE_ID, name: 'inline-2f054959', source: 'imported' as const, rowCount: 28 };

describe('task labels', () => {
  it('an inline task sent without a name reads "inline (N examples)", with the id in the tooltip', () => {
    expect(taskLabel(INLINE_ID, unnamedInline)).toEqual({ text: 'inline (28 examples)', title: `inline task ${INLINE_ID} · 28 examples` });
    expect(taskLabel(INLINE_ID, { ...unnamedInline, rowCount: 1 }).text).toBe('inline (1 example)');
    // Not (yet) in the dataset list: still no hash in the label.
    expect(taskLabel(INLINE_ID)).toEqual({ text: 'inline task', title: `inline task ${INLINE_ID}` });
  });

  it("a named dataset reads as its name; a built-in task as the task's name", () => {
    const named = taskLabel(INLINE_ID, { ...unnamedInline, name: 'toy' });
    expect(named.text).toBe('toy');
    expect(named.title).toContain(INLINE_ID);
    expect(named.title).toContain('28 examples');
    expect(taskLabel('import-0123456789abcdef', { id: 'import-0123456789abcdef', name: 'capitals.jsonl', rowCount: 40 }).text).toBe('capitals.jsonl');
    expect(taskLabel('task-sst2')).toEqual({ text: 'sst2', title: 'built-in task sst2' });
    expect(taskLabel(null).text).toBe('—');
  });

  it('labels two datasets would share get the start of their hash', () => {
    const other = { ...unnamedInline, id: 'inline-9a41c07e55d0b2aa', name: 'inline-9a41c07e' };
    const labels = distinctTaskLabels([unnamedInline, other, { id: 'task-ioi', name: 'ioi' }]);
    expect(labels.get(INLINE_ID)!.text).toBe('inline (28 examples) · 2f0549');
    expect(labels.get(other.id)!.text).toBe('inline (28 examples) · 9a41c0');
    expect(labels.get('task-ioi')!.text).toBe('ioi');
  });

  it('the run table shows the label on one line with the id on hover', () => {
    const run: RunSummary = {
      id: 'r1',
      projectId: 'p',
      kind: 'lofit',
      name: 'lofit toy on demo-gpt2',
      status: 'succeeded',
      backend: 'cpu',
      modelId: null,
      datasetId: INLINE_ID,
      createdAt: 0,
      startedAt: 1000,
      endedAt: 8000,
      error: null,
      checkpointPath: null,
      parentRunId: null,
    };
    render(<RunTable runs={[run]} checked={[]} onCheck={() => {}} onOpen={() => {}} modelName={() => 'demo-gpt2'} taskName={(id) => taskLabel(id, unnamedInline)} />);
    const cell = screen.getByText('inline (28 examples)');
    expect(cell.className).toBe('runs-task');
    expect(cell.getAttribute('title')).toContain(INLINE_ID);
    expect(screen.queryByText(INLINE_ID)).toBeNull();
  });
});

const series = (steps: number[], values: (number | null)[]): MetricSeries => ({ steps, values });

describe('curves by metric family', () => {
  const metrics = {
    reft: { loss: series([1, 2, 3], [0.9, 0.6, 0.4]), devAccuracy: series([3, 6], [0.5, 0.75]), 'test.accuracy': series([6], [0.8]) },
    lofit: { 'select.loss': series([1, 2], [1.2, 1.1]), 'tune.loss': series([1, 2, 3], [0.8, null, 0.5]), 'test.accuracy': series([3], [0.7]) },
    iti: { 'test.accuracy': series([1], [0.6]), 'probe.loss': series([1, 2], [null, 0.3]) },
  };
  const runs = [
    { id: 'reft', label: 'ReFT' },
    { id: 'lofit', label: 'LoFIT' },
    { id: 'iti', label: 'ITI' },
  ];

  it('a metric family is its last dotted part', () => {
    expect(metricFamily('loss')).toBe('loss');
    expect(metricFamily('select.loss')).toBe('loss');
    expect(metricFamily('tune.devAccuracy')).toBe('devAccuracy');
  });

  it('offers each family with a curve, loss first; one point (or one non-null value) is not a curve', () => {
    expect(curveFamilies(metrics)).toEqual(['loss', 'devAccuracy']);
    expect(curveFamilies({})).toEqual([]);
  });

  it('one line per run and series, named "<run> · <series>", in the run\'s colour, phases dashed apart', () => {
    const lines = familyCurves(runs, metrics, 'loss');
    expect(lines.map((l) => l.name)).toEqual(['ReFT · loss', 'LoFIT · select.loss', 'LoFIT · tune.loss']);
    expect(lines[0]).toMatchObject({ x: [1, 2, 3], y: [0.9, 0.6, 0.4], color: CATEGORY_COLORS[0], dash: 'solid' });
    expect(lines[1]).toMatchObject({ x: [1, 2], y: [1.2, 1.1], color: CATEGORY_COLORS[1], dash: 'solid' });
    // The missing step is left out, not drawn as 0.
    expect(lines[2]).toMatchObject({ x: [1, 3], y: [0.8, 0.5], color: CATEGORY_COLORS[1], dash: 'dash' });
    expect(familyCurves(runs, metrics, 'devAccuracy').map((l) => l.name)).toEqual(['ReFT · devAccuracy']);
    expect(familyCurves(runs, {}, 'loss')).toEqual([]);
  });
});

describe('head selection overlap', () => {
  const h = (...keys: [number, number][]) => keys.map(([layer, head]) => ({ layer, head }));
  const reft: RunHeads = { id: 'a', label: 'ReFT', heads: [] };
  const lofit: RunHeads = { id: 'b', label: 'LoFIT', selection: 'lofit-top-k', heads: h([0, 1], [1, 2], [2, 3], [3, 4]) };
  const iti: RunHeads = { id: 'c', label: 'ITI', selection: 'iti-top-k', heads: h([0, 1], [1, 2], [2, 5], [3, 6]) };

  it('is computed over the runs that chose heads, and names the runs that did not', () => {
    const o = headOverlap([reft, lofit, iti], { layers: 4, heads: 8 });
    expect(o.withSelection.map((r) => r.label)).toEqual(['LoFIT', 'ITI']);
    expect(o.without.map((r) => r.label)).toEqual(['ReFT']);
    expect([...o.common].sort()).toEqual(['0.1', '1.2']);
    expect(o.union.size).toBe(6);
    expect(o.jaccard).toBeCloseTo(2 / 6, 12);
    expect(o.counts).toHaveLength(4);
    expect(o.counts[0]).toEqual([0, 2, 0, 0, 0, 0, 0, 0]);
    expect(o.counts[2]).toEqual([0, 0, 0, 1, 0, 1, 0, 0]);
    expect(o.counts.flat().reduce((a, b) => a + b)).toBe(8);
    expect(overlapSummary(o)).toBe('2 heads chosen by all 2 runs with a selection, 6 by any (Jaccard 0.33); no head selection: ReFT');
  });

  it('one run with heads beside one without: no overlap and no Jaccard of 1', () => {
    const o = headOverlap([lofit, reft]);
    expect(o.common.size).toBe(0);
    expect(o.jaccard).toBeNull();
    expect(o.counts.flat().reduce((a, b) => a + b)).toBe(4);
    // Without scores the grid is as large as the heads chosen.
    expect([o.layers, o.heads]).toEqual([4, 5]);
    const text = overlapSummary(o);
    expect(text).toBe('Only LoFIT chose heads (4 heads), so there is no overlap; no head selection: ReFT');
    expect(text).not.toMatch(/every run|Jaccard/);
  });

  it('every run with a selection, a head listed twice counted once, heads outside the grid ignored', () => {
    const twice: RunHeads = { ...iti, heads: [...iti.heads, { layer: 0, head: 1 }, { layer: 9, head: 0 }] };
    const o = headOverlap([lofit, twice], { layers: 4, heads: 8 });
    expect(o.counts[0][1]).toBe(2);
    expect(o.counts.flat().reduce((a, b) => a + b)).toBe(8);
    expect(overlapSummary(headOverlap([lofit, iti]))).toBe('2 heads chosen by every run, 6 by any (Jaccard 0.33)');
    expect(overlapSummary(headOverlap([reft, { ...reft, id: 'd', label: 'DAS' }]))).toBe('None of these runs chose heads.');
  });
});
