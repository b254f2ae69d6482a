import type { CSSProperties, ReactNode } from 'react';
import { ChartFrame } from './ChartFrame.js';
import { rowsToCsv, type ExportFile } from './export.js';
import { displayToken } from './labels.js';
import { categoryColor } from './theme.js';

export interface TokenStripProps {
  tokens: readonly string[];
  /** Named roles → token positions (e.g. { subject: [2], answer: [9] }); each role gets a colour. */
  roles?: Readonly<Record<string, readonly number[]>>;
  /** Selected position(s), drawn with a heavy outline. */
  selected?: number | readonly number[] | null;
  /** Makes tokens buttons; called with the position and token. */
  onTokenClick?: (index: number, token: string) => void;
  /** With a title the strip sits in a ChartFrame with CSV/JSON export. */
  title?: string;
  subtitle?: ReactNode;
  exportName?: string;
  onExport?: (file: ExportFile) => void;
}

/** Roles per position, in the order the roles were given. */
export function rolesByPosition(roles: Readonly<Record<string, readonly number[]>> | undefined, n: number): string[][] {
  const out: string[][] = Array.from({ length: n }, () => []);
  for (const [role, positions] of Object.entries(roles ?? {})) {
    for (const p of positions) if (p >= 0 && p < n) out[p].push(role);
  }
  return out;
}

/** The prompt's tokens as "tok (i)" chips, coloured by role, optionally clickable. */
export function TokenStrip({ tokens, roles, selected, onTokenClick, title, subtitle, exportName, onExport }: TokenStripProps) {
  const roleNames = Object.keys(roles ?? {});
  const colorOf = new Map(roleNames.map((r, i) => [r, categoryColor(i)]));
  const byPos = rolesByPosition(roles, tokens.length);
  const chosen = new Set(selected === null || selected === undefined ? [] : typeof selected === 'number' ? [selected] : selected);
  const strip = (
    <div data-chart={title ? undefined : 'token-strip'}>
      <div style={{ display: 'flex', flexWrap: 'wrap', gap: 4 }}>
        {tokens.map((tok, i) => {
          const r = byPos[i];
          const color = r.length > 0 ? colorOf.get(r[0]) : undefined;
          const isSelected = chosen.has(i);
          const style: CSSProperties = {
            ...chipStyle,
            borderBottom: color ? `3px solid ${color}` : chipStyle.borderBottom,
            background: color ? `color-mix(in srgb, ${color} 22%, transparent)` : 'transparent',
            outline: isSelected ? '2px solid var(--fg, #1f2328)' : undefined,
            outlineOffset: isSelected ? 1 : undefined,
            cursor: onTokenClick ? 'pointer' : 'default',
          };
          const hint = `${JSON.stringify(tok)} at position ${i}${r.length > 0 ? ` — ${r.join(', ')}` : ''}`;
          const content = (
            <>
              <span style={{ whiteSpace: 'pre' }}>{displayToken(tok)}</span> <span style={indexStyle}>({i})</span>
            </>
          );
          return onTokenClick ? (
            <button
              key={i}
              type="button"
              data-token-index={i}
              data-roles={r.join(' ') || undefined}
              aria-pressed={isSelected}
              title={hint}
              style={style}
              onClick={() => onTokenClick(i, tok)}
            >
              {content}
            </button>
          ) : (
            <span key={i} data-token-index={i} data-roles={r.join(' ') || undefined} data-selected={isSelected ? 'true' : undefined} title={hint} style={style}>
              {content}
            </span>
          );
        })}
      </div>
      {roleNames.length > 0 && (
        <div data-legend="" style={{ display: 'flex', flexWrap: 'wrap', gap: 12, marginTop: 6, color: 'var(--muted, #6e7781)' }}>
          {roleNames.map((role) => (
            <span key={role} style={{ display: 'inline-flex', alignItems: 'center', gap: 4 }}>
              <span style={{ width: 12, height: 4, background: colorOf.get(role), display: 'inline-block' }} />
              {role}
            </span>
          ))}
        </div>
      )}
    </div>
  );
  if (!title) return strip;
  return (
    <ChartFrame
      kind="token-strip"
      title={title}
      subtitle={subtitle}
      onExport={onExport}
      exports={{
        name: exportName,
        csv: () => rowsToCsv(['index', 'token', 'roles'], tokens.map((t, i) => [i, t, byPos[i].join(' ')])),
        json: () => ({ tokens: tokens.map((t, i) => ({ index: i, token: t, roles: byPos[i] })) }),
      }}
    >
      {strip}
    </ChartFrame>
  );
}

const chipStyle: CSSProperties = {
  font: 'inherit',
  color: 'var(--fg, #1f2328)',
  border: '1px solid var(--grid, #d0d7de)',
  borderBottom: '3px solid transparent',
  borderRadius: 3,
  padding: '1px 5px',
  lineHeight: 1.5,
};
const indexStyle: CSSProperties = { color: 'var(--muted, #6e7781)', fontSize: '0.85em' };
