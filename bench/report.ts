/**
 * The generated part of BENCHMARKS.md: the last full run's tables, between two
 * marker lines. Everything outside the markers is kept as written (the notes on
 * what was changed, before and after, and what remains behind).
 */
import type { BenchResults } from './run.js';

const BEGIN = '<!-- bench:generated:begin (npm run bench rewrites this part) -->';
const END = '<!-- bench:generated:end -->';

type Any = Record<string, any>;

const n0 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '—' : Math.round(x).toLocaleString('en-US'));
const n1 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(1));
const r2 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '—' : `${x.toFixed(2)}×`);
const mib = (b: number | undefined) => (b === undefined ? '—' : `${Math.round(b / 2 ** 20)}`);

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function generatedSection(r: BenchResults): string {
  const out: string[] = [];
  const peer = 'absent' in r.peer ? `not run (${r.peer.absent})` : `PyTorch ${r.peer.torch}, ${r.peer.threads} threads, BLAS ${r.peer.blas.split(', ').pop()}`;
  out.push(`Run of ${r.date.slice(0, 10)} (${r.date.slice(11, 16)} UTC): ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB, ${r.machine.os}, Node ${r.machine.node}.`);
  out.push(`Backend: **${r.backend.name}** on ${r.backend.device}. Peer: ${peer}.`);
  out.push('');
  out.push('Ratios are peer time ÷ our time: above 1 we are faster. Each pair was measured back to back in the same run.');
  out.push('');
  const rows: string[][] = [];
  const c = r.ceiling as Any | undefined;
  if (c) rows.push([`Ceiling: matmul ${c.shape.join('×')}`, `${n1(c.ours.gflops)} GFLOP/s`, c.peer ? `${n1(c.peer.gflops)} GFLOP/s` : '—', r2(c.ratio)]);
  for (const f of (r.forward ?? []) as Any[]) {
    rows.push([`Forward ${f.model}, ${f.batch}×${f.tokens}, all logits`, `${n0(f.msPerForward)} ms (${n0(f.tokensPerSecond)} tok/s, ${Math.round(100 * f.fractionOfCeiling)}% of ceiling)`, f.peer ? `${n0(f.peer.msPerForward)} ms (${n0(f.peer.tokensPerSecond)} tok/s)` : '—', r2(f.ratio)]);
  }
  const rf = r.reft as Any | undefined;
  if (rf) {
    const pe = rf.peer?.epochMs;
    const label = `ReFT epoch (LoReFT r${rf.rank}, layer ${rf.layer}/${rf.layers}, ${rf.examples}×${rf.tokens} tok, batch ${rf.batch})`;
    rows.push([`${label}, no cache`, `${n0(rf.modes.none.steadyEpochMs)} ms`, `${n0(pe)} ms`, r2(rf.ratios.noCache)]);
    if (rf.modes.layers) rows.push([`${label}, layer cache`, `${n0(rf.modes.layers.steadyEpochMs)} ms`, `${n0(pe)} ms`, r2(rf.ratios.layerCache)]);
    if (rf.modes.window) {
      rows.push([`${label}, cached prefix`, `${n0(rf.modes.window.steadyEpochMs)} ms`, `${n0(pe)} ms`, r2(rf.ratios.cachedPrefix)]);
      rows.push([`${label}, cached prefix, first epoch (fills the cache)`, `${n0(rf.modes.window.firstEpochMs)} ms`, `${n0(pe)} ms`, r2(rf.ratios.cachedPrefixFirstEpoch)]);
    }
  }
  const lf = r.lofit as Any | undefined;
  if (lf) {
    const rounds = lf.rounds > 1 ? `, median of ${lf.rounds} rounds` : '';
    const how = (lf.shards === 2 ? `, ${lf.device ?? 'wasm'} + training helper thread` : lf.device ? `, ${lf.device}` : '') + rounds;
    rows.push([`LoFIT step 1 epoch (${lf.model}, ${lf.task}, ${lf.examples} ex., batch ${lf.batch}${how})`, `${n0(lf.select.steadyEpochMs)} ms`, `${n0(lf.peer?.step1EpochMs)} ms`, r2(lf.ratios.step1)]);
    rows.push([`LoFIT step 2 epoch (${lf.tune.heads.length} heads${how})`, `${n0(lf.tune.steadyEpochMs)} ms`, `${n0(lf.peer?.step2EpochMs)} ms`, r2(lf.ratios.step2)]);
    if (lf.noHelper) {
      const dev = (lf.noHelper.device ? `, ${lf.noHelper.device}` : '') + rounds;
      rows.push([`LoFIT step 1 epoch without the helper thread${dev}`, `${n0(lf.noHelper.select.steadyEpochMs)} ms`, `${n0(lf.peer?.step1EpochMs)} ms`, r2(lf.ratios.step1NoHelper)]);
      rows.push([`LoFIT step 2 epoch without the helper thread${dev}`, `${n0(lf.noHelper.tune.steadyEpochMs)} ms`, `${n0(lf.peer?.step2EpochMs)} ms`, r2(lf.ratios.step2NoHelper)]);
    }
  }
  for (const key of ['patching', 'das'] as const) {
    const sec = r[key] as Any | undefined;
    for (const row of (sec?.rows ?? []) as Any[]) rows.push([row.workload, row.ours, row.peer ?? '—', r2(row.ratio)]);
  }
  out.push(table(['workload', 'Subspace', 'PyTorch peer', 'speed ratio'], rows));
  out.push('');

  const mem = Object.entries(r.memory);
  if (mem.length) {
    out.push('Memory per workload (peak resident MiB of the process while it ran; tfjs: most tensor bytes held at once, and at the end):');
    out.push('');
    out.push(
      table(
        ['workload', 'ours peak RSS', 'ours tfjs peak / end', 'PyTorch peak RSS'],
        mem.map(([k, v]) => [k, `${mib(v.ours.peakRssBytes)}${v.ours.peakRssIsPerWorkload ? '' : ' (process)'}`, `${mib(v.ours.tfjsPeakBytes)} / ${mib(v.ours.tfjsEndBytes)}`, v.peer ? mib(v.peer.peakRssBytes) : '—']),
      ),
    );
    out.push('');
  }
  const g = (r.growth ?? []) as Any[];
  if (g.length) {
    out.push('Tensor count over long runs (demo-gpt2):');
    out.push('');
    out.push(table(['method', 'steps', 'before', 'after step 1', 'after last step', 'after the run'], g.map((x) => [x.method, n0(x.steps), n0(x.before), n0(x.afterFirstStep), n0(x.afterLastStep), n0(x.after)])));
    out.push('');
  }
  const st = r.store as Any | undefined;
  if (st) {
    out.push(`Store: ${n0(st.runs)} runs, ${n0(st.metricPoints)} metric points: list runs ${st.listRuns.medianMs.toFixed(2)} ms, one run's curves (${n0(st.getMetrics.points)} points) ${st.getMetrics.medianMs.toFixed(2)} ms (medians of ${st.listRuns.repeats}).`);
    out.push('');
  }
  if (r.targets.length) {
    out.push(table(['target', 'wanted', 'measured', ''], r.targets.map((t) => [t.name, t.target, t.value, t.met ? 'met' : '**missed**'])));
    out.push('');
  }
  for (const n of r.notes) out.push(`- ${n}`);
  return out.join('\n').trimEnd();
}

/** The whole file: the hand-written text around a freshly generated section. */
export function writeBenchmarksMd(r: BenchResults, existing: string): string {
  const section = `${BEGIN}\n${generatedSection(r)}\n${END}`;
  const i = existing.indexOf(BEGIN);
  const j = existing.indexOf(END);
  if (i >= 0 && j > i) return existing.slice(0, i) + section + existing.slice(j + END.length);
  const head = existing.trim() || '# Benchmarks\n\n`npm run bench` measures Subspace against its backend\'s matmul ceiling and a PyTorch peer (bench/peer_torch.py) in one run.';
  return `${head}\n\n## Last run\n\n${section}\n`;
}
