/**
 * Data: the built-in tasks and their examples, and dataset import. An import
 * takes the whole file or nothing: every bad row is listed with its line, the
 * column and the problem, so the file can be fixed and imported again.
 */
import { useEffect, useState, type ChangeEvent } from 'react';
import type { ApiResponse, TaskExample } from '../../../src-main/api/contract.js';
import { useAction, useApi } from '../../api/hooks.js';
import { api } from '../../api/client.js';
import { useCommand } from '../../app/commands.js';
import { ErrorNote, Loading, PathPicker, Section } from '../../app/ui.js';
import type { ViewDefinition } from '../types.js';

const PAGE = 20;
const SHAPES = ['auto', 'completion', 'instruction', 'truthfulqa', 'counterfactual', 'native'] as const;
type Shape = (typeof SHAPES)[number];
const SPLITS = ['train', 'dev', 'test'] as const;
type Split = (typeof SPLITS)[number];

/** Shows leading spaces (completions carry them) so " Paris" and "Paris" look different. */
function Text({ value }: { value: string }) {
  return <span className="mono">{JSON.stringify(value)}</span>;
}

function ExamplesTable({ examples, label }: { examples: TaskExample[]; label: string }) {
  return (
    <table className="table examples" aria-label={label}>
      <thead>
        <tr>
          <th scope="col">Id</th>
          <th scope="col">Prompt</th>
          <th scope="col">Answer</th>
          <th scope="col">Wrong</th>
          <th scope="col">Variables</th>
        </tr>
      </thead>
      <tbody>
        {examples.map((ex) => (
          <tr key={ex.id}>
            <td className="mono">{ex.id}</td>
            <td>
              <Text value={ex.prompt} />
            </td>
            <td>
              <Text value={ex.completion} />
            </td>
            <td>
              {ex.wrong.map((w, i) => (
                <span key={i}>
                  {i > 0 && ', '}
                  <Text value={w} />
                </span>
              ))}
            </td>
            <td className="mono">{ex.variables ? Object.entries(ex.variables).map(([k, v]) => `${k}=${String(v)}`).join(' ') : ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Pager({ offset, total, onChange }: { offset: number; total: number; onChange: (offset: number) => void }) {
  const last = Math.min(offset + PAGE, total);
  return (
    <div className="pager">
      <button type="button" className="small" disabled={offset === 0} onClick={() => onChange(Math.max(0, offset - PAGE))}>
        ‹ Previous
      </button>
      <span className="note">
        {total === 0 ? 'no examples' : `${offset + 1}–${last} of ${total}`}
      </span>
      <button type="button" className="small" disabled={last >= total} onClick={() => onChange(offset + PAGE)}>
        Next ›
      </button>
    </div>
  );
}

function TaskBrowser() {
  const tasks = useApi('tasks.list', {});
  const [task, setTask] = useState<string>();
  const [split, setSplit] = useState<Split>('train');
  const [offset, setOffset] = useState(0);
  const list = tasks.data?.tasks ?? [];
  const current = list.find((t) => t.name === task) ?? list[0];
  const page = useApi('tasks.examples', current ? { task: current.name, split, offset, limit: PAGE } : null);
  return (
    <Section title="Built-in tasks">
      {tasks.loading && <Loading label="Reading the tasks" />}
      {tasks.error && <ErrorNote error={tasks.error} />}
      {list.length > 0 && (
        <table className="table selectable" aria-label="Tasks">
          <thead>
            <tr>
              <th scope="col">Task</th>
              <th scope="col">Kind</th>
              <th scope="col" className="num">Train</th>
              <th scope="col" className="num">Dev</th>
              <th scope="col" className="num">Test</th>
              <th scope="col">Variables</th>
            </tr>
          </thead>
          <tbody>
            {list.map((t) => (
              <tr
                key={t.name}
                data-task={t.name}
                aria-selected={current?.name === t.name}
                className={current?.name === t.name ? 'selected' : undefined}
                onClick={() => {
                  setTask(t.name);
                  setOffset(0);
                }}
              >
                <th scope="row" title={t.description}>
                  <button type="button" className="link">
                    {t.title}
                  </button>
                </th>
                <td>{t.kind}</td>
                <td className="num">{t.sizes.train}</td>
                <td className="num">{t.sizes.dev}</td>
                <td className="num">{t.sizes.test}</td>
                <td>{t.variables.join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {current && (
        <div className="examples-browser">
          <div className="section-header">
            <h2>
              {current.title} <span className="note">({current.name})</span>
            </h2>
            <div className="tabs" role="tablist" aria-label="Split">
              {SPLITS.map((s) => (
                <button
                  key={s}
                  type="button"
                  role="tab"
                  aria-selected={split === s}
                  onClick={() => {
                    setSplit(s);
                    setOffset(0);
                  }}
                >
                  {s} ({current.sizes[s]})
                </button>
              ))}
            </div>
          </div>
          <p className="note">{current.description}</p>
          {page.error && <ErrorNote error={page.error} />}
          {page.data && (
            <>
              <ExamplesTable examples={page.data.examples} label={`${current.name} ${split} examples`} />
              <Pager offset={offset} total={page.data.total} onChange={setOffset} />
            </>
          )}
          {page.loading && !page.data && <Loading label="Reading examples" />}
        </div>
      )}
    </Section>
  );
}

type ImportResult = ApiResponse<'datasets.import'>;

function ImportOutcome({ r }: { r: ImportResult }) {
  if (r.ok) {
    return (
      <div className="import-ok" role="status">
        <p>
          Imported {r.rows} {r.rows === 1 ? 'row' : 'rows'} as <strong>{r.dataset?.name}</strong> ({r.format}, {r.shape} shape).
        </p>
        {r.preview.length > 0 && <ExamplesTable examples={r.preview} label="Imported examples (first rows)" />}
      </div>
    );
  }
  return (
    <div className="import-errors">
      <div className="error-note" role="alert">
        {r.errors.length} {r.errors.length === 1 ? 'problem' : 'problems'} in {r.rows} {r.rows === 1 ? 'row' : 'rows'}
        {r.format ? ` (${r.format}${r.shape ? `, ${r.shape} shape` : ''})` : ''}; nothing was imported. Fix the rows below and import the file again.
      </div>
      <table className="table" aria-label="Row errors">
        <thead>
          <tr>
            <th scope="col" className="num">Line</th>
            <th scope="col">Column</th>
            <th scope="col">Problem</th>
          </tr>
        </thead>
        <tbody>
          {r.errors.map((e, i) => (
            <tr key={i}>
              <td className="num">{e.line}</td>
              <td>{e.column ?? '–'}</td>
              <td>{e.problem}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function DatasetImport({ onImported }: { onImported: () => void }) {
  const run = useAction('datasets.import');
  const [shape, setShape] = useState<Shape>('auto');
  const [trigger, setTrigger] = useState(0);
  const [fileName, setFileName] = useState<string>();
  const desktop = api().transport.kind === 'ipc';
  useCommand('openDataset', () => {
    if (desktop) setTrigger((t) => t + 1);
    else document.getElementById('dataset-file')?.focus();
  });
  const done = (r: ImportResult | undefined) => {
    if (r?.ok) onImported();
  };
  const fromFile = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (!file) return;
    setFileName(file.name);
    done(await run.run({ text: await file.text(), name: file.name, shape }));
  };
  const fromPath = async (path: string) => {
    setFileName(path);
    done(await run.run({ path, shape }));
  };
  return (
    <Section title="Import a dataset">
      <p className="note">
        JSONL, CSV or a JSON array, in one of these shapes: completion (prompt, completion, wrong), instruction (instruction, input, output), TruthfulQA (Question, Best Answer, Correct Answers, Incorrect Answers), counterfactual
        (base, source, base_label, source_label) or Subspace's own examples.
      </p>
      <div className="import-controls">
        <label>
          Shape{' '}
          <select value={shape} onChange={(e) => setShape(e.target.value as Shape)} aria-label="Dataset shape">
            {SHAPES.map((s) => (
              <option key={s} value={s}>
                {s === 'auto' ? 'detect from the columns' : s}
              </option>
            ))}
          </select>
        </label>
        <label className="file-input">
          Upload a file{' '}
          <input id="dataset-file" type="file" accept=".csv,.jsonl,.ndjson,.json" onChange={fromFile} disabled={run.loading} aria-label="Dataset file" />
        </label>
        <PathPicker kind="file" label={desktop ? 'Open dataset…' : 'or a path on this machine'} extensions={['csv', 'jsonl', 'ndjson', 'json']} busy={run.loading} onPick={fromPath} trigger={trigger} />
      </div>
      {run.loading && <Loading label={`Checking ${fileName ?? 'the file'}`} />}
      {run.error && <ErrorNote title="The import failed" error={run.error} />}
      {run.data && !run.loading && <ImportOutcome r={run.data} />}
    </Section>
  );
}

function DatasetList({ version }: { version: number }) {
  const list = useApi('datasets.list', {});
  const [selected, setSelected] = useState<string>();
  const [offset, setOffset] = useState(0);
  const imported = (list.data?.datasets ?? []).filter((d) => d.source === 'imported');
  const current = imported.find((d) => d.id === selected);
  const page = useApi('datasets.examples', current ? { datasetId: current.id, offset, limit: PAGE } : null);
  // An import finished: list again.
  const { reload } = list;
  useEffect(() => {
    if (version > 0) reload();
  }, [version, reload]);
  return (
    <Section title="Imported datasets">
      {list.error && <ErrorNote error={list.error} />}
      {list.data && imported.length === 0 && <p className="note">None yet.</p>}
      {imported.length > 0 && (
        <table className="table selectable" aria-label="Imported datasets">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col" className="num">Rows</th>
              <th scope="col">Imported</th>
              <th scope="col">Content hash</th>
            </tr>
          </thead>
          <tbody>
            {imported.map((d) => (
              <tr
                key={d.id}
                data-dataset={d.name}
                aria-selected={d.id === selected}
                className={d.id === selected ? 'selected' : undefined}
                onClick={() => {
                  setSelected(d.id);
                  setOffset(0);
                }}
              >
                <th scope="row">
                  <button type="button" className="link">
                    {d.name}
                  </button>
                </th>
                <td className="num">{d.rowCount}</td>
                <td>{new Date(d.createdAt).toLocaleString()}</td>
                <td className="mono" title={d.contentHash}>
                  {d.contentHash.slice(0, 12)}…
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {current && page.data && (
        <>
          <ExamplesTable examples={page.data.examples} label={`${current.name} examples`} />
          <Pager offset={offset} total={page.data.total} onChange={setOffset} />
        </>
      )}
      {page.error && <ErrorNote error={page.error} />}
    </Section>
  );
}

function DataView() {
  const [version, setVersion] = useState(0);
  return (
    <div className="view-data">
      <DatasetImport onImported={() => setVersion((v) => v + 1)} />
      <DatasetList version={version} />
      <TaskBrowser />
    </div>
  );
}

export const view: ViewDefinition = {
  id: 'data',
  title: 'Data',
  description: 'Built-in tasks and their examples; import your own datasets',
  component: DataView,
};
