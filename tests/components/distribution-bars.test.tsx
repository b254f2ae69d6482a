// @vitest-environment jsdom
import { cleanup, render } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { DistributionBars, distributionRows } from '../../src-renderer/charts/DistributionBars.js';

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
