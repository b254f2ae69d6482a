/**
 * Two or more runs side by side: final metrics (and the config keys that differ),
 * one metric's curves overlaid, and the runs' head selections with their overlap.
 */
import { useMemo, useState } from 'react';
import { useApi } from '../../api/hooks.js';
import { ErrorNote, Loading, Section } from '../../app/ui.js';
import { Heatmap, LineChart, type LineSeries } from '../../charts/index.js';
import { useRunData } from './useRunData.js';

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '—' : Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(4));

export function ComparePanel({ runIds }: { runIds: string[] }) {
  const cmp = useApi('runs.compare', { runIds });
  const data = useRunData(runIds);
  const [metric, setMetric] = useState('');
  const [selName, setSelName] = useState('');

  const curveNames = useMemo(() => {
    const names = new Set<string>();
    for (const s of Object.values(data.metrics)) for (const [n, v] of Object.entries(s)) if (v.steps.length > 1) names.add(n);
    return [...names].sort();
  }, [data.metrics]);
  const curve = curveNames.includes(metric) ? metric : (curveNames.find((n) => n === 'loss') ?? curveNames[0] ?? '');

  if (cmp.error) return <ErrorNote error={cmp.error} title="Compare" />;
  if (!cmp.data) return <Loading label="Comparing runs" />;
  const rows = cmp.data.runs;
  // The job record (worker paths, task file) differs between any two runs; it is not a setting.
  const differing = cmp.data.differingConfig.filter((k) => !k.startsWith('job.') && k !== 'job');
  const label = (id: string) => rows.find((r) => r.run.id === id)?.run.name ?? id;
  const allMetrics = [...new Set(rows.flatMap((r) => Object.keys(r.final)))].sort((a, b) => Number(cmp.data!.sharedMetrics.includes(b)) - Number(cmp.data!.sharedMetrics.includes(a)) || a.localeCompare(b));

  const series: LineSeries[] = runIds.flatMap((id): LineSeries[] => {
      const s = data.metrics[id]?.[curve];
      if (!s) return [];
      const pts = s.steps.map((x, i) => [x, s.values[i]] as const).filter((p): p is readonly [number, number] => p[1] !== null);
      return [{ name: label(id), x: pts.map((p) => p[0]), y: pts.map((p) => p[1]) }];
    });

  // Head selections: every run's named selection; the overlap map counts how many runs chose each head.
  const selNames = [...new Set(Object.values(data.heads).flatMap((h) => h.selections.map((s) => s.name)))];
  const shape = Object.values(data.heads).flatMap((h) => h.scores)[0];
  const perRun = runIds.map((id) => {
    const sels = data.heads[id]?.selections ?? [];
    const s = sels.find((x) => x.name === selName) ?? sels[0];
    return { id, name: s?.name, heads: s?.heads ?? [] };
  });
  const withSel = perRun.filter((r) => r.heads.length > 0);
  const layers = shape?.layers ?? Math.max(0, ...withSel.flatMap((r) => r.heads.map((h) => h.layer + 1)));
  const heads = shape?.heads ?? Math.max(0, ...withSel.flatMap((r) => r.heads.map((h) => h.head + 1)));
  const counts = Array.from({ length: layers }, () => new Array<number>(heads).fill(0));
  for (const r of withSel) for (const h of r.heads) if (h.layer < layers && h.head < heads) counts[h.layer][h.head]++;
  const key = (h: { layer: number; head: number }) => `${h.layer}.${h.head}`;
  const common = withSel.length ? withSel.map((r) => new Set(r.heads.map(key))).reduce((a, b) => new Set([...a].filter((x) => b.has(x)))) : new Set<string>();
  const union = new Set(withSel.flatMap((r) => r.heads.map(key)));

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
          subtitle="one line per run"
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
            title="Head selections: overlap"
            subtitle={`${common.size} heads chosen by every run, ${union.size} by any (Jaccard ${union.size ? (common.size / union.size).toFixed(2) : '—'})`}
            values={counts}
            orientation="head"
            scale={{ kind: 'sequential', label: 'runs that selected the head', min: 0, max: withSel.length }}
            meaning={(v, l, h) => {
              const who = withSel.filter((r) => r.heads.some((x) => x.layer === l && x.head === h)).map((r) => label(r.id));
              return who.length ? `selected by ${who.join(', ')}` : 'selected by no run';
            }}
            exportName="compare-head-overlap"
            controls={
              selNames.length > 1 && (
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
                <th scope="col">Heads (★ chosen by every run)</th>
              </tr>
            </thead>
            <tbody>
              {perRun.map((r) => (
                <tr key={r.id}>
                  <td>{label(r.id)}</td>
                  <td className="mono">{r.name ?? '—'}</td>
                  <td className="mono">{r.heads.length ? r.heads.map((h) => `L${h.layer}H${h.head}${common.has(key(h)) ? '★' : ''}`).join(' ') : 'none'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Section>
  );
}
