// @vitest-environment jsdom
import { cleanup, render } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { DistributionBars, distributionLayout, distributionRows, MIN_PANEL_W, valueText } from '../../src-renderer/charts/DistributionBars.js';
import { textWidth } from '../../src-renderer/charts/heatmap-layout.js';
import { DARK_THEME, LIGHT_THEME } from '../../src-renderer/charts/theme.js';
import { FRAME_PADDING, renderAtWidth } from '../helpers/render-at-width.js';

afterEach(cleanup);

const CLEAN = [
  { token: ' John', prob: 0.1 },
  { token: ' Mary', prob: 0.6 },
  { token: ' the', prob: 0.2 },
  { token: ',', prob: 0.05 },
  { token: ' a', prob: 0.05 },
];
const CORRUPT = [
  { token: ' Mary', prob: 0.02 },
  { token: ' John', prob: 0.48 },
  { token: ' the', prob: 0.3 },
  { token: ',', prob: 0.2 },
];

describe('distributionRows', () => {
  it('keeps the top k by probability, then highlighted tokens with their rank', () => {
    expect(distributionRows(CLEAN, 3)).toEqual([
      { token: ' Mary', prob: 0.6, rank: 1, extra: false, highlighted: false },
      { token: ' the', prob: 0.2, rank: 2, extra: false, highlighted: false },
      { token: ' John', prob: 0.1, rank: 3, extra: false, highlighted: false },
    ]);
    const rows = distributionRows(CORRUPT, 2, [' Mary']);
    expect(rows.map((r) => [r.token, r.rank, r.extra, r.highlighted])).toEqual([
      [' John', 1, false, false],
      [' the', 2, false, false],
      [' Mary', 4, true, true],
    ]);
  });
});

describe('DistributionBars', () => {
  it('draws the panels side by side with bars on one probability scale', () => {
    const { container } = render(
      <DistributionBars
        title="Next token"
        k={3}
        highlight={[' Mary']}
        highlightMeaning="correct answer"
        distributions={[
          { name: 'clean', entries: CLEAN },
          { name: 'corrupt', entries: CORRUPT },
        ]}
      />,
    );
    const panels = Array.from(container.querySelectorAll('[data-panel]'));
    expect(panels.map((p) => p.getAttribute('data-panel'))).toEqual(['clean', 'corrupt']);
    const bars = (p: Element) => Array.from(p.querySelectorAll('[data-bar]'));
    expect(bars(panels[0]).map((b) => b.getAttribute('data-token'))).toEqual([' Mary', ' the', ' John']);
    expect(bars(panels[1]).map((b) => b.getAttribute('data-token'))).toEqual([' John', ' the', ',', ' Mary']);
    const width = (b: Element) => Number(b.querySelector('rect')!.getAttribute('width'));
    // Shared scale: bar widths are proportional to probability across panels.
    const cleanMary = width(bars(panels[0])[0]);
    const corruptJohn = width(bars(panels[1])[0]);
    expect(corruptJohn / cleanMary).toBeCloseTo(0.48 / 0.6, 6);
    // The answer is marked in both panels, with its rank where it falls outside the top k.
    const marked = container.querySelectorAll('[data-bar][data-highlighted="true"]');
    expect(marked).toHaveLength(2);
    expect(marked[1].textContent).toContain('#4 Mary');
    expect(container.textContent).toContain('correct answer');
  });

  it('a fixed xMax of 1 puts a probability of 0.5 at half the bar width', () => {
    const { container } = render(<DistributionBars title="p" xMax={1} distributions={[{ name: 'a', entries: [{ token: 'x', prob: 0.5 }, { token: 'y', prob: 0.25 }] }]} />);
    const widths = Array.from(container.querySelectorAll('[data-bar] rect')).map((r) => Number(r.getAttribute('width')));
    expect(widths[0]).toBeCloseTo(2 * widths[1], 6);
    const ticks = Array.from(container.querySelectorAll('[data-panel] text')).map((t) => t.textContent);
    expect(ticks).toContain('1');
  });
});

const ANSWER = [{ token: ' Henry', prob: 0.999 }, ...['sek', ' Paul', ' Jack', ' Anna', ' Jasko', ' Lisa', ' tib', ' Rosemary-Anne'].map((t, i) => ({ token: t, prob: 0.0001 * (9 - i) })), { token: ' Sam', prob: 1e-5 }];
const three = [
  { name: 'clean', entries: ANSWER },
  { name: 'patched', entries: ANSWER },
  { name: 'corrupt', entries: ANSWER.map((e) => (e.token === ' Henry' ? { ...e, token: ' Sam' } : e.token === ' Sam' ? { ...e, token: ' Henry' } : e)) },
];

