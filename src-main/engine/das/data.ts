/**
 * DAS training data: (base, source) pairs from a task whose examples carry a source prompt and,
 * per causal variable, the counterfactual answer of the task's causal model (the answer the base
 * input should give when that variable takes its value from the source).
 */
import { SubspaceError } from '../errors.js';
import type { SubspaceTokenizer } from '../io/tokenizer.js';
import { BUILTIN_ROLES, encodeWithRoles } from '../tasks/roles.js';
import type { TaskExample } from '../tasks/schema.js';

/** What DAS needs to know of a task: its name, causal variables, roles and examples. */
export interface DasTask {
  name: string;
  variables: readonly string[];
  roles: readonly string[];
  train: TaskExample[];
  test: TaskExample[];
}

/** A loaded task (`tasks/registry.ts` `loadTask`) as DAS sees it. */
export function dasTaskFrom(task: { manifest: { name: string; variables: string[]; roles: string[] }; splits: { train: TaskExample[]; test: TaskExample[] } }): DasTask {
  return { name: task.manifest.name, variables: task.manifest.variables, roles: task.manifest.roles, train: task.splits.train, test: task.splits.test };
}

/** One (base, source) pair, tokenised, with every role's position on both sides. */
export interface DasItem {
  id: string;
  base: number[];
  source: number[];
  basePositions: Record<string, number>;
  sourcePositions: Record<string, number>;
  /** The counterfactual label's tokens. */
  label: number[];
  /** The task's candidate answers (completion, wrong answers, and the label), tokenised, distinct. */
  candidates: number[][];
  /** Index of the label among the candidates. */
  labelIndex: number;
  /** Index of the base input's own correct answer among the candidates. */
  baseIndex: number;
}

/** Refuses a variable the task does not have, naming the ones it has. */
export function checkVariable(task: Pick<DasTask, 'name' | 'variables'>, variable: string): void {
  if (!task.variables.includes(variable)) {
    const has = task.variables.length ? task.variables.join(', ') : 'none';
    throw new SubspaceError('BAD_ARGUMENT', `task '${task.name}' has no causal variable '${variable}'; its causal variables are: ${has}`, 'variable');
  }
}

/** Refuses a position role the task does not define, naming the ones it does (first and last always). */
export function checkRole(task: Pick<DasTask, 'name' | 'roles'>, role: string): void {
  const known = [...task.roles, ...BUILTIN_ROLES];
  if (!known.includes(role)) {
    throw new SubspaceError('BAD_ARGUMENT', `position role '${role}' is not defined by task '${task.name}'; it defines: ${known.join(', ')}`, 'position');
  }
}

/**
 * Tokenises the pairs of one split for one variable. Every example must have a source prompt and
 * a counterfactual label for the variable, and every requested role on both sides.
 */
export function prepareDasItems(tok: SubspaceTokenizer, examples: TaskExample[], variable: string, roles: readonly string[], what = 'the task'): DasItem[] {
  if (examples.length === 0) throw new SubspaceError('BAD_ARGUMENT', `${what} has no examples`, 'task');
  const enc = new Map<string, number[]>();
  const answer = (text: string) => {
    let ids = enc.get(text);
    if (!ids) {
      ids = tok.encode(text, { addSpecialTokens: false });
      if (ids.length === 0) throw new SubspaceError('BAD_ARGUMENT', `answer ${JSON.stringify(text)} encodes to no tokens`, 'task');
      enc.set(text, ids);
    }
    return ids;
  };
  return examples.map((ex) => {
    if (!ex.source) throw new SubspaceError('BAD_ARGUMENT', `example ${ex.id} of ${what} has no source prompt: DAS needs (base, source) pairs`, 'source');
    const label = ex.counterfactual?.[variable];
    if (label === undefined) throw new SubspaceError('BAD_ARGUMENT', `example ${ex.id} of ${what} has no counterfactual label for variable '${variable}'`, 'counterfactual');
    const { ids: base, roles: basePositions } = encodeWithRoles(tok, ex.prompt, ex.roles);
    const { ids: source, roles: sourcePositions } = encodeWithRoles(tok, ex.source.prompt, ex.sourceRoles);
    for (const role of roles) {
      if (basePositions[role] === undefined) throw new SubspaceError('BAD_ARGUMENT', `example ${ex.id} of ${what} does not mark role '${role}' in its prompt`, 'roles');
      if (sourcePositions[role] === undefined) throw new SubspaceError('BAD_ARGUMENT', `example ${ex.id} of ${what} does not mark role '${role}' in its source prompt`, 'sourceRoles');
    }
    const texts: string[] = [];
    for (const t of [ex.completion, ...ex.wrong, label]) if (!texts.includes(t)) texts.push(t);
    return {
      id: ex.id,
      base,
      source,
      basePositions,
      sourcePositions,
      label: answer(label),
      candidates: texts.map(answer),
      labelIndex: texts.indexOf(label),
      baseIndex: 0,
    };
  });
}
