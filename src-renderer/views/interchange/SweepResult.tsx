/** A sweep's heatmap (effect of each patch, diverging around 0) and the cell the user clicked. */
import { useState } from 'react';
import { Heatmap } from '../../charts/index.js';
import { CellInspector } from './CellInspector.js';
import { cellLabel, cellSite, sweepMatrix, type SweepDoc } from './sweep-cells.js';

const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '—');

export function SweepResult({ doc, runId }: { doc: SweepDoc; runId: string }) {
  const [locked, setLocked] = useState<[number, number] | null>(null);
  const [head, setHead] = useState(0);
  const { values, cols } = sweepMatrix(doc, head);
  const byHead = doc.kind === 'heads' && !doc.perPosition;
  const toward = doc.direction === 'denoise' ? 'restores the clean answer' : 'pushes towards the corrupt answer';
  const away = doc.direction === 'denoise' ? 'moves further from the clean answer' : 'strengthens the clean answer';
  const metricUp = doc.metric === 'logit-diff' || doc.metric === 'normalised';
  return (
    <div>
      <Heatmap
        title={`${doc.method} ${doc.direction} patching: ${byHead ? 'layer × head' : doc.kind === 'heads' ? `layer × position, head ${doc.heads?.[head]}` : `${doc.site}, layer × position`}`}
        subtitle={`${doc.metric} on ${doc.n} ${doc.task} pairs, minus the unpatched run (clean ${f3(doc.clean)}, corrupt ${f3(doc.corrupt)}, unpatched ${f3(doc.unpatched)}). Click a cell to inspect one example.`}
        values={values}
        orientation={byHead ? 'head' : 'matrix'}
        rowLabels={doc.layers.map((l) => `L${l}`)}
        colLabels={cols}
        xTitle={byHead ? 'head' : 'position'}
        yTitle="layer"
        scale={{
          kind: 'diverging',
          label: `Δ ${doc.metric} vs unpatched`,
          positive: metricUp ? `${doc.metric} rises: ${doc.direction === 'denoise' ? toward : away}` : `${doc.metric} rises`,
          negative: metricUp ? `${doc.metric} falls: ${doc.direction === 'denoise' ? away : 'damages the clean answer'}` : `${doc.metric} falls`,
        }}
        locked={locked}
        onCellClick={(r, c) => setLocked([r, c])}
        exportName={`sweep-${runId.slice(0, 8)}`}
        controls={
          doc.kind === 'heads' &&
          doc.perPosition && (
            <label>
              Head{' '}
              <select value={head} onChange={(e) => setHead(Number(e.target.value))}>
                {doc.heads!.map((h, i) => (
                  <option key={h} value={i}>
                    H{h}
                  </option>
                ))}
              </select>
            </label>
          )
        }
      />
      {doc.warnings?.map((w) => (
        <p key={w} className="note">
          {w}
        </p>
      ))}
      {locked ? (
        <CellInspector
          key={`${runId}-${locked.join('.')}-${head}`}
          model={doc.model}
          task={doc.task}
          split={doc.split}
          direction={doc.direction}
          n={doc.n}
          site={cellSite(doc, locked[0], locked[1], head)}
          label={cellLabel(doc, locked[0], locked[1], head)}
        />
      ) : (
        <p className="note">Click a cell to see the patched next-token distribution of one example next to the clean and corrupt ones.</p>
      )}
    </div>
  );
}
