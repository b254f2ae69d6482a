// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { displayToken, formatValue, positionLabel } from '../../src-renderer/charts/labels.js';
import { rolesByPosition, TokenStrip } from '../../src-renderer/charts/TokenStrip.js';

afterEach(cleanup);

const TOKENS = ['When', ' Mary', ' and', ' John', ' went', ',', ' Mary', '\n'];

describe('TokenStrip', () => {
  it('shows every token as "tok (i)", repeated tokens told apart by index', () => {
    const { container } = render(<TokenStrip tokens={TOKENS} />);
    const chips = Array.from(container.querySelectorAll('[data-token-index]')).map((c) => c.textContent);
    expect(chips).toEqual(['When (0)', 'Mary (1)', 'and (2)', 'John (3)', 'went (4)', ', (5)', 'Mary (6)', '↵ (7)']);
    // Not clickable without a callback.
    expect(screen.queryAllByRole('button')).toHaveLength(0);
  });

  it('calls back with the position and token on click, and marks the selection', () => {
    const onTokenClick = vi.fn();
    render(<TokenStrip tokens={TOKENS} selected={6} onTokenClick={onTokenClick} />);
    const buttons = screen.getAllByRole('button');
    expect(buttons).toHaveLength(TOKENS.length);
    fireEvent.click(screen.getByRole('button', { name: 'Mary (6)' }));
    expect(onTokenClick).toHaveBeenCalledWith(6, ' Mary');
    expect(buttons.filter((b) => b.getAttribute('aria-pressed') === 'true').map((b) => b.textContent)).toEqual(['Mary (6)']);
  });

  it('colours role tokens and lists the roles in a legend', () => {
    const roles = { IO: [1], S: [3, 6], end: [7] };
    const { container } = render(<TokenStrip tokens={TOKENS} roles={roles} />);
    const withRoles = Array.from(container.querySelectorAll('[data-roles]')).map((c) => `${c.getAttribute('data-token-index')}:${c.getAttribute('data-roles')}`);
    expect(withRoles).toEqual(['1:IO', '3:S', '6:S', '7:end']);
    expect(container.querySelector('[data-legend]')?.textContent).toBe('IOSend');
    const s3 = container.querySelector<HTMLElement>('[data-token-index="3"]')!;
    const s6 = container.querySelector<HTMLElement>('[data-token-index="6"]')!;
    const io = container.querySelector<HTMLElement>('[data-token-index="1"]')!;
    expect(s3.style.borderBottom).toBe(s6.style.borderBottom);
    expect(s3.style.borderBottom).not.toBe(io.style.borderBottom);
  });

  it('rolesByPosition ignores positions outside the prompt', () => {
    expect(rolesByPosition({ a: [0, 2, 9], b: [2] }, 3)).toEqual([['a'], [], ['a', 'b']]);
  });
});

describe('labels', () => {
  it('positionLabel makes whitespace visible', () => {
    expect(positionLabel(' Mary', 4)).toBe('Mary (4)');
    expect(positionLabel(' ', 2)).toBe('␣ (2)');
    expect(positionLabel('\t', 0)).toBe('⇥ (0)');
    expect(displayToken('a\nb')).toBe('a↵b');
  });

  it('formatValue keeps six significant digits', () => {
    expect(formatValue(0.4375)).toBe('0.4375');
    expect(formatValue(1 / 3)).toBe('0.333333');
    expect(formatValue(-12)).toBe('-12');
    expect(formatValue(2.5e-7)).toBe('2.5e-7');
    expect(formatValue(NaN)).toBe('no value');
  });
});
