/**
 * Regenerates docs/results/patching.md: how far attribution patching's ranking follows exact
 * activation patching on the demo models, for every built-in task whose examples have sources.
 * Per task × model: Spearman ρ between the attribution estimates and the exact values over all
 * heads (denoising and noising) and over the residual stream (layers × roles), the overlap of the
 * top 5 heads, and the heads with the largest exact effect.
 *
 *   npx tsx scripts/patching-results.ts [--n 32]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../src-main/engine/backend/index.js';
import { openModel } from '../src-main/engine/open-model.js';
import { flatValues, patchSweepPairs, preparePairs, spearman, type SweepOptions, type SweepResult } from '../src-main/engine/patching/index.js';
import { listTasks, loadTask } from '../src-main/engine/tasks/registry.js';

const MODELS = ['demo-gpt2', 'demo-llama'];
const TOP = 5;
/** Below this gap between clean and corrupt mean logit differences, normalised effects are unstable. */
const WEAK = 2;

interface Cell {
  model: string;
  task: string;
  n: number;
  clean: number;
  corrupt: number;
  rhoHeads: number;
  rhoHeadsNoise: number;
  rhoResid: number;
  overlap: number;
  top: { label: string; effect: number }[];
  exactMs: number;
  attributionMs: number;
}

/** Heads as (label, effect = patched − unpatched), largest |effect| first. */
function rankedHeads(r: SweepResult): { label: string; effect: number }[] {
  const out: { label: string; effect: number }[] = [];
  r.layers.forEach((l, i) => r.heads!.forEach((h, j) => out.push({ label: `L${l}H${h}`, effect: r.values[i][j] - r.unpatched })));
  return out.sort((a, b) => Math.abs(b.effect) - Math.abs(a.effect));
}

function pair(run: (o: SweepOptions) => SweepResult, o: SweepOptions): { exact: SweepResult; attribution: SweepResult; rho: number } {
  const exact = run({ ...o, method: 'exact' });
  const attribution = run({ ...o, method: 'attribution' });
  return { exact, attribution, rho: spearman(flatValues(exact.values), flatValues(attribution.values)) };
}

