// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AttentionPattern, attentionLegendFits } from '../../src-renderer/charts/AttentionPattern.js';
import { textWidth } from '../../src-renderer/charts/heatmap-layout.js';
import { DARK_THEME, LIGHT_THEME } from '../../src-renderer/charts/theme.js';
import { FRAME_PADDING, renderAtWidth } from '../helpers/render-at-width.js';

afterEach(cleanup);

const TOKENS = ['When', ' Mary', ' and', ' Mary'];
// Causal attention: row q spreads over keys 0..q (the masked entries are 0 as a model returns them).
const PATTERN = [
  [1, 0, 0, 0],
  [0.25, 0.75, 0, 0],
  [0.5, 0.25, 0.25, 0],
  [0.125, 0.5, 0.125, 0.25],
];

function cellAt(container: HTMLElement, q: number, k: number): Element {
  return container.querySelector(`rect[data-cell][data-row="${q}"][data-col="${k}"]`)!;
}

describe('AttentionPattern', () => {
  it('greys out exactly the upper triangle (keys after the query)', () => {
    const { container } = render(<AttentionPattern pattern={PATTERN} tokens={TOKENS} layer={2} head={4} />);
    const cells = Array.from(container.querySelectorAll('rect[data-cell]'));
    expect(cells).toHaveLength(16);
    const masked = cells.filter((c) => c.getAttribute('data-masked') === 'true').map((c) => [Number(c.getAttribute('data-row')), Number(c.getAttribute('data-col'))]);
    expect(masked).toEqual([
      [0, 1],
      [0, 2],
      [0, 3],
      [1, 2],
      [1, 3],
      [2, 3],
    ]);
    for (const c of cells) {
      const isMasked = c.getAttribute('data-masked') === 'true';
      expect(c.getAttribute('fill') === LIGHT_THEME.grid).toBe(isMasked);
    }
    // Equal weights get equal colours on and below the diagonal.
    expect(cellAt(container, 1, 0).getAttribute('fill')).toBe(cellAt(container, 2, 1).getAttribute('fill'));
    expect(screen.getByRole('heading', { name: 'Attention pattern L2H4' })).toBeTruthy();
    expect(container.querySelector('[data-layer="legend"]')?.textContent).toContain('grey: masked: a token cannot attend to later tokens');
  });

  it('labels both axes "tok (i)" and hovers as query → key', () => {
    const { container } = render(<AttentionPattern pattern={PATTERN} tokens={TOKENS} />);
    const x = Array.from(container.querySelectorAll('[data-layer="x-axis"] text')).map((t) => t.textContent);
    const y = Array.from(container.querySelectorAll('[data-layer="y-axis"] text')).map((t) => t.textContent);
    expect(x).toEqual(['When (0)', 'Mary (1)', 'and (2)', 'Mary (3)']);
    expect(y).toEqual(x);
    fireEvent.mouseMove(cellAt(container, 3, 1));
    expect(screen.getByRole('tooltip').textContent).toBe('Mary (3) → Mary (1) 0.5Mary (3) puts 50.0% of its attention on Mary (1)');
    fireEvent.mouseMove(cellAt(container, 1, 3));
    expect(screen.getByRole('tooltip').textContent).toContain('masked: a token cannot attend to later tokens');
  });

  it('clicks on visible cells call back; masked cells do not', () => {
    const onCellClick = vi.fn();
    const { container } = render(<AttentionPattern pattern={PATTERN} tokens={TOKENS} onCellClick={onCellClick} />);
    fireEvent.click(cellAt(container, 0, 3));
    expect(onCellClick).not.toHaveBeenCalled();
    fireEvent.click(cellAt(container, 2, 0));
    expect(onCellClick).toHaveBeenCalledWith(2, 0, 0.5);
  });

  it('masks nothing for a non-causal head', () => {
    const { container } = render(<AttentionPattern pattern={PATTERN} tokens={TOKENS} causal={false} />);
    expect(container.querySelectorAll('rect[data-masked]')).toHaveLength(0);
  });
});