describe('DistributionBars layout', () => {
  // Bold (highlighted) labels run wider than the average-glyph estimate.
  const BOLD = 1.12;
  for (const theme of [LIGHT_THEME, DARK_THEME]) {
    for (const width of [320, 480, 1010]) {
      it(`keeps every label inside its panel and the figure inside a ${width} px container (${theme === DARK_THEME ? 'dark' : 'light'})`, () => {
        const { container } = renderAtWidth(width, <DistributionBars title="Next token" k={8} xMax="shared" highlight={[' Henry', ' Sam']} theme={theme} distributions={three} />);
        const svg = container.querySelector('svg[data-figure="distribution-bars"]')!;
        const svgW = Number(svg.getAttribute('width'));
        // The figure fits the frame's body, which scrolls sideways what does not.
        expect(svgW).toBeLessThanOrEqual(width - FRAME_PADDING);
        expect(svg.getAttribute('viewBox')).toBe(`0 0 ${svgW} ${svg.getAttribute('height')}`);
        const panels = Array.from(container.querySelectorAll('[data-panel]'));
        expect(panels).toHaveLength(3);
        const box = (p: Element) => {
          const [x, y] = p.getAttribute('transform')!.match(/translate\(([-\d.]+),([-\d.]+)\)/)!.slice(1).map(Number);
          return { x, y, w: Number(p.getAttribute('data-panel-width')) };
        };
        panels.forEach((p, i) => {
          const b = box(p);
          expect(b.x).toBeGreaterThanOrEqual(0);
          expect(b.x + b.w).toBeLessThanOrEqual(svgW + 1e-6);
          // Panels in one row do not overlap.
          const next = panels[i + 1] && box(panels[i + 1]);
          if (next && next.y === b.y) expect(next.x).toBeGreaterThanOrEqual(b.x + b.w);
          for (const t of Array.from(p.querySelectorAll('text[data-value]'))) {
            expect(Number(t.getAttribute('x')) + textWidth(t.textContent!)).toBeLessThanOrEqual(b.w + 1e-6);
          }
          for (const t of Array.from(p.querySelectorAll('text[data-label]'))) {
            const w = textWidth(t.textContent!) * (t.getAttribute('font-weight') === '700' ? BOLD : 1);
            expect(Number(t.getAttribute('x')) - w).toBeGreaterThanOrEqual(0);
          }
          const shift = Number(p.querySelector('g[transform^="translate("]')!.getAttribute('transform')!.match(/translate\(([-\d.]+),/)![1]);
          for (const t of Array.from(p.querySelectorAll('text[data-tick]'))) {
            expect(shift + Number(t.getAttribute('x')) + textWidth(t.textContent!) / 2).toBeLessThanOrEqual(b.w + 1e-6);
          }
          expect(p.querySelector('text[data-value]')!.getAttribute('fill')).toBe(theme.fg);
        });
        const rows = new Set(panels.map((p) => box(p).y)).size;
        // Three panels side by side where they fit, else wrapped onto rows.
        expect(rows).toBe(width === 320 ? 3 : width === 480 ? 2 : 1);
        expect(panels.map((p) => box(p).y).every((y, i, ys) => i === 0 || y >= ys[i - 1])).toBe(true);
        // The longest label is cut with "…", never the value.
        expect(Array.from(container.querySelectorAll('text[data-value]')).map((t) => t.textContent)).toContain('0.999');
      });
    }
  }

  it('distributionLayout splits a panel into labels, bars and values that add up to its width', () => {
    const panels = three.map((d) => ({ rows: distributionRows(d.entries, 8, [' Henry', ' Sam']) }));
    for (const width of [320, 480, 760, 1010]) {
      const L = distributionLayout(panels, width);
      expect(L.width).toBe(width);
      expect(L.labelW + L.barW + L.valueW).toBeCloseTo(L.panelW, 6);
      expect(L.cols * L.panelW + (L.cols - 1) * 28).toBeCloseTo(width, 6);
      expect(L.panelW).toBeGreaterThanOrEqual(MIN_PANEL_W);
    }
    expect(distributionLayout(panels, 760).cols).toBe(3);
  });
});

it('cuts no label in a panel with room for it', () => {
  const { container } = renderAtWidth(1010, <DistributionBars title="Next token" k={8} highlight={[' Henry', ' Sam']} distributions={three} />);
  const labels = Array.from(container.querySelectorAll('text[data-label]')).map((t) => t.textContent);
  expect(labels.filter((l) => l!.includes('…'))).toEqual([]);
  expect(labels).toContain('#10 Henry');
  expect(labels).toContain('#10 Sam');
});

it('writes tiny probabilities in exponent form instead of 0.000', () => {
  expect(valueText(0.999)).toBe('0.999');
  expect(valueText(0.0123)).toBe('0.012');
  expect(valueText(0.00032)).toBe('3.2e−4');
  expect(valueText(0)).toBe('0.000');
  const { container } = renderAtWidth(1010, <DistributionBars title="Next token" k={8} distributions={three} />);
  expect(Array.from(container.querySelectorAll('text[data-value]')).map((t) => t.textContent)).toContain('4.0e−4');
});
