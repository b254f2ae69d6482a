/**
 * The task a LoFIT job gets: a built-in task by name, or (to explore quickly) an inline task made
 * of the first N examples of each of its splits, named so a later re-run can rebuild the same one.
 */
import type { ApiRequest } from '../../../src-main/api/contract.js';
import { api } from '../../api/client.js';
import { inlineTaskName, parseTaskKey } from './data.js';

type JobTask = ApiRequest<'jobs.start'>['task'];

async function firstExamples(task: string, split: 'train' | 'dev' | 'test', limit: number) {
  const r = await api().call('tasks.examples', { task, split, limit: Math.min(limit, 500) });
  return r.examples;
}

export async function buildTask(task: string, limit: number | undefined, multipleChoice: boolean): Promise<JobTask> {
  if (limit === undefined) return task;
  const [examples, dev, test] = await Promise.all([firstExamples(task, 'train', limit), firstExamples(task, 'dev', limit), firstExamples(task, 'test', limit)]);
  return { name: inlineTaskName(task, limit), examples, dev, test, multipleChoice };
}

/** The same task again, from the key a run's record holds. */
export function rebuildTask(key: string, multipleChoice: boolean): Promise<JobTask> {
  const { task, limit } = parseTaskKey(key);
  return buildTask(task, limit, multipleChoice);
}
