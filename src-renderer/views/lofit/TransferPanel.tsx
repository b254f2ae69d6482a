/**
 * The cross-task transfer matrix: step 2 trained and scored on task A (rows) with the heads step 1
 * selected on task B (columns). Starts the 'transfer' job, follows it (the cells fill in as they are
 * measured), and opens any recorded transfer run.
 */
import { useState } from 'react';
import { useApi, useApiEvent } from '../../api/hooks.js';
import { ErrorNote, Loading } from '../../app/ui.js';
import { isCellMetric } from './transfer-data.js';
import { TransferForm } from './transfer-form.js';
import { TransferMatrix } from './transfer-matrix.js';
import { TransferProgress } from './transfer-progress.js';
import { TransferRuns } from './transfer-runs.js';

/** The run shown, kept while the app runs (leaving the view and coming back keeps it). */
let sessionRun: string | undefined;

/** `_props.tasks`: the view's task names; the form asks which of them suit the chosen model. */
export function TransferPanel(_props: { tasks: string[] }) {
  const [picked, setPickedState] = useState<string | undefined>(sessionRun);
  const setPicked = (id: string) => setPickedState((sessionRun = id));
  const runs = useApi('runs.list', { filters: { kind: ['transfer'] }, sort: { by: 'createdAt', direction: 'desc' }, limit: 50 });
  const runId = picked ?? runs.data?.runs[0]?.id;
  const result = useApi('transfer.result', runId ? { runId } : null);

  useApiEvent((e) => {
    if (e.type === 'ui.command' || e.kind !== 'transfer') return;
    if (e.type === 'job.queued' || e.type === 'job.started' || e.type === 'job.done' || e.type === 'job.failed' || e.type === 'job.cancelled') runs.reload();
    if (e.runId !== runId) return;
    if ((e.type === 'job.metric' && isCellMetric(e.name, result.data?.tasks ?? [])) || e.type === 'job.done' || e.type === 'job.failed' || e.type === 'job.cancelled') result.reload();
  });

  return (
    <div data-testid="lofit-transfer">
      <p className="note">
        Rows: the task step 2 is trained and scored on. Columns: the task whose step-1 heads it uses. The diagonal is ordinary LoFIT; a row that stays high across
        columns means the heads are not specific to the task. Scores are test accuracy (MC1 for multiple-choice tasks) on a sequential 0 … 1 scale.
      </p>
      <TransferForm
        onStarted={(id) => {
          setPicked(id);
          runs.reload();
        }}
      />
      {runId && <TransferProgress runId={runId} />}
      {result.error && <ErrorNote error={result.error} title="Transfer result" />}
      {runId && !result.data && result.loading && <Loading label="Reading the transfer matrix" />}
      {result.data && <TransferMatrix result={result.data} />}
      {runs.error && <ErrorNote error={runs.error} title="Transfer runs" />}
      {runs.data && runs.data.runs.length === 0 && <p className="note">No transfer run yet: choose two or more tasks and run one above.</p>}
      {runs.data && runs.data.runs.length > 0 && (
        <>
          <h3 style={{ fontSize: 14, margin: '14px 0 4px' }}>Transfer runs</h3>
          <TransferRuns runs={runs.data.runs} current={runId} onOpen={setPicked} />
        </>
      )}
    </div>
  );
}