async function main(): Promise<void> {
  const nArg = process.argv.indexOf('--n');
  const n = nArg > 0 ? Number(process.argv[nArg + 1]) : 32;
  const report = await initBackend();
  const tasks = [];
  for (const t of await listTasks()) {
    const task = await loadTask(t.name);
    if (task.splits.test.length > 0 && task.splits.test.every((e) => e.source)) tasks.push(task);
  }
  const cells: Cell[] = [];
  for (const name of MODELS) {
    const m = await openModel(name);
    for (const task of tasks) {
      const pairs = preparePairs(m.tokenizer!, task.splits.test.slice(0, n), { taskName: task.manifest.name });
      const run = (o: SweepOptions) => patchSweepPairs(m.model, pairs, { taskName: task.manifest.name, taskRoles: task.manifest.roles, metric: 'normalised', ...o });
      const heads = pair(run, { kind: 'heads' });
      const noise = pair(run, { kind: 'heads', direction: 'noise' });
      const resid = pair(run, { kind: 'resid' });
      const exactTop = rankedHeads(heads.exact);
      const attrTop = new Set(rankedHeads(heads.attribution).slice(0, TOP).map((h) => h.label));
      const cell: Cell = {
        model: name,
        task: task.manifest.name,
        n: pairs.length,
        clean: heads.exact.clean,
        corrupt: heads.exact.corrupt,
        rhoHeads: heads.rho,
        rhoHeadsNoise: noise.rho,
        rhoResid: resid.rho,
        overlap: exactTop.slice(0, TOP).filter((h) => attrTop.has(h.label)).length / TOP,
        top: exactTop.slice(0, 3),
        exactMs: heads.exact.stats.ms,
        attributionMs: heads.attribution.stats.ms,
      };
      // The normalised metric's clean and corrupt values are 1 and 0; report the logit differences behind them.
      const ld = run({ kind: 'heads', method: 'attribution', metric: 'logit-diff' });
      cell.clean = ld.clean;
      cell.corrupt = ld.corrupt;
      console.log(`${name} ${cell.task}: ρ heads ${cell.rhoHeads.toFixed(2)} (noise ${cell.rhoHeadsNoise.toFixed(2)}), resid ${cell.rhoResid.toFixed(2)}, top-${TOP} overlap ${cell.overlap}`);
      cells.push(cell);
    }
    m.model.dispose();
  }

  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');
  const median = (xs: number[]) => {
    const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
    return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
  };
  const min = (xs: number[]) => Math.min(...xs.filter(Number.isFinite));
  const taskNames = tasks.map((t) => t.manifest.name);
  const weak = (c: Cell) => Math.abs(c.clean - c.corrupt) < WEAK;
  const at = (model: string, task: string) => cells.find((c) => c.model === model && c.task === task)!;
  const rhoTable = (pick: (c: Cell) => number) => [
    `| task | ${MODELS.join(' | ')} |`,
    `|---|${MODELS.map(() => '---').join('|')}|`,
    ...taskNames.map((t) => `| ${t} | ${MODELS.map((mn) => f(pick(at(mn, t)))).join(' | ')} |`),
  ];
  const heads = cells.map((c) => c.rhoHeads);
  const noise = cells.map((c) => c.rhoHeadsNoise);
  const resid = cells.map((c) => c.rhoResid);
  const speed = median(cells.map((c) => c.exactMs / c.attributionMs));

  const text = [
    '# Attribution patching against exact patching',
    '',
    `Produced by \`npx tsx scripts/patching-results.ts\` on the ${report.backend} backend, with the first ${n} test pairs of every`,
    'built-in task whose examples have a source prompt (the clean run is the example, the corrupt run its source).',
    'Metric: normalised logit difference, (LD − LD_corrupt) / (LD_clean − LD_corrupt), LD = logit(clean answer) − logit(corrupt answer).',
    'Exact values come from the batched sweep (`--method exact`, equal to one forward per patch); attribution estimates',
    'every patch from two forwards and one backward (`--method attribution`). ρ is Spearman\'s rank correlation of the two',
    'over all cells of the sweep: every (layer, head) of head outputs patched at all positions, or every (layer, role) of',
    'the residual stream (block_output).',
    '',
    '## Heads, denoising (clean head outputs into the corrupt run): Spearman ρ',
    '',
    ...rhoTable((c) => c.rhoHeads),
    '',
    '## Heads, noising (corrupt head outputs into the clean run): Spearman ρ',
    '',
    ...rhoTable((c) => c.rhoHeadsNoise),
    '',
    '## Residual stream, denoising, layers × roles: Spearman ρ',
    '',
    ...rhoTable((c) => c.rhoResid),
    '',
    `## Top heads by exact effect (denoising), and how many of the exact top ${TOP} attribution also puts in its top ${TOP}`,
    '',
    'Effect = normalised value of the patched run minus that of the unpatched corrupt run: 1.00 means the head alone',
    'restores the clean logit difference.',
    '',
    `| model | task | pairs | LD clean | LD corrupt | top heads (effect) | top-${TOP} overlap |`,
    '|---|---|---|---|---|---|---|',
    ...cells.map(
      (c) =>
        `| ${c.model} | ${c.task}${weak(c) ? ' †' : ''} | ${c.n} | ${f(c.clean)} | ${f(c.corrupt)} | ${c.top.map((h) => `${h.label} (${h.effect >= 0 ? '+' : ''}${f(h.effect)})`).join(', ')} | ${Math.round(c.overlap * TOP)} of ${TOP} |`,
    ),
    '',
    ...(cells.some(weak)
      ? [
          `† The clean and corrupt runs differ by less than ${WEAK} in mean logit difference: the model barely tells the two`,
          'answers apart on this task (see assets/models/README.md), so the normalised effects divide by a small number and',
          'are large and noisy; read the ranking, not the size.',
          '',
        ]
      : []),
    '## When to trust attribution',
    '',
    `Over the ${cells.length} task × model cases, ρ for heads is ${f(median(heads))} at the median (lowest ${f(min(heads))}) when denoising and`,
    `${f(median(noise))} (lowest ${f(min(noise))}) when noising; for the residual stream it is ${f(median(resid))} (lowest ${f(min(resid))}).`,
    `On these models attribution took 1/${speed.toFixed(0)} of the exact batched head sweep's time (median).`,
    ...(median(heads) >= median(resid) + 0.05
      ? [
          'Head outputs enter the residual stream through one linear map, so a first-order estimate of swapping one head tends',
          'to hold; a residual-stream patch replaces the whole stream at a position, which moves every later layer norm and',
          'attention pattern, where first order is a poor guide.',
        ]
      : [
          `Here the residual-stream ranking agrees about as well as the head ranking (median ρ ${f(median(resid))} against ${f(median(heads))}), but a`,
          'residual-stream patch replaces the whole stream at a position, which moves every later layer norm and attention',
          'pattern: first order can rank such patches and still misjudge their size.',
        ]),
    'Use attribution to screen heads, then confirm the ones it ranks high with `subspace patch --method exact`; do not',
    'read residual-stream attribution values as effects. Where ρ above is low for a task, screen that task exactly.',
    '',
  ].join('\n');
  mkdirSync(join('docs', 'results'), { recursive: true });
  writeFileSync(join('docs', 'results', 'patching.md'), text);
  console.log('wrote docs/results/patching.md');
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
