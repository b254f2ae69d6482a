/** A DAS job's curves as they arrive: the training loss per step and, for a search, each layer's best IIA. */
import { useEffect, useState } from 'react';
import { api } from '../../api/client.js';
import { useApiEvent } from '../../api/hooks.js';
import { LineChart } from '../../charts/index.js';

type Curve = { x: number[]; y: number[] };
const NAMES = ['loss', 'iia'] as const;

function add(c: Curve | undefined, step: number, value: number | null): Curve {
  const cur = c ?? { x: [], y: [] };
  // Stored points and live events overlap: keep each step once.
  if (cur.x.length && step <= cur.x[cur.x.length - 1]) return cur;
  return { x: [...cur.x, step], y: [...cur.y, value ?? NaN] };
}

export function JobCurves({ runId, search }: { runId: string; search: boolean }) {
  const [curves, setCurves] = useState<Partial<Record<(typeof NAMES)[number], Curve>>>({});
  useEffect(() => {
    let live = true;
    api()
      .call('runs.metrics', { runId, names: [...NAMES] })
      .then((r) => {
        if (!live) return;
        setCurves((now) => {
          const out = { ...now };
          for (const n of NAMES) {
            const s = r.series[n];
            if (!s) continue;
            let c: Curve | undefined = { x: [...s.steps], y: s.values.map((v) => v ?? NaN) };
            for (const [i, x] of (now[n]?.x ?? []).entries()) c = add(c, x, now[n]!.y[i]);
            out[n] = c;
          }
          return out;
        });
      })
      .catch(() => {
        // Live events still fill the curves.
      });
    return () => {
      live = false;
    };
  }, [runId]);
  useApiEvent((e) => {
    if (e.type === 'job.metric' && e.runId === runId && (NAMES as readonly string[]).includes(e.name)) setCurves((c) => ({ ...c, [e.name]: add(c[e.name as 'loss'], e.step, e.value) }));
  });
  if (!curves.loss && !(search && curves.iia)) return null;
  return (
    <div className="ix-curves">
      {curves.loss && <LineChart title="Training loss" subtitle={search ? "per step, mean over a layer's positions" : 'per step'} series={[{ name: 'loss', ...curves.loss }]} yTitle="loss" height={200} exportName={`das-loss-${runId.slice(0, 8)}`} />}
      {search && curves.iia && <LineChart title="Test IIA" subtitle="best site of each finished layer" series={[{ name: 'IIA', ...curves.iia }]} yTitle="IIA" yRange={[0, 1]} height={200} exportName={`das-iia-${runId.slice(0, 8)}`} />}
    </div>
  );
}
