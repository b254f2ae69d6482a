import { resolve } from 'node:path';
import type { Command } from 'commander';
import { SubspaceError } from '../../engine/errors.js';
import { openModel } from '../../engine/open-model.js';
import { loadTask } from '../../engine/tasks/registry.js';
import { SPLITS, type Split } from '../../engine/tasks/schema.js';
import { PATCH_DIRECTIONS, PATCH_METRICS, SWEEP_KINDS, SWEEP_METHODS, patchSweepPairs, preparePairs, type PatchDirection, type PatchMetric, type SweepKind, type SweepMethod, type SweepOptions, type SweepResult } from '../../engine/patching/index.js';
import { num } from '../args.js';
import { printJson } from '../output.js';
import { startBackend } from '../backend.js';
import { progressPrinter } from '../progress.js';
import { RunRecorder } from '../record.js';

function oneOf<T extends string>(option: string, allowed: readonly T[], value: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw new SubspaceError('BAD_ARGUMENT', `--${option} must be one of ${allowed.join(', ')} (got '${value}')`, option);
  return value as T;
}

function intList(option: string, text: string): number[] {
  const parts = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new SubspaceError('BAD_ARGUMENT', `--${option} is empty`, option);
  return parts.map((p) => {
    const v = Number(p);
    if (!Number.isInteger(v)) throw new SubspaceError('BAD_ARGUMENT', `--${option} must be comma-separated whole numbers (got '${text}')`, option);
    return v;
  });
}

/** The value matrix as text: rows are layers, columns heads or positions. */
function formatValues(r: SweepResult): string {
  const cols = r.kind === 'heads' ? r.heads!.map((h) => `h${h}`) : r.positions!;
  const rows: string[][] = [];
  if (r.kind === 'heads' && r.perPosition) {
    rows.push(['layer.head', ...r.positions!]);
    r.layers.forEach((l, i) => r.heads!.forEach((h, j) => rows.push([`L${l}H${h}`, ...(r.values[i][j] as number[]).map(fmt)])));
  } else {
    rows.push(['layer', ...cols]);
    r.layers.forEach((l, i) => rows.push([`L${l}`, ...(r.values[i] as number[]).map(fmt)]));
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map((row) => row.map((c, i) => c.padStart(widths[i])).join(' ')).join('\n');
}

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toFixed(3) : '—';
}

/** The patches with the largest effect (distance from the unpatched run), labelled. */
export function topPatches(r: SweepResult, k: number): { label: string; value: number; effect: number }[] {
  const out: { label: string; value: number; effect: number }[] = [];
  r.layers.forEach((l, i) => {
    if (r.kind === 'heads') {
      r.heads!.forEach((h, j) => {
        if (r.perPosition) r.positions!.forEach((p, q) => out.push({ label: `L${l}H${h}@${p}`, value: r.values[i][j][q], effect: 0 }));
        else out.push({ label: `L${l}H${h}`, value: r.values[i][j], effect: 0 });
      });
    } else r.positions!.forEach((p, q) => out.push({ label: `L${l}@${p}`, value: r.values[i][q], effect: 0 }));
  });
  for (const o of out) o.effect = o.value - r.unpatched;
  return out.filter((o) => Number.isFinite(o.effect)).sort((a, b) => Math.abs(b.effect) - Math.abs(a.effect)).slice(0, k);
}

