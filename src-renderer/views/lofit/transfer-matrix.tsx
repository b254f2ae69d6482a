/**
 * One transfer run's matrix: rows are the task step 2 trains and scores on, columns the task whose
 * step-1 heads it uses, on a fixed 0 … 1 scale with the diagonal (ordinary LoFIT) outlined; then per
 * task its base score, its own-heads score, the best score with another task's heads, and its heads.
 */
import { Heatmap } from '../../charts/index.js';
import { HeadList } from './HeadPanels.js';
import { cellSize, diagonalCells, formatScore, matrixValues, metricLabel, taskSummaries, type TransferResult } from './transfer-data.js';

const nowrap = { whiteSpace: 'nowrap' } as const;

function settingsLine(r: TransferResult): string {
  const s = r.settings;
  const parts = [
    r.k !== null && `K ${r.k}`,
    s.epochs !== undefined && `${s.epochs} epoch${s.epochs === 1 ? '' : 's'}`,
    s.limit !== undefined && `first ${s.limit} examples per split`,
    s.seed !== undefined && `seed ${s.seed}`,
    r.backend && r.backend,
  ].filter(Boolean);
  return `${r.model} · ${parts.join(' · ')}`;
}

export function TransferMatrix({ result }: { result: TransferResult }) {
  const r = result;
  const n = r.tasks.length;
  if (n === 0) return <p className="note">This run records no tasks.</p>;
  const values = matrixValues(r);
  const measured = values.flat().filter((v) => !Number.isNaN(v)).length;
  const anyMc = r.tasks.some((t) => r.metric[t] === 'mc1');
  const summaries = taskSummaries(r);
  return (
    <div data-testid="transfer-matrix">
      <Heatmap
        title="Cross-task transfer"
        subtitle={`${settingsLine(r)}${r.complete ? '' : ` · ${measured} of ${n * n} cells so far`}`}
        values={values}
        orientation="matrix"
        rowLabels={r.tasks}
        colLabels={r.tasks}
        yTitle="step 2 on"
        xTitle="with the step-1 heads of"
        scale={{ kind: 'sequential', label: anyMc ? 'test accuracy / MC1' : 'test accuracy', min: 0, max: 1 }}
        cellName={(row, col) => `${r.tasks[row]} with the heads of ${r.tasks[col]}`}
        meaning={(v, row, col) => {
          const task = r.tasks[row];
          const base = r.base[task];
          return `test ${metricLabel(r.metric[task])} ${v.toFixed(3)}${base !== undefined && base !== null ? ` (base model ${base.toFixed(3)})` : ''}${row === col ? ' · own heads: ordinary LoFIT' : ''}`;
        }}
        formatValue={(v) => v.toFixed(3)}
        outlined={diagonalCells(n)}
        {...cellSize(n)}
        legend={
          <span className="note" style={{ fontSize: 12 }}>
            Row: the task step 2 trains and is scored on; column: the task whose heads it uses. Outlined: the diagonal, each task with its own heads.{r.complete ? '' : ' Hatched: not measured yet.'}
          </span>
        }
        exportName={`transfer-matrix-${r.runId.slice(0, 8)}`}
      />
      <table className="table" aria-label="Transfer per task" style={{ marginTop: 8, width: 'auto' }}>
        <thead>
          <tr>
            <th scope="col">Task</th>
            <th scope="col">Metric</th>
            <th scope="col" className="num">
              Base model
            </th>
            <th scope="col" className="num">
              Own heads
            </th>
            <th scope="col">Best with other heads</th>
            <th scope="col">Heads step 1 chose</th>
          </tr>
        </thead>
        <tbody>
          {summaries.map((s) => (
            <tr key={s.task}>
              <td style={nowrap}>{s.task}</td>
              <td>{s.metric}</td>
              <td className="num">{formatScore(s.base)}</td>
              <td className="num">{formatScore(s.own)}</td>
              <td style={nowrap}>{s.bestOther ? `${formatScore(s.bestOther.value)} (${s.bestOther.from})` : '—'}</td>
              <td>
                <HeadList heads={s.heads} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
