// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AttentionPattern } from '../../src-renderer/charts/AttentionPattern.js';
import { LIGHT_THEME } from '../../src-renderer/charts/theme.js';

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
