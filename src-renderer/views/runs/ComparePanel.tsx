/**
 * Two or more runs side by side: final metrics (and the config keys that differ),
 * one metric family's curves overlaid (every phase's series: loss, select.loss, tune.loss),
 * and the overlap of the head selections of the runs that have one.
 */
import { useMemo, useState } from 'react';
import { useApi } from '../../api/hooks.js';
import { ErrorNote, Loading, Section } from '../../app/ui.js';
import { Heatmap, LineChart } from '../../charts/index.js';
import { curveFamilies, familyCurves, headKey, headOverlap, overlapSummary, type RunHeads } from './compare-data.js';
import { useRunData } from './useRunData.js';

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '—' : Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(4));

export function ComparePanel({ runIds }: { runIds: string[] }) {
  const cmp = useApi('runs.compare', { runIds });
  const data = useRunData(runIds);
  const [metric, setMetric] = useState('');
  const [selName, setSelName] = useState('');

  const curveNames = useMemo(() => curveFamilies(data.metrics), [data.metrics]);
  const curve = curveNames.includes(metric) ? metric : (curveNames[0] ?? '');

  if (cmp.error) return <ErrorNote error={cmp.error} title="Compare" />;
  if (!cmp.data) return <Loading label="Comparing runs" />;
  const rows = cmp.data.runs;
  // The job record (worker paths, task file) differs between any two runs; it is not a setting.
  const differing = cmp.data.differingConfig.filter((k) => !k.startsWith('job.') && k !== 'job');
  const label = (id: string) => rows.find((r) => r.run.id === id)?.run.name ?? id;
  const allMetrics = [...new Set(rows.flatMap((r) => Object.keys(r.final)))].sort((a, b) => Number(cmp.data!.sharedMetrics.includes(b)) - Number(cmp.data!.sharedMetrics.includes(a)) || a.localeCompare(b));

  const runs = runIds.map((id) => ({ id, label: label(id) }));
  const series = familyCurves(runs, data.metrics, curve);

  // Head selections: each run's named selection; the overlap counts only runs that chose heads.
  const selNames = [...new Set(Object.values(data.heads).flatMap((h) => h.selections.map((s) => s.name)))];
  // A run with one selection always shows it; the choice matters only where a run has several.
  const choosable = Object.values(data.heads).some((h) => h.selections.length > 1);
  const shape = Object.values(data.heads).flatMap((h) => h.scores)[0];
  const perRun: RunHeads[] = runs.map((r) => {
    const sels = data.heads[r.id]?.selections ?? [];
    const s = sels.find((x) => x.name === selName) ?? sels[0];
    return { ...r, selection: s?.name, heads: s?.heads ?? [] };
  });
  const overlap = headOverlap(perRun, shape);
  const { withSelection: withSel, common, layers, heads } = overlap;
  const shared = withSel.length >= 2;

  return (
    <Section title={`Compare ${runIds.length} runs`}>
      <div style={{ overflowX: 'auto' }}>
        <table className="table runs-compare-table" aria-label="Final metrics">
          <thead>
            <tr>
              <th scope="col" style={{ whiteSpace: 'nowrap' }}>Final value</th>
              {rows.map((r) => (
                <th key={r.run.id} scope="col" className="num">
                  {r.run.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {allMetrics.length === 0 && (
              <tr>
                <td colSpan={rows.length + 1} className="note">
                  These runs recorded no metrics.
                </td>
              </tr>
            )}
            {allMetrics.map((m) => (
              <tr key={m}>
                <th scope="row" className="mono">
                  {m}
                </th>
                {rows.map((r) => (
                  <td key={r.run.id} className="num">
                    {fmt(r.final[m])}
                  </td>
                ))}
              </tr>
            ))}
            {differing.map((k) => (
              <tr key={`cfg-${k}`}>
                <th scope="row" className="mono diff">
                  config {k}
                </th>
                {rows.map((r) => {
                  const v = k.split('.').reduce<unknown>((o, p) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[p] : undefined), r.config);
                  return (
                    <td key={r.run.id} className="num diff mono">
                      {v === undefined ? '—' : JSON.stringify(v)}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="note">{differing.length ? `Shaded rows: config keys whose values differ (${differing.length}).` : 'The runs have the same settings.'}</p>
      {data.error && <ErrorNote error={data.error} title="Curves and heads" />}
      {data.loading && <Loading label="Reading curves and head selections" />}
      {curveNames.length > 0 && (
        <LineChart
          title={`${curve} by run`}
          subtitle="one line per run and series"
          series={series}
          xTitle="step"
          yTitle={curve}
          height={280}
          exportName={`compare-${curve}`}
          controls={
            <label>
              Curve{' '}
              <select aria-label="Curve" value={curve} onChange={(e) => setMetric(e.target.value)}>
                {curveNames.map((n) => (
                  <option key={n}>{n}</option>
                ))}
              </select>
            </label>
          }
        />
      )}
      {!data.loading && curveNames.length === 0 && <p className="note">No run recorded a curve (a metric at more than one step).</p>}
      {withSel.length > 0 && layers > 0 && heads > 0 && (
        <>
          <Heatmap
            title={shared ? 'Head selections: overlap' : 'Head selection'}
            subtitle={overlapSummary(overlap)}
            values={overlap.counts}
            orientation="head"
            scale={{ kind: 'sequential', label: 'runs that selected the head', min: 0, max: withSel.length }}
            meaning={(v, l, h) => {
              const who = withSel.filter((r) => r.heads.some((x) => x.layer === l && x.head === h)).map((r) => label(r.id));
              return who.length ? `selected by ${who.join(', ')}` : 'selected by no run';
            }}
            exportName="compare-head-overlap"
            controls={
              choosable && (
                <label>
                  Selection{' '}
                  <select aria-label="Head selection" value={selName || selNames[0]} onChange={(e) => setSelName(e.target.value)}>
                    {selNames.map((n) => (
                      <option key={n}>{n}</option>
                    ))}
                  </select>
                </label>
              )
            }
          />
          <table className="table" aria-label="Head selections">
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Selection</th>
                <th scope="col">{shared ? `Heads (★ chosen by every run with a selection)` : 'Heads'}</th>
              </tr>
            </thead>
            <tbody>
              {perRun.map((r) => (
                <tr key={r.id}>
                  <td>{r.label}</td>
                  <td className="mono">{r.selection ?? '—'}</td>
                  <td className={r.heads.length ? 'mono' : 'note'}>{r.heads.length ? r.heads.map((h) => `L${h.layer}H${h.head}${shared && common.has(headKey(h)) ? '★' : ''}`).join(' ') : 'no head selection (not in the overlap)'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {!data.loading && !data.error && withSel.length === 0 && <p className="note">{overlapSummary(overlap)}</p>}
    </Section>
  );
}
