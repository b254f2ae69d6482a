import { SubspaceError } from '../../errors.js';
import type { TaskManifest } from '../schema.js';
import { SPLITS, taskExampleSchema, taskManifestSchema } from '../schema.js';
import type { SplitSizes, TaskGenerator, TaskSplits } from './common.js';
import { factEditGenerator } from './fact-edit.js';
import { factRecallGenerator } from './fact-recall.js';
import { familyGenerator } from './family.js';
import { hierarchicalEqualityGenerator } from './hierarchical-equality.js';
import { inductionGenerator } from './induction.js';
import { ioiGenerator } from './ioi.js';
import { deriveSeed } from './rng.js';
import { truthfulGenerator } from './truthful.js';

export type { SplitSizes, TaskGenerator, TaskSplits } from './common.js';

/** The seed the committed assets/tasks were generated with. */
export const DEFAULT_TASK_SEED = 1234;

export const TASK_GENERATORS: readonly TaskGenerator[] = [
  ioiGenerator,
  hierarchicalEqualityGenerator,
  familyGenerator,
  factRecallGenerator,
  factEditGenerator,
  truthfulGenerator,
  inductionGenerator,
];

export const BUILTIN_TASK_NAMES: readonly string[] = TASK_GENERATORS.map((g) => g.name);

export function taskGenerator(name: string): TaskGenerator {
  const g = TASK_GENERATORS.find((t) => t.name === name);
  if (!g) {
    throw new SubspaceError('NOT_FOUND', `no built-in task generator '${name}' (known: ${BUILTIN_TASK_NAMES.join(', ')})`, name);
  }
  return g;
}

/**
 * Generates one task's splits. Each task draws from its own stream derived
 * from the suite seed and the task name, so tasks are independent.
 */
export function generateTask(name: string, seed = DEFAULT_TASK_SEED, sizes?: Partial<SplitSizes>): TaskSplits {
  const g = taskGenerator(name);
  return g.generate(deriveSeed(seed, g.name), sizes);
}

export function buildManifest(g: TaskGenerator, seed: number, splits: TaskSplits): TaskManifest {
  return taskManifestSchema.parse({
    name: g.name,
    title: g.title,
    description: g.description,
    kind: g.kind,
    variables: g.variables,
    roles: g.roles,
    seed,
    generator: `subspace-builtin/${g.name}@${g.version}`,
    sizes: { train: splits.train.length, dev: splits.dev.length, test: splits.test.length },
  });
}

/**
 * The files of one task folder, exactly as scripts/make-tasks.ts writes them:
 * manifest.json and one JSON example per line in train/dev/test.jsonl.
 */
export function renderTaskFiles(name: string, seed = DEFAULT_TASK_SEED): Record<string, string> {
  const g = taskGenerator(name);
  const splits = generateTask(name, seed);
  const files: Record<string, string> = { 'manifest.json': `${JSON.stringify(buildManifest(g, seed, splits), null, 2)}\n` };
  for (const split of SPLITS) {
    files[`${split}.jsonl`] = splits[split]
      .map((e) => `${JSON.stringify(taskExampleSchema.parse(e))}\n`)
      .join('');
  }
  return files;
}
