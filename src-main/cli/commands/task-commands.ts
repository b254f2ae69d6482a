import type { Command } from 'commander';
import { SubspaceError } from '../../engine/errors.js';
import { importDataset } from '../../engine/data/import.js';
import { evaluateExamples } from '../../engine/eval/evaluate.js';
import { loadReft } from '../../engine/methods/reft-artifact.js';
import { evaluateReft } from '../../engine/methods/reft.js';
import { openModel } from '../../engine/open-model.js';
import { listTasks, loadTask } from '../../engine/tasks/registry.js';
import { SPLITS, type Split, type TaskExample } from '../../engine/tasks/schema.js';
import { num } from '../args.js';
import { note, printJson, table } from '../output.js';
import { startBackend } from '../backend.js';

function parseSplit(s: string): Split {
  if (!(SPLITS as readonly string[]).includes(s)) throw new SubspaceError('BAD_ARGUMENT', `--split must be one of ${SPLITS.join(', ')} (got '${s}')`, 'split');
  return s as Split;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function registerTaskCommands(program: Command): void {
  const tasks = program
    .command('tasks')
    .description('list the built-in tasks with their sizes')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const list = await listTasks();
      if (o.json) {
        printJson(list.map((t) => ({ name: t.name, title: t.title, kind: t.kind, sizes: t.sizes, variables: t.variables, roles: t.roles, description: t.description })));
        return;
      }
      console.log(table([['task', 'kind', 'train', 'dev', 'test', 'variables'], ...list.map((t) => [t.name, t.kind, String(t.sizes.train), String(t.sizes.dev), String(t.sizes.test), t.variables.join(', ') || '-'])]));
    });

  tasks
    .command('show <name>')
    .description('print examples of a task')
    .option('--n <count>', 'how many', num('n', { int: true, min: 1 }), 5)
    .option('--split <split>', 'train, dev or test', 'train')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: { n: number; split: string; json?: boolean }) => {
      const t = await loadTask(name);
      const examples = t.splits[parseSplit(o.split)].slice(0, o.n);
      if (o.json) {
        printJson({ task: t.manifest.name, split: o.split, examples });
        return;
      }
      console.log(`${t.manifest.title}: ${t.manifest.description}`);
      for (const ex of examples) {
        console.log(`\n[${ex.id}] ${ex.prompt}⟨${ex.completion}⟩   wrong: ${ex.wrong.map((w) => JSON.stringify(w)).join(', ')}`);
        if (ex.source) console.log(`  source: ${ex.source.prompt}⟨${ex.source.completion}⟩`);
        if (ex.variables) console.log(`  variables: ${JSON.stringify(ex.variables)}${ex.counterfactual ? `  counterfactual: ${JSON.stringify(ex.counterfactual)}` : ''}`);
      }
    });

  program
    .command('eval')
    .description('accuracy, logit difference and probability of the correct answer on a task')
    .requiredOption('--model <ref>', 'folder, built-in name or cached hub name')
    .requiredOption('--task <name>', 'a built-in task name, or a dataset file (JSONL/CSV)')
    .option('--split <split>', 'train, dev or test', 'test')
    .option('--limit <n>', 'evaluate only the first n examples', num('limit', { int: true, min: 1 }))
    .option('--intervention <dir>', 'evaluate with a trained ReFT intervention applied')
    .option('--json', 'machine-readable output')
    .action(async (o: { model: string; task: string; split: string; limit?: number; intervention?: string; json?: boolean }) => {
      const backend = await startBackend(program);
      const split = parseSplit(o.split);
      const m = await openModel(o.model);
      let examples: TaskExample[];
      let multipleChoice = false;
      let taskName = o.task;
      if (/\.(jsonl|ndjson|csv|json)$/i.test(o.task)) {
        const r = await importDataset(o.task);
        if (!r.ok) throw new SubspaceError('BAD_FILE', `${o.task}: ${r.errors.length} bad rows; first: line ${r.errors[0].line}: ${r.errors[0].problem}`, o.task);
        examples = r.examples;
        multipleChoice = r.shape === 'truthfulqa';
      } else {
        const t = await loadTask(o.task);
        taskName = t.manifest.name;
        examples = t.splits[split];
        multipleChoice = t.manifest.kind === 'multiple-choice';
      }
      if (o.limit) examples = examples.slice(0, o.limit);
      if (examples.length === 0) throw new SubspaceError('BAD_ARGUMENT', `no examples to evaluate in ${o.task} (${split})`, 'task');
      const reft = o.intervention ? loadReft(o.intervention, m.spec) : undefined;
      const r = reft ? evaluateReft(m.model, m.tokenizer!, examples, reft.config, reft.placed, multipleChoice) : evaluateExamples(m.model, m.tokenizer!, examples, { multipleChoice });
      if (o.json) {
        printJson({ model: m.name, task: taskName, split, backend: backend.backend, intervention: o.intervention ?? null, ...r });
        return;
      }
      note(`${m.name} on ${taskName} (${split}, ${r.n} examples, ${backend.backend})`);
      console.log(`accuracy ${pct(r.accuracy)}  logit diff ${r.meanLogitDiff.toFixed(3)}  p(correct) ${r.meanProbCorrect.toFixed(3)}  prefers correct ${pct(r.preferCorrect)}`);
      if (r.mc2 !== undefined) console.log(`MC1 ${pct(r.preferCorrect)}  MC2 ${pct(r.mc2)}`);
    });

  program
    .command('dataset <file>')
    .description('check a dataset file (JSONL, CSV, JSON) and report every bad row')
    .option('--shape <shape>', 'auto, native, completion, instruction, truthfulqa or counterfactual', 'auto')
    .option('--json', 'machine-readable output')
    .action(async (file: string, o: { shape: string; json?: boolean }) => {
      const r = await importDataset(file, { shape: o.shape as never, countOnly: true });
      if (o.json) printJson(r.ok ? { ok: true, shape: r.shape, format: r.format, rows: r.rows, sha256: r.sha256 } : r);
      else if (r.ok) console.log(`${file}: ${r.rows} rows, ${r.format}, shape ${r.shape}, sha256 ${r.sha256}`);
      else for (const e of r.errors) console.log(`line ${e.line}${e.column ? ` (${e.column})` : ''}: ${e.problem}`);
      if (!r.ok) process.exitCode = 2;
    });
}