describe('AttentionPattern in narrow panels', () => {
  const LONG = ['<s>', 'When', ' Mary', ' and', ' John', ' went', ' to', ' the', ' store', ',', ' John', ' gave', ' a', ' drink', ' to'];
  const n = LONG.length;
  const uniform = Array.from({ length: n }, (_, q) => Array.from({ length: n }, (_, k) => (k <= q ? 1 / (q + 1) : 0)));

  const translate = (el: Element) => el.getAttribute('transform')!.match(/translate\(([-\d.]+),([-\d.]+)\)/)!.slice(1).map(Number);

  for (const theme of [LIGHT_THEME, DARK_THEME]) {
    for (const width of [320, 480, 1010]) {
      it(`keeps the colour legend inside the figure and the figure inside a ${width} px panel (${theme === DARK_THEME ? 'dark' : 'light'})`, () => {
        const { container } = renderAtWidth(width, <AttentionPattern pattern={uniform} tokens={LONG} layer={1} head={3} theme={theme} />);
        const svg = container.querySelector('svg[data-figure="heatmap"]')!;
        const svgW = Number(svg.getAttribute('width'));
        // The figure fits the frame's body, which scrolls sideways what does not.
        expect(svgW).toBeLessThanOrEqual(width - FRAME_PADDING);
        const [vx, vy, vw] = svg.getAttribute('viewBox')!.split(' ').map(Number);
        expect([vx, vy, vw]).toEqual([0, 0, svgW]);
        const legend = svg.querySelector('[data-layer="legend"]')!;
        const [lx] = translate(legend);
        const bar = legend.querySelector(':scope > rect')!;
        expect(lx).toBeGreaterThanOrEqual(0);
        expect(lx + Number(bar.getAttribute('width'))).toBeLessThanOrEqual(vw);
        for (const t of Array.from(legend.querySelectorAll('text'))) {
          const g = t.parentElement!.tagName === 'g' && t.parentElement !== legend ? translate(t.parentElement!)[0] : 0;
          const size = Number(t.getAttribute('font-size') ?? 11);
          const anchor = t.getAttribute('text-anchor');
          const w = textWidth(t.textContent!, size);
          const right = lx + g + Number(t.getAttribute('x')) + (anchor === 'end' ? 0 : anchor === 'middle' ? w / 2 : w);
          expect(right, `legend text "${t.textContent}"`).toBeLessThanOrEqual(vw);
        }
        // Every key has a visible column: the plot fits too.
        const cells = Array.from(svg.querySelectorAll('rect[data-cell][data-row="0"]'));
        expect(cells).toHaveLength(n);
        const plotX = translate(svg.querySelector(':scope > g')!)[0];
        const last = cells[n - 1];
        expect(plotX + Number(last.getAttribute('x')) + Number(last.getAttribute('width'))).toBeLessThanOrEqual(vw);
        // What the colours and the grey mean is said somewhere: beside the bar, or under the chart.
        const figure = container.querySelector('figure')!.textContent!;
        expect(figure).toContain('attention weight');
        expect(figure).toContain('a token cannot attend to later tokens');
        expect(figure).toMatch(/[Qq]uery \(attending from\)/);
      });
    }
  }

  it('keeps the full legend where it fits and the compact one only in narrow panels', () => {
    const labels = LONG.map((t, i) => `${t.trim()} (${i})`);
    expect(attentionLegendFits(labels, true, 1000)).toBe(true);
    expect(attentionLegendFits(labels, true, 300)).toBe(false);
    const wide = renderAtWidth(1010, <AttentionPattern pattern={uniform} tokens={LONG} />);
    expect(wide.container.querySelector('[data-compact]')).toBeNull();
    expect(wide.container.querySelector('[data-layer="legend"]')!.textContent).toContain('grey: masked: a token cannot attend to later tokens');
    cleanup();
    const narrow = renderAtWidth(320, <AttentionPattern pattern={uniform} tokens={LONG} />);
    expect(narrow.container.querySelector('[data-compact="true"]')).not.toBeNull();
    // The hover keeps the full token names.
    fireEvent.mouseMove(narrow.container.querySelector('rect[data-cell][data-row="4"][data-col="2"]')!);
    expect(screen.getByRole('tooltip').textContent).toContain('John (4) → Mary (2)');
  });
});
