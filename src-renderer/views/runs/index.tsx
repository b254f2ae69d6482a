/** Runs: every recorded run, filtered and sorted; one run's details, delete and export; two or more compared. */
import { useState } from 'react';
import { useApi, useApiEvent } from '../../api/hooks.js';
import { ErrorNote, Loading, Section } from '../../app/ui.js';
import type { RUN_KIND_NAMES, RUN_STATUS_NAMES } from '../../../src-main/api/contract.js';
import type { ViewDefinition } from '../types.js';
import { ComparePanel } from './ComparePanel.js';
import { RunDetail } from './RunDetail.js';
import { NO_FILTERS, RunFilters, type RunFilterState } from './RunFilters.js';
import { RunTable } from './RunTable.js';
import { distinctTaskLabels, taskLabel } from './task-label.js';
import './runs.css';

type Kind = (typeof RUN_KIND_NAMES)[number];
type Status = (typeof RUN_STATUS_NAMES)[number];

function RunsView() {
  const [f, setF] = useState<RunFilterState>(NO_FILTERS);
  const [checked, setChecked] = useState<string[]>([]);
  const [openId, setOpenId] = useState<string>();
  const [comparing, setComparing] = useState<string[]>();
  const facets = useApi('runs.facets', {});
  // Row counts of inline and imported tasks, for their labels.
  const datasets = useApi('datasets.list', {});
  const runs = useApi('runs.list', {
    filters: { ...(f.kind && { kind: [f.kind as Kind] }), ...(f.status && { status: [f.status as Status] }), ...(f.modelId && { modelId: f.modelId }), ...(f.search.trim() && { search: f.search.trim() }) },
    sort: { by: f.sortBy, direction: f.direction },
    limit: 1000,
  });
  useApiEvent((e) => {
    if (e.type === 'job.queued' || e.type === 'job.done' || e.type === 'job.failed' || e.type === 'job.cancelled') {
      runs.reload();
      facets.reload();
      datasets.reload();
    }
  });
  const shown = (runs.data?.runs ?? []).filter((r) => !f.datasetId || r.datasetId === f.datasetId);
  const modelName = (id: string | null) => (id === null ? '—' : (facets.data?.models.find((m) => m.id === id)?.name ?? id));
  const known = new Map((datasets.data?.datasets ?? []).map((d) => [d.id, d]));
  const taskLabels = distinctTaskLabels((facets.data?.datasets ?? []).map((d) => known.get(d.id) ?? d));
  const taskName = (id: string | null) => taskLabel(id, id === null ? undefined : known.get(id));
  return (
    <>
      <Section
        title="Run history"
        actions={
          <span className="note" role="status">
            {runs.data ? `${shown.length} of ${runs.data.total} shown` : ''}
          </span>
        }
      >
        <RunFilters value={f} onChange={setF} facets={facets.data} taskLabels={taskLabels} />
        {facets.error && <ErrorNote error={facets.error} title="Filters" />}
        {datasets.error && <ErrorNote error={datasets.error} title="Task names" />}
        {runs.error && <ErrorNote error={runs.error} />}
        {!runs.data && !runs.error && <Loading label="Reading runs" />}
        {runs.data && <RunTable runs={shown} checked={checked} onCheck={(id, on) => setChecked((c) => (on ? [...c, id] : c.filter((x) => x !== id)))} openId={openId} onOpen={(id) => setOpenId(id === openId ? undefined : id)} modelName={modelName} taskName={taskName} />}
        <div className="runs-actions">
          <button type="button" disabled={checked.length < 2 || checked.length > 20} onClick={() => setComparing([...checked])}>
            Compare {checked.length >= 2 ? `${checked.length} runs` : 'runs'}
          </button>
          {checked.length > 0 && (
            <button type="button" className="small" onClick={() => setChecked([])}>
              Clear selection
            </button>
          )}
          <span className="note">{checked.length < 2 ? 'Tick two or more runs to compare them.' : checked.length > 20 ? 'Compare at most 20 runs.' : ''}</span>
        </div>
      </Section>
      {comparing && <ComparePanel runIds={comparing} />}
      {openId && (
        <RunDetail
          key={openId}
          runId={openId}
          onDeleted={() => {
            setChecked((c) => c.filter((x) => x !== openId));
            setComparing((c) => (c?.includes(openId) ? undefined : c));
            setOpenId(undefined);
            runs.reload();
          }}
        />
      )}
    </>
  );
}

export const view: ViewDefinition = { id: 'runs', title: 'Runs', description: 'Every recorded run: filter, compare, export', component: RunsView };
