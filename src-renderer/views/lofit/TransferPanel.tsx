/**
 * The cross-task transfer matrix: step 2 trained and scored on task A (rows) with the heads step 1
 * selected on task B (columns). The workbench has no job that runs it yet; the panel says what it
 * will show.
 */
export function TransferPanel({ tasks }: { tasks: string[] }) {
  return (
    <div data-testid="lofit-transfer">
      <p className="note">
        Rows: the task step 2 is trained and scored on. Columns: the task whose step-1 heads it uses. The diagonal is ordinary LoFIT; a row that stays high across
        columns means the heads are not specific to the task. Scores are test accuracy (MC1 for multiple-choice tasks) on a sequential 0 … 1 scale.
      </p>
      <p className="note">
        <strong>Not computed in the workbench yet.</strong>
      </p>
      {tasks.length > 0 && <p className="note">Tasks it would cover: {tasks.join(', ')}.</p>}
    </div>
  );
}
