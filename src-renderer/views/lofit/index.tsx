/**
 * LoFIT: run both steps (find the heads that matter, then tune an offset per head) with live loss
 * and progress; the step-1 head scores with the selection outlined, a K slider and click-to-toggle;
 * re-run step 2 on a chosen head list; ITI's probe accuracy beside it and the overlap of the two
 * selections; accuracy against K; and exports.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { api } from '../../api/client.js';
import { useApi, useApiEvent } from '../../api/hooks.js';
import { ErrorNote, Loading, Section } from '../../app/ui.js';
import { KSlider, type CellRef } from '../../charts/index.js';
import type { ViewDefinition } from '../types.js';
import { AccuracyVsK, RunsTable } from './AccuracyVsK.js';
import { givenHeadsOf, modelOf, parseTaskKey, sameHeads, taskKeyOf, toggleHead, toMatrix, topHeads, tuningConfigOf } from './data.js';
import { ExportPanel } from './ExportPanel.js';
import { HeadList, ItiAccuracyMap, LofitScoresMap } from './HeadPanels.js';
import { JobPanel } from './JobPanel.js';
import { OverlapPanel } from './OverlapPanel.js';
import { RunForm, type StartedJobs } from './RunForm.js';
import { TransferPanel } from './TransferPanel.js';

interface ViewJob {
  jobId: string;
  runId: string;
  label: string;
}

/** Jobs started from this view, kept while the app runs (so leaving the view and coming back keeps them). */
let sessionJobs: ViewJob[] = [];

const twoColumns = { display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(340px, 1fr))', gap: 16, alignItems: 'start' } as const;

