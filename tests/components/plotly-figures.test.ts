import { describe, expect, it } from 'vitest';
import { lineFigure } from '../../src-renderer/charts/line-figure.js';
import { wholeNumberTicks } from '../../src-renderer/charts/plotly-layout.js';
import { scatterFigure, scatterGroups } from '../../src-renderer/charts/scatter-figure.js';
import { CATEGORY_COLORS, DARK_THEME, LIGHT_THEME } from '../../src-renderer/charts/theme.js';

type Trace = Record<string, any>;

describe('lineFigure', () => {
  it('one line per series, x defaulting to 0, 1, 2, …, palette colours, exact hover values', () => {
    const fig = lineFigure(
      {
        series: [
          { name: 'train loss', y: [2, 1.5, NaN, 1] },
          { name: 'eval loss', x: [0, 10], y: [2.2, 1.6] },
        ],
        yTitle: 'loss',
      },
      LIGHT_THEME,
    );
    const [a, b] = fig.data as Trace[];
    expect(fig.data).toHaveLength(2);
    expect(a.x).toEqual([0, 1, 2, 3]);
    expect(a.y).toEqual([2, 1.5, null, 1]);
    expect(b.x).toEqual([0, 10]);
    expect(a.line.color).toBe(CATEGORY_COLORS[0]);
    expect(b.line.color).toBe(CATEGORY_COLORS[1]);
    expect(a.hovertemplate).toBe('train loss: %{y:.6g}<extra></extra>');
    const layout = fig.layout as Trace;
    expect(layout.hovermode).toBe('x unified');
    expect(layout.yaxis.type).toBe('linear');
    expect(layout.yaxis.title.text).toBe('loss');
    expect(layout.xaxis.title.text).toBe('step');
    expect(layout.showlegend).toBe(true);
    expect(layout.uirevision).toBe('keep');
  });

  it('log-y: a log axis, with values ≤ 0 left out and the range in log10 units', () => {
    const fig = lineFigure({ series: [{ name: 'kl', y: [1, 0, -1, 0.01] }], logY: true, yRange: [0.001, 10] }, LIGHT_THEME);
    const layout = fig.layout as Trace;
    expect(layout.yaxis.type).toBe('log');
    expect(layout.yaxis.range).toEqual([-3, 1]);
    expect((fig.data[0] as Trace).y).toEqual([1, null, null, 0.01]);
  });

  it('uses the theme colours and a new revision for new data', () => {
    const fig = lineFigure({ series: [{ name: 'a', y: [1, 2] }], revision: 7 }, DARK_THEME);
    const layout = fig.layout as Trace;
    expect(layout.paper_bgcolor).toBe(DARK_THEME.bg);
    expect(layout.plot_bgcolor).toBe(DARK_THEME.bg);
    expect(layout.font.color).toBe(DARK_THEME.fg);
    expect(layout.xaxis.gridcolor).toBe(DARK_THEME.grid);
    expect(layout.datarevision).toBe(7);
    expect(layout.showlegend).toBe(false);
  });

  it('escapes series names in hovers and rejects x/y of different lengths', () => {
    const fig = lineFigure({ series: [{ name: '<b>', y: [1] }] }, LIGHT_THEME);
    expect((fig.data[0] as Trace).hovertemplate).toBe('&lt;b&gt;: %{y:.6g}<extra></extra>');
    expect(() => lineFigure({ series: [{ name: 'bad', x: [0], y: [1, 2] }] }, LIGHT_THEME)).toThrow('series "bad" has 1 x values and 2 y values');
  });
});