export function registerPatchCommands(program: Command): void {
  program
    .command('patch')
    .description('activation patching: sweep the residual stream, attention, MLP or head outputs between clean and corrupt runs of a task')
    .requiredOption('--model <ref>', 'folder, built-in name or cached hub name')
    .requiredOption('--task <name>', 'built-in task whose examples have source prompts')
    .requiredOption('--sweep <kind>', `what to patch: ${SWEEP_KINDS.join(', ')}`)
    .requiredOption('--out <file.json>', 'where to write the result')
    .option('--per-position', 'heads sweep: one value per (layer, head, position)')
    .option('--direction <d>', 'denoise (clean into corrupt) or noise (corrupt into clean)', 'denoise')
    .option('--method <m>', `${SWEEP_METHODS.join(', ')}`, 'exact')
    .option('--metric <m>', `${PATCH_METRICS.join(', ')}`, 'logit-diff')
    .option('--n <count>', 'pairs to patch (the first n of the split)', num('n', { int: true, min: 1 }), 32)
    .option('--split <split>', 'train, dev or test', 'test')
    .option('--positions <list>', "position axis: 'index' or comma-separated roles (default: the task's roles)")
    .option('--resid-site <site>', 'residual-stream site of the resid sweep: block_output or block_input', 'block_output')
    .option('--layers <list>', 'comma-separated layers (default all)')
    .option('--heads <list>', 'comma-separated heads (default all)')
    .option('--variable <name>', 'causal variable: prob and accuracy target its counterfactual label (direction noise)')
    .option('--memory <MiB>', 'activation budget of one batched forward', num('memory', { min: 1 }), 512)
    .option('--json', 'machine-readable output')
    .action(async (o: Record<string, any>) => {
      const backend = await startBackend(program);
      const kind = oneOf<SweepKind>('sweep', SWEEP_KINDS, o.sweep);
      const direction = oneOf<PatchDirection>('direction', PATCH_DIRECTIONS, o.direction);
      const method = oneOf<SweepMethod>('method', SWEEP_METHODS, o.method);
      const metric = oneOf<PatchMetric>('metric', PATCH_METRICS, o.metric);
      const split = oneOf<Split>('split', SPLITS, o.split);
      const residSite = oneOf<'block_output' | 'block_input'>('resid-site', ['block_output', 'block_input'], o.residSite);
      if (o.perPosition && kind !== 'heads') throw new SubspaceError('BAD_ARGUMENT', `--per-position applies to --sweep heads (${kind} is always per position)`, 'per-position');
      const positions = o.positions === undefined ? undefined : o.positions === 'index' ? 'index' : String(o.positions).split(',').map((s: string) => s.trim()).filter(Boolean);
      const m = await openModel(o.model);
      const task = await loadTask(o.task);
      const examples = task.splits[split].slice(0, o.n);
      const opts: SweepOptions = {
        kind,
        direction,
        method,
        metric,
        perPosition: o.perPosition === true,
        positions,
        residSite,
        layers: o.layers === undefined ? undefined : intList('layers', o.layers),
        heads: o.heads === undefined ? undefined : intList('heads', o.heads),
        variable: o.variable,
        taskName: task.manifest.name,
        taskRoles: task.manifest.roles,
        memoryMiB: o.memory,
      };
      // Refused before a run is recorded: examples without a source, an unknown variable.
      const pairs = preparePairs(m.tokenizer!, examples, { variable: o.variable, taskName: task.manifest.name });
      const { taskRoles: _roles, ...config } = opts;
      const out = resolve(o.out);
      const rec = new RunRecorder('patch', `patch ${kind} ${task.manifest.name} on ${m.name}`, { ...config, n: examples.length, split }, m, backend.backend, task.manifest.name);
      const summary = await rec.run(() => {
        const r = patchSweepPairs(m.model, pairs, opts, { onProgress: rec.listener(o.json ? undefined : progressPrinter(`patch ${kind}`)) });
        rec.metric(0, 'clean', r.clean);
        rec.metric(0, 'corrupt', r.corrupt);
        rec.metric(0, 'unpatched', r.unpatched);
        if (kind === 'heads' && !r.perPosition && r.layers.length === m.spec.nLayers && r.heads!.length === m.spec.nHeads) {
          rec.store.saveHeadScores(rec.runId, `patch-${method}-${metric}`, { layers: m.spec.nLayers, heads: m.spec.nHeads, values: (r.values as number[][]).flat() });
        }
        const doc = { run: rec.runId, model: m.name, task: task.manifest.name, split, backend: backend.backend, ...r };
        rec.writeJson(out, doc, 'patch');
        return doc;
      });
      if (o.json) printJson({ out, ...summary });
      else {
        const what = kind === 'heads' ? `head outputs${summary.perPosition ? ' per position' : ''}` : `${summary.site} per position`;
        console.log(`${method} ${direction} patching of ${what}, ${metric} over ${summary.n} ${summary.task} pairs (clean ${fmt(summary.clean)}, corrupt ${fmt(summary.corrupt)}, unpatched ${fmt(summary.unpatched)})`);
        console.log(formatValues(summary));
        console.log(`largest effects: ${topPatches(summary, 5).map((t) => `${t.label} ${t.effect >= 0 ? '+' : ''}${t.effect.toFixed(3)}`).join(', ')}`);
        for (const w of summary.warnings) console.log(`note: ${w}`);
        console.log(`run ${summary.run}; saved to ${out}`);
      }
    });
}