function LofitView() {
  const [jobs, setJobsState] = useState<ViewJob[]>(sessionJobs);
  const setJobs = (f: (j: ViewJob[]) => ViewJob[]) => setJobsState((j) => (sessionJobs = f(j)));
  const [picked, setPicked] = useState<string>();
  const [refresh, setRefresh] = useState(0);
  const lofitRuns = useApi('runs.list', { filters: { kind: ['lofit'] }, sort: { by: 'createdAt', direction: 'desc' }, limit: 100 });
  const tasks = useApi('tasks.list', {});

  // The run shown: the one picked, else the newest that ran step 1.
  const stepOneRuns = (lofitRuns.data?.runs ?? []).filter((r) => !r.name.startsWith('LoFIT step 2'));
  const runId = picked ?? stepOneRuns[0]?.id;

  const run = useApi('runs.get', runId ? { runId } : null);
  const heads = useApi('heads.get', runId ? { runId } : null);
  const siblings = useApi('lofit.siblings', runId ? { runId } : null);
  const itiRuns = useApi('runs.list', { filters: { kind: ['iti'], status: ['succeeded'] }, sort: { by: 'createdAt', direction: 'desc' }, limit: 100 });
  const summary = run.data?.run;
  const itiRun = (itiRuns.data?.runs ?? []).find((r) => summary && r.modelId === summary.modelId && r.datasetId === summary.datasetId);
  const itiHeads = useApi('heads.get', itiRun ? { runId: itiRun.id } : null);

  const reloadAll = () => {
    lofitRuns.reload();
    itiRuns.reload();
    run.reload();
    heads.reload();
    siblings.reload();
    itiHeads.reload();
    setRefresh((n) => n + 1);
  };
  // Step 1's scores are stored when step 2 starts: show them then, not only at the end.
  const seenTune = useRef(new Set<string>());
  useApiEvent((e) => {
    if (e.type === 'job.progress' && e.phase === 'lofit-tune' && !seenTune.current.has(e.jobId) && jobs.some((j) => j.jobId === e.jobId)) {
      seenTune.current.add(e.jobId);
      heads.reload();
      siblings.reload();
    }
  });

  const scores = useMemo(() => toMatrix(heads.data?.scores.find((s) => s.name === 'lofit-scores')?.values ?? []), [heads.data]);
  const recorded = useMemo(() => (heads.data?.selections.find((s) => s.name === 'lofit-top-k')?.heads ?? []).map(({ layer, head }) => [layer, head] as CellRef), [heads.data]);
  const itiAccuracy = useMemo(() => toMatrix(itiHeads.data?.scores.find((s) => s.name === 'iti-probe-accuracy')?.values ?? []), [itiHeads.data]);

  const [selection, setSelection] = useState<CellRef[]>([]);
  const [k, setK] = useState(0);
  // A new run (or its scores arriving) resets the selection to what step 1 chose.
  const selectionOf = `${runId} ${recorded.map((c) => c.join('.')).join(',')}`;
  useEffect(() => {
    setSelection(recorded);
    setK(recorded.length);
  }, [selectionOf]);

  const taskKey = run.data ? taskKeyOf(run.data.run.config) : undefined;
  const taskName = taskKey ? parseTaskKey(taskKey).task : undefined;
  const multipleChoice = tasks.data?.tasks.find((t) => t.name === taskName)?.kind === 'multiple-choice';
  const cellCount = scores.length * (scores[0]?.length ?? 0);
  const edited = scores.length > 0 && !sameHeads(selection, topHeads(scores, k));
  const itiTop = itiAccuracy.length && selection.length ? topHeads(itiAccuracy, selection.length) : [];
  const runningHere = jobs.some((j) => j.runId === runId) && lofitRuns.data?.runs.find((r) => r.id === runId)?.status !== 'succeeded';

  const onStarted = (s: StartedJobs) => {
    setJobs((j) => [{ ...s.lofit, label: 'LoFIT steps 1 + 2' }, ...(s.iti ? [{ ...s.iti, label: 'ITI probes' }] : []), ...j]);
    setPicked(s.lofit.runId);
    lofitRuns.reload();
  };

  const [rerunError, setRerunError] = useState<Error>();
  const startStepTwo = async (list: CellRef[], name: string) => {
    if (!run.data || !taskKey) throw new Error('the run is not loaded yet');
    const config = run.data.run.config;
    const model = modelOf(config);
    if (!model) throw new Error(`run ${run.data.run.id} does not record its model`);
    const { rebuildTask } = await import('./task-input.js');
    const task = await rebuildTask(taskKey, multipleChoice);
    const started = await api().call('jobs.start', { kind: 'lofit', model, task, config: { ...tuningConfigOf(config), heads: list.map(([l, h]) => [l, h] as [number, number]) }, name });
    setJobs((j) => [{ ...started, label: name }, ...j]);
    siblings.reload();
    return started;
  };
  const rerun = async () => {
    setRerunError(undefined);
    try {
      await startStepTwo(selection, `LoFIT step 2 · ${selection.length} chosen heads`);
    } catch (e) {
      setRerunError(e as Error);
    }
  };

  const given = run.data ? givenHeadsOf(run.data.run.config) : undefined;

  return (
    <div>
      <Section title="Run LoFIT">
        <RunForm onStarted={onStarted} busy={false} tasks={tasks} />
      </Section>

      {jobs.length > 0 && (
        <Section title="Jobs" actions={<button type="button" className="small" onClick={() => setJobs(() => jobs.filter((j) => j.runId === runId).slice(0, 1))}>Clear finished</button>}>
          {jobs.slice(0, 4).map((j) => (
            <JobPanel key={j.jobId} jobId={j.jobId} runId={j.runId} label={j.label} onEnded={reloadAll} />
          ))}
        </Section>
      )}

      <Section
        title="Heads"
        actions={
          stepOneRuns.length > 0 && (
            <label>
              Run{' '}
              <select aria-label="LoFIT run" value={runId ?? ''} onChange={(e) => setPicked(e.target.value)}>
                {stepOneRuns.map((r) => (
                  <option key={r.id} value={r.id}>
                    {r.name} · {new Date(r.createdAt).toLocaleTimeString()}{r.status === 'succeeded' ? '' : ` · ${r.status}`}
                  </option>
                ))}
              </select>
            </label>
          )
        }
      >
        {lofitRuns.error && <ErrorNote error={lofitRuns.error} title="Runs" />}
        {run.error && <ErrorNote error={run.error} title="Run" />}
        {heads.error && <ErrorNote error={heads.error} title="Head scores" />}
        {lofitRuns.loading && !lofitRuns.data && <Loading label="Reading runs" />}
        {lofitRuns.data && !runId && <p className="note">No LoFIT run yet: start one above.</p>}
        {given && <p className="note">This run tuned a given head list (step 1 skipped), so it has no head scores.</p>}
        {runId && heads.data && scores.length === 0 && !given && <p className="note">{runningHere ? 'Step 1 is running: the head scores appear when it ends.' : 'This run recorded no head scores.'}</p>}
        {scores.length > 0 && (
          <>
            <div style={{ display: 'flex', gap: '4px 16px', alignItems: 'center', flexWrap: 'wrap', marginBottom: 8 }}>
              <KSlider
                value={Math.min(k, cellCount)}
                max={Math.max(1, cellCount)}
                onChange={(next) => {
                  setK(next);
                  setSelection(topHeads(scores, next));
                }}
              />
              <span className="note">outlines LoFIT&apos;s top K (click a head to add or remove it) and ITI&apos;s top K of the same size. ‖A‖ is the norm of the head&apos;s learned scaling: unsigned, not in 0 … 1, so its colours span the scores&apos; range; probe accuracy uses a fixed 0 … 1 (0.5 is chance).</span>
            </div>
            <div style={twoColumns}>
              <LofitScoresMap
                scores={scores}
                selection={selection}
                onToggle={(cell) => setSelection((s) => toggleHead(s, cell))}
                edited={edited}
              />
              {itiAccuracy.length > 0 ? (
                <ItiAccuracyMap accuracy={itiAccuracy} top={itiTop} />
              ) : (
                <div className="note" style={{ padding: 12 }}>
                  {itiHeads.error ? <ErrorNote error={itiHeads.error} title="ITI" /> : 'No finished ITI run on this model and task: tick "also train ITI probes" and run again to compare.'}
                </div>
              )}
            </div>
            <div style={{ display: 'flex', gap: 12, alignItems: 'center', flexWrap: 'wrap', margin: '10px 0' }}>
              <span>
                Selection ({selection.length}): <HeadList heads={selection} />
              </span>
              <button type="button" className="primary" onClick={rerun} disabled={selection.length === 0 || !run.data}>
                Re-run step 2 with these {selection.length} heads
              </button>
              {edited && (
                <button type="button" className="small" onClick={() => setSelection(topHeads(scores, k))}>
                  Reset to top {k}
                </button>
              )}
            </div>
            {rerunError && <ErrorNote error={rerunError} title="Re-run" />}
            {itiTop.length > 0 && (
              <>
                <h3 style={{ fontSize: 14, margin: '8px 0 4px' }}>Overlap: LoFIT selection and ITI top {itiTop.length}</h3>
                <OverlapPanel lofit={selection} iti={itiTop} />
              </>
            )}
          </>
        )}
      </Section>

      {runId && (
        <Section title="Accuracy against K">
          {siblings.error && <ErrorNote error={siblings.error} title="Runs on this task" />}
          {siblings.data && scores.length > 0 && <AccuracyVsK key={refresh} runs={siblings.data.runs} scores={scores} multipleChoice={multipleChoice} startStepTwo={(h, n) => startStepTwo(h, n)} />}
          {siblings.data && <RunsTable runs={siblings.data.runs} multipleChoice={multipleChoice} current={runId} onPick={setPicked} />}
        </Section>
      )}

      <Section title="Cross-task transfer">
        <TransferPanel tasks={(tasks.data?.tasks ?? []).map((t) => t.name)} />
      </Section>

      {runId && summary?.status === 'succeeded' && (
        <Section title="Export">
          <ExportPanel runId={runId} />
        </Section>
      )}
    </div>
  );
}

export const view: ViewDefinition = {
  id: 'lofit',
  title: 'LoFIT',
  description: 'Find the heads that matter, then tune an offset per head',
  component: LofitView,
};
