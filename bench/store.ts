/**
 * Store benchmark: 1,000 runs and 1,000,000 metric points, then how long the
 * two hot reads take: the run list (first page of 100, newest first) and one
 * run's curves (1,000 steps x 4 names). Target: each well under 50 ms.
 *
 *   npx tsx bench/store.ts            # temp folder, removed afterwards
 *   npx tsx bench/store.ts <folder>   # keep the database in <folder>
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openStore, RUN_KINDS, type MetricPoint } from '../src-main/store/index.js';

export interface Timing {
  /** The first call (statement preparation, cold page cache). */
  firstMs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  repeats: number;
}

export interface StoreBenchResult {
  runs: number;
  metricPoints: number;
  dbBytes: number;
  buildMs: number;
  listRuns: Timing;
  listRunsFiltered: Timing;
  getMetrics: Timing & { points: number; names: number };
}

export interface StoreBenchOptions {
  runs?: number;
  /** Runs that have curves; the rest are queued, cancelled or failed early with none. */
  runsWithMetrics?: number;
  steps?: number;
  names?: readonly string[];
  repeats?: number;
}

function time(fn: () => unknown, repeats: number): Timing {
  const t0 = performance.now();
  fn();
  const firstMs = performance.now() - t0;
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    firstMs: round(firstMs),
    medianMs: round(samples[Math.floor(samples.length / 2)]),
    minMs: round(samples[0]),
    maxMs: round(samples[samples.length - 1]),
    repeats,
  };
}

/** A config about the size of a real one (~1.5 KB of JSON). */
function fakeConfig(i: number): Record<string, unknown> {
  return {
    method: RUN_KINDS[i % RUN_KINDS.length],
    seed: i,
    model: { folder: '/models/tiny-gpt2', dtype: 'float32' },
    intervention: { layers: [0, 1, 2, 3], positions: 'f1+l1', rank: 4, dropout: 0.05, init: 'orthogonal' },
    optimizer: { name: 'adamw', lr: 1e-3, betas: [0.9, 0.999], weightDecay: 0.01, warmupSteps: 100, schedule: 'linear' },
    data: { task: 'sst2', split: 'train', maxLength: 128, batchSize: 16, shuffle: true, limit: 2000 },
    eval: { every: 50, split: 'validation', metrics: ['accuracy', 'loss'], generation: { maxNewTokens: 32, temperature: 0 } },
    notes: 'x'.repeat(600),
  };
}

export function benchStore(dir?: string, options: StoreBenchOptions = {}): StoreBenchResult {
  const nRuns = options.runs ?? 1000;
  const nWithMetrics = Math.min(options.runsWithMetrics ?? 250, nRuns);
  const steps = options.steps ?? 1000;
  const names = options.names ?? ['loss', 'accuracy', 'lr', 'grad_norm'];
  const repeats = options.repeats ?? 21;
  const ownDir = dir === undefined;
  const dataDir = ownDir ? mkdtempSync(join(tmpdir(), 'subspace-bench-store-')) : resolve(dir);

  try {
    const store = openStore({ dataDir });
    const t0 = performance.now();
    const projects = ['main', 'ablations', 'probing', 'scratch'].map((name) => store.createProject({ name }));
    const base = Date.UTC(2025, 0, 1);
    const runIds: string[] = [];
    let metricPoints = 0;
    const points: MetricPoint[] = new Array(steps * names.length);
    const chunk = 25;
    const stride = Math.max(1, Math.floor(nRuns / Math.max(1, nWithMetrics)));
    for (let start = 0; start < nRuns; start += chunk) {
      store.transaction(() => {
        for (let i = start; i < Math.min(start + chunk, nRuns); i++) {
          const hasMetrics = nWithMetrics > 0 && i % stride === 0 && i / stride < nWithMetrics;
          const run = store.createRun({
            projectId: projects[i % projects.length].id,
            kind: RUN_KINDS[i % RUN_KINDS.length],
            name: `run ${i} ${RUN_KINDS[i % RUN_KINDS.length]} rank-${(i % 8) + 1}`,
            config: fakeConfig(i),
            backend: 'cpu',
            createdAt: base + i * 60_000,
            status: hasMetrics ? 'running' : 'queued',
          });
          runIds.push(run.id);
          if (hasMetrics) {
            let k = 0;
            for (let s = 0; s < steps; s++) {
              for (let n = 0; n < names.length; n++) points[k++] = { step: s, name: names[n], value: Math.exp(-s / 300) + n + Math.random() * 0.01 };
            }
            metricPoints += store.appendMetrics(run.id, points);
            store.updateRunStatus(run.id, i % 10 === 0 ? 'failed' : 'succeeded', { endedAt: base + i * 60_000 + 30_000, error: i % 10 === 0 ? 'diverged' : undefined });
          } else if (i % 3 === 0) {
            store.updateRunStatus(run.id, 'cancelled');
          }
        }
      });
    }
    const buildMs = Math.round(performance.now() - t0);
    store.close();

    // Measure on a fresh connection, as the app would after start-up.
    const reader = openStore({ dataDir });
    const withCurves = reader.listRuns({ status: ['succeeded', 'failed'], limit: 1 })[0].id;
    const listRuns = time(() => {
      const page = reader.listRuns({ limit: 100 });
      if (page.length !== Math.min(100, nRuns)) throw new Error('listRuns returned a short page');
    }, repeats);
    const listRunsFiltered = time(() => reader.listRuns({ projectId: projects[1].id, status: 'succeeded', search: 'rank-3', limit: 100 }), repeats);
    let loaded = 0;
    const getMetrics = time(() => {
      const m = reader.getMetrics(withCurves);
      loaded = Object.values(m).reduce((n, s) => n + s.steps.length, 0);
    }, repeats);
    reader.close();
    const dbBytes = statSync(join(dataDir, 'subspace.db')).size;
    return {
      runs: nRuns,
      metricPoints,
      dbBytes,
      buildMs,
      listRuns,
      listRunsFiltered,
      getMetrics: { ...getMetrics, points: loaded, names: names.length },
    };
  } finally {
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const result = benchStore(process.argv[2]);
  console.log(JSON.stringify(result, null, 2));
  const worst = Math.max(result.listRuns.medianMs, result.getMetrics.medianMs);
  console.log(`listRuns (100 of ${result.runs}): ${result.listRuns.medianMs} ms median; getMetrics (${result.getMetrics.points} points): ${result.getMetrics.medianMs} ms median; ${result.metricPoints} points, ${(result.dbBytes / 1e6).toFixed(1)} MB`);
  if (worst >= 50) {
    console.error('slower than the 50 ms target');
    process.exitCode = 1;
  }
}
