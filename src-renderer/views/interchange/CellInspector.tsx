/**
 * One patch on one example: base and source prompts (editable) as tokens with
 * indices and roles, and the clean, patched and corrupt next-token distributions.
 */
import { useEffect, useState } from 'react';
import { useApi } from '../../api/hooks.js';
import { ErrorNote, Loading } from '../../app/ui.js';
import { DistributionBars, TokenStrip } from '../../charts/index.js';
import type { CellSite } from './sweep-cells.js';

interface Props {
  model: string;
  task: string;
  split: 'train' | 'dev' | 'test';
  direction: 'denoise' | 'noise';
  /** Examples the sweep used (the picker stays inside them). */
  n: number;
  site: CellSite;
  label: string;
}

const asRoles = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, [v]]));

export function CellInspector({ model, task, split, direction, n, site, label }: Props) {
  const [index, setIndex] = useState(0);
  const [edits, setEdits] = useState<{ base?: string; source?: string }>({});
  const [draft, setDraft] = useState<{ base: string; source: string }>();
  const cell = useApi('interchange.cell', { model, task, split, index, direction, site, topK: 8, ...(edits.base !== undefined && { basePrompt: edits.base }), ...(edits.source !== undefined && { sourcePrompt: edits.source }) });
  const d = cell.data;
  useEffect(() => {
    if (d) setDraft({ base: d.base.prompt, source: d.source.prompt });
  }, [d?.base.prompt, d?.source.prompt]);
  useEffect(() => setEdits({}), [index]);
  const posOf = (roles: Record<string, number>, len: number): number[] => (site.positions === 'all' ? Array.from({ length: len }, (_, i) => i) : site.positions.map((p) => (typeof p === 'number' ? p : roles[p])).filter((x): x is number => x !== undefined));
  return (
    <div aria-label="Patched cell">
      <div className="ix-row">
        <strong>Patch {label}</strong>
        <label>
          Example{' '}
          <input type="number" aria-label="Example" min={0} max={n - 1} value={index} onChange={(e) => setIndex(Math.min(n - 1, Math.max(0, Number(e.target.value) || 0)))} style={{ width: '4em' }} />
        </label>
        <span className="note">
          of {n} · {direction === 'denoise' ? 'clean values patched into the corrupt run' : 'corrupt values patched into the clean run'}
        </span>
      </div>
      {cell.error && <ErrorNote error={cell.error} title="Interchange" />}
      {!d && !cell.error && <Loading label="Running the interchange" />}
      {d && draft && (
        <>
          <div className="ix-editors">
            {(['base', 'source'] as const).map((which) => {
              const s = d[which];
              return (
                <div key={which}>
                  <h3>
                    {which === 'base' ? 'Base' : 'Source'} ({s.run}){s.edited && ' · edited: roles are first and last only'}
                  </h3>
                  <textarea aria-label={`${which} prompt`} value={draft[which]} rows={2} onChange={(e) => setDraft({ ...draft, [which]: e.target.value })} spellCheck={false} />
                  <TokenStrip tokens={s.tokens} roles={asRoles(s.roles)} selected={posOf(s.roles, s.tokens.length)} title={`${which === 'base' ? 'Base' : 'Source'} tokens`} subtitle={which === 'base' ? 'outlined: positions overwritten' : 'outlined: positions read'} exportName={`interchange-${which}-tokens`} />
                </div>
              );
            })}
          </div>
          <div className="ix-row">
            <button type="button" disabled={cell.loading || (draft.base === d.base.prompt && draft.source === d.source.prompt)} onClick={() => setEdits({ base: draft.base, source: draft.source })}>
              Run with edited prompts
            </button>
            {(edits.base !== undefined || edits.source !== undefined) && (
              <button type="button" className="small" onClick={() => setEdits({})}>
                Back to the example
              </button>
            )}
            {cell.loading && <Loading label="Updating" />}
          </div>
          {d.distributions && (
            <DistributionBars
              title={`Next token: clean, patched (${label}), corrupt`}
              subtitle={`example ${d.exampleId}`}
              distributions={[
                { name: 'clean', entries: d.distributions.clean },
                { name: 'patched', entries: d.distributions.patched },
                { name: 'corrupt', entries: d.distributions.corrupt },
              ]}
              k={8}
              xMax="shared"
              highlight={[d.answers.clean.token, d.answers.corrupt.token]}
              highlightMeaning="the clean and the corrupt answer"
              exportName="interchange-distributions"
            />
          )}
        </>
      )}
    </div>
  );
}
