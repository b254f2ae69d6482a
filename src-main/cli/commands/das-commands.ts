import type { Command } from 'commander';
import { SubspaceError } from '../../engine/errors.js';
import { openModel } from '../../engine/open-model.js';
import { loadTask } from '../../engine/tasks/registry.js';
import { DAS_CACHE_MODES, DAS_DEFAULTS, DAS_VARIANTS, dasTaskFrom, resolveDasConfig, saveDas, searchDas, trainDas, type DasCacheMode, type DasSearchResult, type DasSummary } from '../../engine/das/index.js';
import { num } from '../args.js';
import { printJson } from '../output.js';
import { startBackend } from '../backend.js';
import { progressPrinter } from '../progress.js';
import { RunRecorder } from '../record.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function layerList(text: string): number[] {
  const parts = text.split(',').map((x) => x.trim());
  if (parts.some((x) => !/^\d+$/.test(x))) throw new SubspaceError('BAD_ARGUMENT', `--layers must be a comma-separated list of whole numbers, e.g. 0,1,2 (got '${text}')`, 'layers');
  return parts.map(Number);
}

function roleList(text: string): string[] {
  const parts = text.split(',').map((x) => x.trim());
  if (parts.some((x) => x === '')) throw new SubspaceError('BAD_ARGUMENT', `--positions must be a comma-separated list of task roles, e.g. W,X,END (got '${text}')`, 'positions');
  return parts;
}

/** The IIA heatmap as a text table, the best cell marked. */
export function formatHeatmap(r: Pick<DasSearchResult, 'layers' | 'positions' | 'iia' | 'best'>): string {
  const head = ['layer', ...r.positions.map((p) => `${p} `)];
  const rows = r.layers.map((l, i) => [`L${l}`, ...r.iia[i].map((v, j) => `${pct(v)}${l === r.best.layer && r.positions[j] === r.best.position ? '*' : ' '}`)]);
  const widths = head.map((_, i) => Math.max(...[head, ...rows].map((row) => row[i].length)));
  return [head, ...rows].map((row) => row.map((c, i) => c.padStart(widths[i] + (i ? 1 : 0))).join(' ')).join('\n');
}

