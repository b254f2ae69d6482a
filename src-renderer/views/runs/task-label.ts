/**
 * What the Runs view calls a run's task. Runs refer to a dataset id: `task-<name>` for a built-in
 * task, `inline-<hash>` for examples sent with the job, `import-<hash>` for an imported file.
 * The hash means nothing to a reader, so it goes in the tooltip and the label says what the task is.
 */
import type { DatasetInfo } from '../../../src-main/api/contract.js';

export type TaskDataset = Pick<DatasetInfo, 'id' | 'name'> & Partial<Pick<DatasetInfo, 'source' | 'rowCount' | 'contentHash'>>;

export interface TaskLabel {
  /** Short, readable: the task's name, or "inline (16 examples)". */
  text: string;
  /** The full identity, for the tooltip. */
  title: string;
}

const examples = (n: number) => `${n} example${n === 1 ? '' : 's'}`;

/** A name the job manager made up from the hash (an inline task sent without a name). */
const isGeneratedName = (d: TaskDataset) => d.name === d.id || /^(inline|import)-[0-9a-f]{6,}$/.test(d.name);

export function taskLabel(datasetId: string | null, dataset?: TaskDataset): TaskLabel {
  if (datasetId === null) return { text: '—', title: 'no task recorded' };
  if (datasetId.startsWith('task-')) {
    const name = dataset?.name ?? datasetId.slice('task-'.length);
    return { text: name, title: `built-in task ${name}` };
  }
  const kind = datasetId.startsWith('inline-') ? 'inline' : datasetId.startsWith('import-') ? 'imported' : 'dataset';
  const size = dataset?.rowCount ? examples(dataset.rowCount) : undefined;
  const title = [`${kind === 'inline' ? 'inline task' : kind === 'imported' ? 'imported dataset' : 'dataset'} ${datasetId}`, size].filter(Boolean).join(' · ');
  if (dataset && !isGeneratedName(dataset)) return { text: dataset.name, title: `${dataset.name}: ${title}` };
  return { text: size ? `${kind} (${size})` : `${kind} task`, title };
}

/**
 * Labels for a list of datasets (the task filter), each distinct: labels two datasets share get
 * the first characters of their hash, as `inline (16 examples) · 2f0549`.
 */
export function distinctTaskLabels(datasets: readonly TaskDataset[]): Map<string, TaskLabel> {
  const labels = new Map(datasets.map((d) => [d.id, taskLabel(d.id, d)]));
  const uses = new Map<string, number>();
  for (const l of labels.values()) uses.set(l.text, (uses.get(l.text) ?? 0) + 1);
  for (const [id, l] of labels) if ((uses.get(l.text) ?? 0) > 1) labels.set(id, { ...l, text: `${l.text} · ${id.replace(/^[a-z]+-/, '').slice(0, 6)}` });
  return labels;
}
