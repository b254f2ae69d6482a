/**
 * Per-head activation patching on a GPT-2-small-shaped model (12 layers × 12 heads × 768, random
 * weights), batch 8 × 16 tokens: one plain forward per patch (naive), batched copies from a shared
 * prefix with answer-only unembedding (batched), and attribution patching (two forwards, one backward).
 *
 * Every naive patch is one full forward of the same shape whatever its layer, so naive is timed on a
 * sample of patches (head 0 of every layer) and scaled to all of them; `naive.measuredPatches` says how
 * many ran. Each method is timed by the wall clock and by this process's CPU time (user + system):
 * beside other work the wall clock stretches unevenly, the CPU time much less; `loadAverage` is the
 * machine's 1-minute load at the start and the end.
 * Run alone: `npx tsx bench/patching.ts [--smoke]`.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadModelFolder } from '../src-main/engine/io/model-folder.js';
import { flatValues, patchSweepPairs, preparePairs, spearman, type SweepResult } from '../src-main/engine/patching/index.js';
import { seededRandom } from '../src-main/engine/random.js';
import type { TaskExample } from '../src-main/engine/tasks/schema.js';
import { GPT2_SMALL, ensureRandomGpt2, type RandomGpt2Shape } from './random-model.js';

export interface PatchingBenchFigures {
  model: string;
  shape: RandomGpt2Shape;
  batch: number;
  tokens: number;
  /** Patches in the full per-head sweep (layers × heads). */
  patches: number;
  naive: { ms: number; cpuMs: number; msPerPatch: number; measuredPatches: number; scaledToAll: boolean };
  batched: { ms: number; cpuMs: number; forwards: number; maxRowsPerForward: number };
  attribution: { ms: number; cpuMs: number; forwards: number; backwards: number };
  /** naive ms / method ms, for the whole sweep, by wall clock and by CPU time. */
  speedup: { batched: number; attribution: number };
  speedupCpu: { batched: number; attribution: number };
  targets: { batched: number; attribution: number };
  check: {
    /** Largest |batched − naive| over the patches naive ran. */
    maxAbsDiff: number;
    /** Spearman ρ of attribution against the batched exact values, over all heads. */
    spearmanAttribution: number;
  };
  loadAverage: { start: number; end: number };
}

const HERE = import.meta.dirname;

/** Prompts of `tokens` words; each source changes three of them, so every head sees a difference. */
function pairs(n: number, tokens: number, vocab: number, seed: number): TaskExample[] {
  const rand = seededRandom(seed);
  const word = () => `t${1 + Math.floor(rand() * (vocab - 1))}`;
  return Array.from({ length: n }, (_, i) => {
    const base = Array.from({ length: tokens }, word);
    const source = base.map((w, j) => (j === 2 || j === tokens - 5 || j === tokens - 2 ? word() : w));
    return { id: `bench-${i}`, prompt: base.join(' '), completion: ` ${word()}`, wrong: [` ${word()}`], source: { prompt: source.join(' '), completion: ` ${word()}` } };
  });
}

