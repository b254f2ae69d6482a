import { useId, useState } from 'react';
import type { ApiResponse } from '../../../src-main/api/contract.js';
import { useApi } from '../../api/hooks.js';
import { ErrorNote, Loading, Section } from '../../app/ui.js';
import { Scatter } from '../../charts/index.js';
import { shortLabel } from './directions-math.js';

type Directions = ApiResponse<'directions.get'>['directions'];
const SPLITS = ['train', 'dev', 'test'] as const;

/** The task's representations at the intervened site, projected on two chosen directions, coloured by their answer. */
export function ProjectionPanel({ runId, directions }: { runId: string; directions: Directions }) {
  const id = useId();
  const [x, setX] = useState(0);
  const [y, setY] = useState(Math.min(1, directions.length - 1));
  const [split, setSplit] = useState<(typeof SPLITS)[number]>('dev');
  const r = useApi('reft.projections', directions.length ? { runId, directions: [x, y], split, limit: 200 } : null);
  const pick = (value: number, set: (n: number) => void, label: string) => (
    <>
      <label htmlFor={`${id}-${label}`}>{label}</label>
      <select id={`${id}-${label}`} value={value} onChange={(e) => set(Number(e.target.value))}>
        {directions.map((d, i) => (
          <option key={d.label} value={i}>
            {shortLabel(d)}
          </option>
        ))}
      </select>
    </>
  );
  const pts = r.data?.points ?? [];
  return (
    <Section
      title="Representations on two directions"
      actions={
        <span className="inline-fields">
          {pick(x, setX, 'x')}
          {pick(y, setY, 'y')}
          <label htmlFor={`${id}-split`}>Split</label>
          <select id={`${id}-split`} value={split} onChange={(e) => setSplit(e.target.value as (typeof SPLITS)[number])}>
            {SPLITS.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </span>
      }
    >
      {r.error && <ErrorNote error={r.error} />}
      {r.loading && !r.data && <Loading label="Projecting the examples" />}
      {r.data && (
        <Scatter
          title="Projections of the representations"
          subtitle={`${pts.length} ${r.data.split} examples of ${r.data.task}, last prompt token before the edit; colour: the answer`}
          x={pts.map((p) => p.x)}
          y={pts.map((p) => p.y)}
          labels={pts.map((p) => p.label)}
          text={pts.map((p) => p.id)}
          xTitle={shortLabel(directions[x])}
          yTitle={shortLabel(directions[y])}
          height={380}
          exportName={`reft-projection-${runId}`}
        />
      )}
    </Section>
  );
}
