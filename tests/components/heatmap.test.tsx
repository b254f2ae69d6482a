// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { color, hsl, lab } from 'd3';
import type { CSSProperties } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Heatmap } from '../../src-renderer/charts/Heatmap.js';
import { heatmapLayout, LEGEND_BAR_BLOCK_HEIGHT, LEGEND_BAR_WIDTH, LEGEND_LINE_HEIGHT, textWidth, TITLE_FONT, type HeatmapLayoutInput } from '../../src-renderer/charts/heatmap-layout.js';
import { TopKHeatmap } from '../../src-renderer/charts/TopKHeatmap.js';
import { resolveColorScale, type DivergingScale } from '../../src-renderer/charts/scales.js';
import { topKCells } from '../../src-renderer/charts/topk.js';

afterEach(cleanup);

const EFFECT: DivergingScale = { kind: 'diverging', positive: 'restores the clean answer', negative: 'pushes towards the corrupt answer' };

/** 4 layers × 8 heads; L0H0 = -0.5 and L3H5 = 0.4375. */
function headGrid(): number[][] {
  const grid = Array.from({ length: 4 }, (_, l) => Array.from({ length: 8 }, (_, h) => ((l * 8 + h) % 11) / 8 - 0.5));
  grid[3][5] = 0.4375;
  return grid;
}

function cells(container: HTMLElement): SVGRectElement[] {
  return Array.from(container.querySelectorAll<SVGRectElement>('[data-layer="cells"] rect[data-cell]'));
}

function cell(container: HTMLElement, row: number, col: number): SVGRectElement {
  const el = container.querySelector<SVGRectElement>(`rect[data-cell][data-row="${row}"][data-col="${col}"]`);
  if (!el) throw new Error(`no cell ${row},${col}`);
  return el;
}

function isWhiteish(fill: string | null): boolean {
  const c = rgb(fill);
  return Math.min(c.r, c.g, c.b) >= 230 && Math.max(c.r, c.g, c.b) - Math.min(c.r, c.g, c.b) <= 8;
}

function isRed(fill: string | null): boolean {
  const h = hsl(fill ?? '').h;
  return (h >= 330 || h <= 25) && !isWhiteish(fill);
}

function isBlue(fill: string | null): boolean {
  const h = hsl(fill ?? '').h;
  return h >= 190 && h <= 235 && !isWhiteish(fill);
}

function rgb(fill: string | null) {
  const c = color(fill ?? '');
  if (!c) throw new Error(`not a colour: ${fill}`);
  return c.rgb();
}

describe('Heatmap layout', () => {
  it('draws one cell per value, x = head and y = layer', () => {
    const { container } = render(<Heatmap title="Head effects" orientation="head" values={headGrid()} scale={EFFECT} />);
    expect(cells(container)).toHaveLength(32);
    const a = cell(container, 0, 0);
    const b = cell(container, 3, 5);
    const w = Number(a.getAttribute('width'));
    const h = Number(a.getAttribute('height'));
    expect(Number(b.getAttribute('x'))).toBe(5 * w);
    expect(Number(b.getAttribute('y'))).toBe(3 * h);
    const texts = Array.from(container.querySelectorAll('text')).map((t) => t.textContent);
    expect(texts).toContain('Head');
    expect(texts).toContain('Layer');
  });

  it('labels layer × position charts "tok (i)" so repeated tokens stay distinct', () => {
    const tokens = ['When', ' Mary', ' and', ' Mary'];
    const values = [
      [0.1, 0.2, 0.3, 0.4],
      [0.5, 0.6, 0.7, 0.8],
    ];
    const { container } = render(<Heatmap title="Residual patching" orientation="position" tokens={tokens} values={values} scale={EFFECT} />);
    const xLabels = Array.from(container.querySelectorAll('[data-layer="x-axis"] text')).map((t) => t.textContent);
    expect(xLabels).toEqual(['When (0)', 'Mary (1)', 'and (2)', 'Mary (3)']);
    fireEvent.mouseMove(cell(container, 1, 3));
    expect(screen.getByRole('tooltip').textContent).toContain('L1 · Mary (3)');
    expect(screen.getByRole('tooltip').textContent).toContain('0.8');
  });

  it('names what is wrong with a ragged matrix instead of drawing it', () => {
    render(<Heatmap title="Bad" values={[[1, 2, 3], [4, 5]]} scale={EFFECT} />);
    expect(screen.getByRole('alert').textContent).toContain('row 1 has 2 values; row 0 has 3');
  });
});