export async function benchPatching(opts: { smoke?: boolean } = {}): Promise<PatchingBenchFigures> {
  const smoke = opts.smoke === true;
  const loadStart = loadavg()[0];
  const shape: RandomGpt2Shape = smoke ? { layers: 2, heads: 4, width: 128, vocab: 512, positions: 128 } : GPT2_SMALL;
  const [B, T] = smoke ? [2, 8] : [8, 16];
  const dir = ensureRandomGpt2(join(HERE, 'work', smoke ? 'gpt2-toy-random' : 'gpt2-small-random'), shape);
  const m = await loadModelFolder(dir, { name: smoke ? 'gpt2-toy-random' : 'gpt2-small-random' });
  try {
    const prepared = preparePairs(m.tokenizer!, pairs(B, T, shape.vocab, 5));
    const sweep = (method: 'naive' | 'exact' | 'attribution', heads?: number[]): SweepResult & { cpuMs: number } => {
      const cpu = process.cpuUsage();
      const r = patchSweepPairs(m.model, prepared, { kind: 'heads', method, heads });
      const used = process.cpuUsage(cpu);
      return { ...r, cpuMs: (used.user + used.system) / 1000 };
    };
    // Warm-up: kernels compiled and weights touched before anything is timed.
    patchSweepPairs(m.model, prepared, { kind: 'heads', method: 'exact', layers: [shape.layers - 1], heads: [0] });

    const sample = smoke ? undefined : [0];
    const naive = sweep('naive', sample);
    const batched = sweep('exact');
    const attribution = sweep('attribution');

    const patches = shape.layers * shape.heads;
    const measured = naive.stats.patches;
    const naiveMs = (naive.stats.ms / measured) * patches;
    const naiveCpuMs = (naive.cpuMs / measured) * patches;
    const columns = sample ?? Array.from({ length: shape.heads }, (_, h) => h);
    let maxAbsDiff = 0;
    naive.layers.forEach((_, l) =>
      columns.forEach((h, j) => {
        maxAbsDiff = Math.max(maxAbsDiff, Math.abs(naive.values[l][j] - batched.values[l][h]));
      }),
    );
    return {
      model: m.name,
      shape,
      batch: B,
      tokens: T,
      patches,
      naive: { ms: naiveMs, cpuMs: naiveCpuMs, msPerPatch: naive.stats.ms / measured, measuredPatches: measured, scaledToAll: measured < patches },
      batched: { ms: batched.stats.ms, cpuMs: batched.cpuMs, forwards: batched.stats.forwards, maxRowsPerForward: batched.stats.maxRowsPerForward },
      attribution: { ms: attribution.stats.ms, cpuMs: attribution.cpuMs, forwards: attribution.stats.forwards, backwards: attribution.stats.backwards },
      speedup: { batched: naiveMs / batched.stats.ms, attribution: naiveMs / attribution.stats.ms },
      speedupCpu: { batched: naiveCpuMs / batched.cpuMs, attribution: naiveCpuMs / attribution.cpuMs },
      targets: { batched: 3, attribution: 20 },
      check: { maxAbsDiff, spearmanAttribution: spearman(flatValues(batched.values), flatValues(attribution.values)) },
      loadAverage: { start: loadStart, end: loadavg()[0] },
    };
  } finally {
    m.model.dispose();
  }
}

/** One line for a report. */
export function describePatching(f: PatchingBenchFigures): string {
  const s = f.shape;
  return (
    `patching: per-head sweep on GPT-2-shaped ${s.layers}×${s.heads}×${s.width}, batch ${f.batch}×${f.tokens}, ${f.patches} patches: ` +
    `naive ${(f.naive.ms / 1000).toFixed(1)} s${f.naive.scaledToAll ? ` (${f.naive.measuredPatches} patches timed, ${f.naive.msPerPatch.toFixed(0)} ms each)` : ''}, ` +
    `batched ${(f.batched.ms / 1000).toFixed(1)} s in ${f.batched.forwards} forwards (${f.speedup.batched.toFixed(1)}×; CPU time ${f.speedupCpu.batched.toFixed(1)}×; target ≥ ${f.targets.batched}×), ` +
    `attribution ${(f.attribution.ms / 1000).toFixed(2)} s (${f.speedup.attribution.toFixed(1)}×; CPU time ${f.speedupCpu.attribution.toFixed(1)}×; target ≥ ${f.targets.attribution}×); ` +
    `batched − naive ≤ ${f.check.maxAbsDiff.toExponential(1)}, attribution ρ ${f.check.spearmanAttribution.toFixed(2)} (load ${f.loadAverage.start.toFixed(1)} → ${f.loadAverage.end.toFixed(1)})`
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { initBackend } = await import('../src-main/engine/backend/index.js');
  const report = await initBackend();
  const smoke = process.argv.includes('--smoke');
  console.log(`backend ${report.backend} on ${report.device}`);
  const f = await benchPatching({ smoke });
  console.log(describePatching(f));
  console.log(JSON.stringify(f, null, 2));
}
