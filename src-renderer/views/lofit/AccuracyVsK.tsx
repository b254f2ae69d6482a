/**
 * Accuracy against K, from the LoFIT runs on the same model and task: LoFIT's own runs (steps 1 + 2),
 * step 2 on the top K of the shown ranking (a sweep starts those), and hand-chosen head lists.
 * Below it, every such run with its heads and test score.
 */
import { useState } from 'react';
import type { ApiResponse } from '../../../src-main/api/contract.js';
import { ErrorNote } from '../../app/ui.js';
import { Scatter, type CellRef } from '../../charts/index.js';
import { sameHeads, topHeads } from './data.js';
import { HeadList } from './HeadPanels.js';

type Sibling = ApiResponse<'lofit.siblings'>['runs'][number];

export const SWEEP_KS = [1, 2, 4, 8, 16];
/** Accuracy's own range, a little headroom so a point at 1 is not cut by the plot's edge. */
const ACCURACY_RANGE = [0, 1.05] as const;

export function metricOf(r: Sibling, multipleChoice: boolean): number | null {
  return multipleChoice ? r.testPreferCorrect : r.testAccuracy;
}

function category(r: Sibling, scores: number[][]): string {
  if (!r.given) return 'LoFIT steps 1 + 2';
  return sameHeads(r.heads, topHeads(scores, r.heads.length)) ? 'step 2 on the top K of this ranking' : 'step 2 on hand-chosen heads';
}

export function AccuracyVsK({ runs, scores, multipleChoice, startStepTwo }: { runs: Sibling[]; scores: number[][]; multipleChoice: boolean; startStepTwo: (heads: CellRef[], name: string) => Promise<unknown> }) {
  const [sweeping, setSweeping] = useState(false);
  const [problem, setProblem] = useState<Error>();
  const [started, setStarted] = useState(0);
  const metricName = multipleChoice ? 'test MC1' : 'test accuracy';
  const scored = runs.filter((r) => r.status === 'succeeded' && metricOf(r, multipleChoice) !== null && r.heads.length > 0);
  const cells = scores.length * (scores[0]?.length ?? 0);
  const ks = SWEEP_KS.filter((k) => k <= cells);
  const sweep = async () => {
    setSweeping(true);
    setProblem(undefined);
    try {
      for (const k of ks) {
        await startStepTwo(topHeads(scores, k), `LoFIT step 2 · top ${k}`);
        setStarted((n) => n + 1);
      }
    } catch (e) {
      setProblem(e as Error);
    } finally {
      setSweeping(false);
    }
  };
  return (
    <div>
      <div style={{ display: 'flex', gap: 12, alignItems: 'center', marginBottom: 6 }}>
        <button type="button" onClick={sweep} disabled={sweeping || ks.length === 0}>
          Sweep K = {ks.join(', ')}
        </button>
        <span className="note">queues step 2 on the top K of this ranking for each K (same settings){started > 0 && ` · ${started} started`}</span>
      </div>
      {problem && <ErrorNote error={problem} title="Sweep" />}
      {scored.length === 0 ? (
        <p className="note">No finished run with a test score yet.</p>
      ) : (
        <Scatter
          title={`${metricName} against K`}
          subtitle="each point is one LoFIT run on this model and task"
          x={scored.map((r) => r.heads.length)}
          y={scored.map((r) => metricOf(r, multipleChoice)!)}
          labels={scored.map((r) => category(r, scores))}
          text={scored.map((r) => r.name)}
          xTitle="K (heads tuned)"
          yTitle={metricName}
          yRange={ACCURACY_RANGE}
          height={300}
          exportName="lofit-accuracy-vs-k"
        />
      )}
    </div>
  );
}

export function RunsTable({ runs, multipleChoice, current, onPick }: { runs: Sibling[]; multipleChoice: boolean; current: string; onPick: (runId: string) => void }) {
  return (
    <table className="table selectable" aria-label="LoFIT runs on this model and task">
      <thead>
        <tr>
          <th scope="col">Run</th>
          <th scope="col">Status</th>
          <th scope="col">Heads from</th>
          <th scope="col" className="num">
            K
          </th>
          <th scope="col">Heads</th>
          <th scope="col" className="num">
            {multipleChoice ? 'Test MC1' : 'Test accuracy'}
          </th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => {
          const m = metricOf(r, multipleChoice);
          return (
            <tr key={r.runId} className={r.runId === current ? 'selected' : undefined} onClick={() => !r.given && onPick(r.runId)} title={r.given ? undefined : 'show this run'}>
              <td>{r.name}</td>
              <td>{r.status}</td>
              <td>{r.given ? 'given list' : 'step 1'}</td>
              <td className="num">{r.heads.length || '—'}</td>
              <td>
                <HeadList heads={r.heads} />
              </td>
              <td className="num">{m === null ? '—' : `${(m * 100).toFixed(1)}%`}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