describe('Heatmap colour scales', () => {
  it('diverging: 0 is white, the range is symmetric, + is blue and − is red', () => {
    const scale = resolveColorScale(EFFECT, [[-1, 5]]);
    expect(scale.domain).toEqual([-5, 5]);
    expect(isWhiteish(scale.color(0))).toBe(true);
    for (const v of [1, 3, 5]) {
      expect(isBlue(scale.color(v))).toBe(true);
      expect(isRed(scale.color(-v))).toBe(true);
    }
    for (const v of [1, 2.5, 4, 5]) {
      // Equal magnitudes are equally far from white: same lightness on both sides.
      expect(Math.abs(lab(scale.color(v)).l - lab(scale.color(-v)).l)).toBeLessThan(6);
    }
    // The range is fixed by the larger side: −5 is the full red even though the data stop at −1.
    expect(scale.color(-5)).toBe(scale.color(-50));
    expect(lab(scale.color(-1)).l).toBeGreaterThan(lab(scale.color(-5)).l + 20);
  });

  it('diverging cells and legend say which sign is which', () => {
    const { container } = render(<Heatmap title="Effects" values={[[-2, 0, 2]]} scale={EFFECT} />);
    const [neg, zero, pos] = [0, 1, 2].map((c) => cell(container, 0, c).getAttribute('fill'));
    expect(isRed(neg)).toBe(true);
    expect(isWhiteish(zero)).toBe(true);
    expect(isBlue(pos)).toBe(true);
    const legend = container.querySelector('[data-layer="legend"]')?.textContent ?? '';
    expect(legend).toContain('blue (+): restores the clean answer');
    expect(legend).toContain('red (−): pushes towards the corrupt answer');
    expect(legend).toContain('-2');
    expect(legend).toContain('2');
  });

  it('sequential: fixed 0..1 limits, whatever the data range', () => {
    const seq = { kind: 'sequential', label: 'IIA' } as const;
    const a = render(<Heatmap title="A" values={[[0, 0.5]]} scale={seq} />);
    const halfA = cell(a.container, 0, 1).getAttribute('fill');
    const zeroA = cell(a.container, 0, 0).getAttribute('fill');
    cleanup();
    const b = render(<Heatmap title="B" values={[[0, 0.5, 1, 1.7]]} scale={seq} />);
    expect(cell(b.container, 0, 1).getAttribute('fill')).toBe(halfA);
    expect(cell(b.container, 0, 0).getAttribute('fill')).toBe(zeroA);
    // Out-of-range values clamp to the top colour.
    expect(cell(b.container, 0, 3).getAttribute('fill')).toBe(cell(b.container, 0, 2).getAttribute('fill'));
    expect(halfA).not.toBe(cell(b.container, 0, 2).getAttribute('fill'));
    const scale = resolveColorScale(seq, [[0, 0.5]]);
    expect(scale.domain).toEqual([0, 1]);
    expect(scale.ticks).toEqual([0, 0.5, 1]);
    // One hue: lightness falls steadily from 0 to 1.
    const ls = [0, 0.25, 0.5, 0.75, 1].map((v) => lab(scale.color(v)).l);
    for (let i = 1; i < ls.length; i++) expect(ls[i]).toBeLessThan(ls[i - 1]);
  });

  it('shows NaN cells hatched and explains them in the legend', () => {
    const { container } = render(<Heatmap title="Gaps" values={[[0.2, NaN]]} scale={EFFECT} />);
    const gap = cell(container, 0, 1);
    expect(gap.getAttribute('data-nan')).toBe('true');
    const fill = gap.getAttribute('fill') ?? '';
    expect(fill).toMatch(/^url\(#.+\)$/);
    const patternId = fill.slice(5, -1);
    expect(container.querySelector(`pattern[id="${patternId}"]`)).not.toBeNull();
    expect(container.querySelector('[data-layer="legend"]')?.textContent).toContain('hatched: no value');
  });

  it('takes its colours from the container’s CSS variables (dark theme)', () => {
    const { container } = render(
      <div style={{ '--bg': '#101010', '--fg': '#eeeeee', '--grid': '#333333' } as CSSProperties}>
        <Heatmap title="Dark" values={[[0.1, NaN]]} scale={EFFECT} outlined={[[0, 0]]} />
      </div>,
    );
    expect(container.querySelector('[data-layer="y-axis"]')?.getAttribute('fill')).toBe('#eeeeee');
    const ring = container.querySelectorAll('[data-outline] rect');
    expect(ring[0].getAttribute('stroke')).toBe('#eeeeee');
    expect(ring[1].getAttribute('stroke')).toBe('#101010');
    expect(container.querySelector('pattern rect')?.getAttribute('fill')).toBe('#333333');
  });
});

describe('Heatmap interaction', () => {
  it('hover shows L3H5 with the exact value and what it means', () => {
    const { container } = render(<Heatmap title="Heads" orientation="head" values={headGrid()} scale={EFFECT} />);
    expect(screen.queryByRole('tooltip')).toBeNull();
    fireEvent.mouseMove(cell(container, 3, 5));
    const tip = screen.getByRole('tooltip');
    expect(tip.textContent).toContain('L3H5');
    expect(tip.textContent).toContain('0.4375');
    expect(tip.textContent).toContain('restores the clean answer');
    fireEvent.mouseMove(cell(container, 0, 0));
    expect(screen.getByRole('tooltip').textContent).toContain('L0H0');
    expect(screen.getByRole('tooltip').textContent).toContain('-0.5');
    expect(screen.getByRole('tooltip').textContent).toContain('pushes towards the corrupt answer');
    fireEvent.mouseLeave(container.querySelector('[data-layer="plot"]')!);
    expect(screen.queryByRole('tooltip')).toBeNull();
  });

  it('click calls back with (layer, head, value)', () => {
    const onCellClick = vi.fn();
    const { container } = render(<Heatmap title="Heads" orientation="head" values={headGrid()} scale={EFFECT} onCellClick={onCellClick} />);
    fireEvent.click(cell(container, 3, 5));
    expect(onCellClick).toHaveBeenCalledTimes(1);
    expect(onCellClick).toHaveBeenCalledWith(3, 5, 0.4375);
  });

  it('draws the locked cell and the outlined cells', () => {
    const { container } = render(
      <Heatmap
        title="Heads"
        orientation="head"
        values={headGrid()}
        scale={EFFECT}
        locked={[2, 6]}
        outlined={[
          [0, 1],
          [3, 7],
        ]}
      />,
    );
    const locked = container.querySelectorAll('[data-locked]');
    expect(locked).toHaveLength(1);
    expect([locked[0].getAttribute('data-row'), locked[0].getAttribute('data-col')]).toEqual(['2', '6']);
    const outlined = Array.from(container.querySelectorAll('[data-outline]')).map((g) => `${g.getAttribute('data-row')},${g.getAttribute('data-col')}`);
    expect(outlined.sort()).toEqual(['0,1', '3,7']);
  });

  it('canvas mode keeps hover and click working from pointer coordinates', () => {
    const onCellClick = vi.fn();
    const values = [
      [1, 2, 3],
      [4, 5, 6],
    ];
    const { container } = render(
      <Heatmap title="Big" render="canvas" values={values} scale={{ kind: 'sequential', label: 'score', max: 6 }} cellWidth={20} cellHeight={10} onCellClick={onCellClick} />,
    );
    expect(cells(container)).toHaveLength(0);
    expect(container.querySelector('canvas')).not.toBeNull();
    const overlay = container.querySelector('[data-overlay]')!;
    // jsdom lays nothing out, so the overlay's box starts at 0,0.
    fireEvent.mouseMove(overlay, { clientX: 45, clientY: 15 });
    expect(screen.getByRole('tooltip').textContent).toContain('1 · 2');
    fireEvent.click(overlay, { clientX: 45, clientY: 15 });
    expect(onCellClick).toHaveBeenCalledWith(1, 2, 6);
  });
});

describe('top-K selection', () => {
  const scores = [
    [0.1, 0.9, 0.3, NaN],
    [0.7, 0.2, 0.9, 0.05],
    [0.4, 0.8, -1.5, 0.6],
  ];

  it('topKCells picks the K largest, best first, ties in row-major order, never NaN', () => {
    expect(topKCells(scores, 4)).toEqual([
      [0, 1],
      [1, 2],
      [2, 1],
      [1, 0],
    ]);
    expect(topKCells(scores, 100)).toHaveLength(11);
    expect(topKCells(scores, 0)).toEqual([]);
    expect(topKCells(scores, 1, 'abs')).toEqual([[2, 2]]);
  });

  it('outlines exactly the K largest cells and follows the slider', () => {
    const grid = Array.from({ length: 4 }, (_, l) => Array.from({ length: 8 }, (_, h) => Math.sin(l * 8 + h + 1)));
    const ranked = grid
      .flatMap((row, l) => row.map((v, h) => ({ key: `${l},${h}`, v })))
      .sort((a, b) => b.v - a.v)
      .map((c) => c.key);
    const onSelectionChange = vi.fn();
    const { container } = render(
      <TopKHeatmap title="LoFIT head scores" orientation="head" values={grid} scale={{ kind: 'sequential', label: 'score', min: -1, max: 1 }} defaultK={5} onSelectionChange={onSelectionChange} />,
    );
    const outlined = () => Array.from(container.querySelectorAll('[data-outline]')).map((g) => `${g.getAttribute('data-row')},${g.getAttribute('data-col')}`);
    expect(outlined().sort()).toEqual(ranked.slice(0, 5).sort());
    const slider = within(container).getByRole('slider');
    expect(slider.getAttribute('max')).toBe('32');
    fireEvent.change(slider, { target: { value: '3' } });
    expect(outlined().sort()).toEqual(ranked.slice(0, 3).sort());
    const last = onSelectionChange.mock.calls.at(-1)?.[0] as [number, number][];
    expect(last.map(([l, h]) => `${l},${h}`)).toEqual(ranked.slice(0, 3));
  });
});

describe('Heatmap scale name placement', () => {
  const LABEL = 'runs that selected the head';
  // A per-head 4 × 8 grid, as the Runs and LoFIT views draw it.
  const input = (availableWidth: number, legendLabel?: string): HeatmapLayoutInput => ({
    rows: 4,
    cols: 8,
    rowTicks: ['0', '1', '2', '3'],
    colTicks: ['0', '1', '2', '3', '4', '5', '6', '7'],
    hasXTitle: true,
    hasYTitle: true,
    availableWidth,
    minCellWidth: 2,
    legendLines: ['hatched: no value'],
    ...(legendLabel !== undefined && { legendLabel }),
  });
  const labelW = textWidth(LABEL, TITLE_FONT);

  it('beside the colour bar when the figure has room for both', () => {
    const L = heatmapLayout(input(720, LABEL));
    expect(L.legendLabelBelow).toBe(false);
    // Bar, 12 px gap, the name: all inside the figure, and no extra line under the bar.
    expect(L.margin.left + LEGEND_BAR_WIDTH + 12 + labelW).toBeLessThanOrEqual(L.width);
    expect(L.height).toBe(heatmapLayout(input(720)).height);
  });

  it('on its own line under the bar when beside it the figure would be wider than the space', () => {
    const L = heatmapLayout(input(360, LABEL));
    // Beside the bar it would need left + 200 + 12 + labelW + right > 360.
    expect(L.margin.left + LEGEND_BAR_WIDTH + 12 + labelW + 12).toBeGreaterThan(360);
    expect(L.legendLabelBelow).toBe(true);
    expect(L.width).toBeLessThanOrEqual(360);
    expect(L.margin.left + labelW).toBeLessThanOrEqual(L.width);
    // One legend line more than without a name.
    expect(L.height - heatmapLayout(input(360)).height).toBe(LEGEND_LINE_HEIGHT);
    // A name wider than the bar and the space: the figure widens to hold it rather than cut it off.
    const long = 'share of the compared runs whose selection includes the head';
    const W = heatmapLayout(input(360, long));
    expect(W.legendLabelBelow).toBe(true);
    expect(W.width).toBeGreaterThanOrEqual(W.margin.left + textWidth(long, TITLE_FONT));
  });

  it('draws the name where the layout puts it, and the legend lines below it', () => {
    const scale = { kind: 'sequential', label: LABEL, min: 0, max: 2 } as const;
    const values = [
      [0, 1, 2, NaN, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0, 0],
    ];
    const legendText = (container: HTMLElement) => {
      const legend = container.querySelector('[data-layer="legend"]')!;
      const name = Array.from(legend.querySelectorAll(':scope > text')).find((t) => t.textContent === LABEL)!;
      const line = legend.querySelector(':scope > g')!;
      return { x: Number(name.getAttribute('x')), y: Number(name.getAttribute('y')), lineY: line.getAttribute('transform'), svgWidth: Number(container.querySelector('svg')!.getAttribute('width')) };
    };
    // jsdom lays nothing out: the chart's width comes from clientWidth (720 when it reads 0).
    const wide = render(<Heatmap title="Overlap" orientation="head" values={values} scale={scale} />);
    expect(legendText(wide.container)).toMatchObject({ x: LEGEND_BAR_WIDTH + 12, y: 5, lineY: `translate(0,${LEGEND_BAR_BLOCK_HEIGHT})` });
    cleanup();
    const width = vi.spyOn(HTMLElement.prototype, 'clientWidth', 'get').mockReturnValue(360);
    try {
      const narrow = render(<Heatmap title="Overlap" orientation="head" values={values} scale={scale} />);
      const t = legendText(narrow.container);
      expect(t).toMatchObject({ x: 0, y: LEGEND_BAR_BLOCK_HEIGHT + 6, lineY: `translate(0,${LEGEND_BAR_BLOCK_HEIGHT + LEGEND_LINE_HEIGHT})` });
      expect(t.svgWidth).toBeLessThanOrEqual(360);
    } finally {
      width.mockRestore();
    }
  });
});