describe('scatterFigure', () => {
  const x = [0.5, -1, 2, 0, 1.5];
  const y = [1, 2, -0.5, 0.25, 3];
  const labels = ['true', 'false', 'true', 'false', 'unknown'];

  it('one trace per label, in order of first appearance, points split correctly', () => {
    const fig = scatterFigure({ x, y, labels, xTitle: 'direction 1', yTitle: 'direction 2' }, LIGHT_THEME);
    const traces = fig.data as Trace[];
    expect(traces.map((t) => t.name)).toEqual(['true', 'false', 'unknown']);
    expect(traces[0].x).toEqual([0.5, 2]);
    expect(traces[0].y).toEqual([1, -0.5]);
    expect(traces[1].x).toEqual([-1, 0]);
    expect(traces[2].y).toEqual([3]);
    expect(new Set(traces.map((t) => t.marker.color)).size).toBe(3);
    expect(new Set(traces.map((t) => t.marker.symbol)).size).toBe(3);
    const layout = fig.layout as Trace;
    expect(layout.showlegend).toBe(true);
    expect(layout.xaxis.title.text).toBe('direction 1');
    expect(layout.hovermode).toBe('closest');
  });

  it('follows labelOrder and carries hover text', () => {
    const text = ['a', 'b', 'c', 'd', 'e'];
    const fig = scatterFigure({ x, y, labels, text, labelOrder: ['unknown', 'false', 'absent'] }, LIGHT_THEME);
    const traces = fig.data as Trace[];
    expect(traces.map((t) => t.name)).toEqual(['unknown', 'false', 'true']);
    expect(traces[1].text).toEqual(['b', 'd']);
    expect(traces[1].hovertemplate).toContain('%{text}');
    expect(scatterGroups(['b', 'a', 'b'], ['a'])).toEqual(['a', 'b']);
  });

  it('rejects arrays of different lengths', () => {
    expect(() => scatterFigure({ x: [1, 2], y: [1], labels: ['a', 'b'] }, LIGHT_THEME)).toThrow('one entry per point (got 2, 1, 2)');
  });
});

describe('wholeNumberTicks', () => {
  it('a tick on every integer when all values are whole and span at most 10', () => {
    expect(wholeNumberTicks([1, 2, 3])).toEqual({ dtick: 1 });
    expect(wholeNumberTicks([0, 10])).toEqual({ dtick: 1 });
    expect(wholeNumberTicks([-3, 2, -1])).toEqual({ dtick: 1 });
    // One value (a run with one step) still gets an integer tick, not 4.5, 5, 5.5.
    expect(wholeNumberTicks([5])).toEqual({ dtick: 1 });
    // Any iterable: a Set, a generator.
    expect(wholeNumberTicks(new Set([4, 8]))).toEqual({ dtick: 1 });
    expect(wholeNumberTicks((function* () { yield 1; yield 7; })())).toEqual({ dtick: 1 });
  });

  it("leaves plotly's own ticks for wider spans, fractional values and no values", () => {
    expect(wholeNumberTicks([0, 11])).toEqual({});
    expect(wholeNumberTicks([-6, 5])).toEqual({});
    expect(wholeNumberTicks([1, 1.5, 2])).toEqual({});
    expect(wholeNumberTicks([1, NaN])).toEqual({});
    expect(wholeNumberTicks([1, Infinity])).toEqual({});
    expect(wholeNumberTicks([])).toEqual({});
  });

  it('sets the x axis of line and scatter figures from their x values', () => {
    const short = lineFigure({ series: [{ name: 'loss', x: [1, 2, 3], y: [1, 0.5, 0.2] }, { name: 'dev', x: [3], y: [0.4] }] }, LIGHT_THEME);
    expect((short.layout as Trace).xaxis.dtick).toBe(1);
    // x defaults to 0, 1, 2, …: twelve points span 11.
    const long = lineFigure({ series: [{ name: 'loss', y: Array.from({ length: 12 }, (_, i) => 1 / (i + 1)) }] }, LIGHT_THEME);
    expect((long.layout as Trace).xaxis).not.toHaveProperty('dtick');
    const ks = scatterFigure({ x: [1, 2, 4, 8], y: [0.5, 0.6, 0.7, 0.7], labels: ['a', 'a', 'a', 'a'] }, LIGHT_THEME);
    expect((ks.layout as Trace).xaxis.dtick).toBe(1);
    const projected = scatterFigure({ x: [0.5, -1, 2], y: [1, 2, 3], labels: ['a', 'b', 'a'] }, LIGHT_THEME);
    expect((projected.layout as Trace).xaxis).not.toHaveProperty('dtick');
  });
});