export function registerDasCommands(program: Command): void {
  program
    .command('das')
    .description('distributed alignment search: align a causal variable of a task with a learned subspace at a site (or search layers × positions)')
    .requiredOption('--model <ref>', 'folder, built-in name or cached hub name')
    .requiredOption('--task <name>', 'built-in task with counterfactual pairs (e.g. hierarchical-equality)')
    .requiredOption('--variable <name>', 'the causal variable (e.g. "w=x")')
    .requiredOption('--out <path>', 'output folder (native format); with --search, a JSON file')
    .option('--search', 'train at every layer × position and print the IIA heatmap')
    .option('--layer <n>', 'layer of the site', num('layer', { int: true, min: 0 }))
    .option('--position <role>', 'task role of the site (e.g. W, X, Y, Z, END, first, last)')
    .option('--layers <list>', 'with --search: comma-separated layers (default: all)')
    .option('--positions <list>', "with --search: comma-separated roles (default: the task's roles)")
    .option('--component <site>', 'block_output, block_input, attention_output, mlp_output, attention_input, mlp_input, mlp_hidden, head_output.<h>', DAS_DEFAULTS.component)
    .option('--variant <v>', DAS_VARIANTS.join(', '), DAS_DEFAULTS.variant)
    .option('--dim <k>', 'subspace dimension (boundless: the initial width)', num('dim', { int: true, min: 1 }), DAS_DEFAULTS.dim)
    .option('--epochs <n>', 'epochs', num('epochs', { int: true, min: 1 }), DAS_DEFAULTS.epochs)
    .option('--lr <x>', 'peak learning rate of the rotation', num('lr', { min: 0 }), DAS_DEFAULTS.lr)
    .option('--batch <b>', 'batch size', num('batch', { int: true, min: 1 }), DAS_DEFAULTS.batchSize)
    .option('--seed <s>', 'seed', num('seed', { int: true, min: 0 }), DAS_DEFAULTS.seed)
    .option('--n-train <n>', 'use the first n training pairs (0: all)', num('n-train', { int: true, min: 0 }), 0)
    .option('--n-test <n>', 'use the first n test pairs (0: all)', num('n-test', { int: true, min: 0 }), 0)
    .option('--boundary-lr <x>', 'boundless: learning rate of the boundary', num('boundary-lr', { min: 0 }), DAS_DEFAULTS.boundaryLr)
    .option('--cache <mode>', `reuse frozen base computation: ${DAS_CACHE_MODES.join(', ')}`, DAS_DEFAULTS.cache)
    .option('--json', 'machine-readable summary')
    .action(async (o: Record<string, any>) => {
      const backend = await startBackend(program);
      const m = await openModel(o.model);
      const loaded = await loadTask(o.task);
      const task = dasTaskFrom(loaded);
      const common = {
        variable: String(o.variable),
        component: String(o.component),
        variant: o.variant,
        dim: o.dim as number,
        epochs: o.epochs as number,
        lr: o.lr as number,
        batchSize: o.batch as number,
        seed: o.seed as number,
        nTrain: o.nTrain as number,
        nTest: o.nTest as number,
        boundaryLr: o.boundaryLr as number,
        cache: o.cache as DasCacheMode,
      };
      const listen = (label: string) => (o.json ? undefined : progressPrinter(label));
      if (o.search) {
        const cfg = { ...common, layers: o.layers !== undefined ? layerList(o.layers) : undefined, positions: o.positions !== undefined ? roleList(o.positions) : undefined };
        // Bad settings are refused before a run is recorded.
        for (const layer of cfg.layers ?? [0]) for (const position of cfg.positions ?? task.roles) resolveDasConfig(m.spec, task, { ...common, layer, position });
        const rec = new RunRecorder('das', `DAS search ${cfg.variable} ${task.name} on ${m.name}`, { ...cfg, search: true }, m, backend.backend, task.name);
        const result = await rec.run(() => {
          const r = searchDas(m.model, m.tokenizer!, task, cfg, { onProgress: rec.listener(listen('das search')) });
          rec.writeJson(o.out, { model: m.name, backend: backend.backend, ...r }, 'das-search');
          return r;
        });
        if (o.json) printJson({ run: rec.runId, out: o.out, model: m.name, backend: backend.backend, ...result });
        else {
          console.log(`IIA for ${result.variable} (${result.variant}, dim ${result.dim}, ${result.component}) on ${task.name} test (${result.testPairs} pairs; no intervention: ${pct(result.baseline)}):`);
          console.log(formatHeatmap(result));
          console.log(`best site: layer ${result.best.layer}, position ${result.best.position}: IIA ${pct(result.best.iia)} (${pct(result.best.changedIia)} of the ${result.changedPairs} pairs whose label changes); run ${rec.runId}; saved to ${o.out}`);
        }
        return;
      }
      if (o.layer === undefined) throw new SubspaceError('BAD_ARGUMENT', '--layer is required (or pass --search to try every layer)', 'layer');
      if (o.position === undefined) throw new SubspaceError('BAD_ARGUMENT', `--position is required: a role of '${task.name}' (${[...task.roles, 'first', 'last'].join(', ')})`, 'position');
      const cfg = { ...common, layer: o.layer as number, position: String(o.position) };
      resolveDasConfig(m.spec, task, cfg);
      const rec = new RunRecorder('das', `DAS ${cfg.variant} ${cfg.variable} ${task.name} on ${m.name}`, cfg, m, backend.backend, task.name);
      const summary: DasSummary = await rec.run(() => {
        const r = trainDas(m.model, m.tokenizer!, task, cfg, { onProgress: rec.listener(listen('das')) });
        try {
          saveDas(o.out, m.name, m.spec, r.summary, r.intervention);
          rec.artifacts(o.out, 'das');
          return r.summary;
        } finally {
          r.intervention.dispose();
        }
      });
      if (o.json) printJson({ run: rec.runId, out: o.out, model: m.name, backend: backend.backend, ...summary });
      else {
        const s = summary;
        console.log(`IIA for ${s.variable} at layer ${s.site.layer} ${s.site.component}, position ${s.site.position} (${s.variant}, dim ${s.dim}): ${pct(s.test.iia)} on ${s.test.n} test pairs (no intervention: ${pct(s.test.baseline)}; ${pct(s.test.changed.iia)} of the ${s.test.changed.n} pairs whose label changes)`);
        if (s.boundary) console.log(`learned boundary: ${s.boundary.boundary.toFixed(3)} of ${s.site.width} dims = ${s.boundary.width.toFixed(1)} dims (${s.boundary.maskedDims} above ½ at temperature ${s.boundary.temperature})`);
        console.log(`${s.parameters} trained parameters; run ${rec.runId}; saved to ${o.out}`);
      }
    });
}
