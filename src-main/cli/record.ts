import { mkdirSync, readdirSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import type { LoadedModel } from '../engine/io/model-folder.js';
import { modelContentHash } from '../engine/io/model-hash.js';
import { parameterCount } from '../engine/model/config.js';
import type { Progress } from '../engine/methods/progress.js';
import { errorMessage } from '../engine/errors.js';
import { builtinTasksDir } from '../engine/paths.js';
import { openStore, type Store } from '../store/index.js';
import type { RunKind } from '../store/types.js';

/** sha256 over a built-in task's files, and its number of examples. */
function taskContent(name: string): { contentHash: string; rowCount: number; path: string } {
  const dir = join(builtinTasksDir(), name);
  const h = createHash('sha256');
  let rows = 0;
  for (const f of ['manifest.json', 'train.jsonl', 'dev.jsonl', 'test.jsonl']) {
    const bytes = readFileSync(join(dir, f));
    h.update(f).update(bytes);
    if (f.endsWith('.jsonl')) rows += bytes.toString('utf8').split('\n').filter((l) => l.trim()).length;
  }
  return { contentHash: h.digest('hex'), rowCount: rows, path: dir };
}

/**
 * Every method command records its run in the store: config, status, backend,
 * the metrics it streams and the files it writes. A run that throws is marked
 * failed with its error and keeps the metrics recorded so far.
 */
export class RunRecorder {
  readonly store: Store;
  readonly runId: string;
  private pending: { step: number; name: string; value: number }[] = [];

  constructor(kind: RunKind, name: string, config: Record<string, unknown>, m: LoadedModel, backend: string, taskName?: string) {
    this.store = openStore();
    this.store.markInterruptedRuns();
    const project = this.store.getProjectByName('default') ?? this.store.createProject({ name: 'default' });
    const model = this.store.registerModel({
      name: m.name,
      folder: m.folder,
      configSummary: { modelType: m.spec.modelType, layers: m.spec.nLayers, heads: m.spec.nHeads, kvHeads: m.spec.nKvHeads, width: m.spec.dModel, parameters: parameterCount(m.spec) },
      contentHash: modelContentHash(m.folder, m.weightFiles),
    });
    const dataset = taskName ? this.store.registerDataset({ id: `task-${taskName}`, name: taskName, source: 'builtin', ...taskContent(taskName) }) : undefined;
    const run = this.store.createRun({ projectId: project.id, kind, name, config, status: 'running', backend, modelId: model.id, datasetId: dataset?.id ?? null });
    this.runId = run.id;
  }

  /** A progress listener that stores every numeric metric by step. */
  listener(then?: (p: Progress) => void): (p: Progress) => void {
    return (p) => {
      for (const [name, value] of Object.entries(p.metrics)) if (name !== 'epoch') this.pending.push({ step: p.step, name, value });
      if (this.pending.length >= 64) this.flush();
      then?.(p);
    };
  }

  metric(step: number, name: string, value: number): void {
    this.pending.push({ step, name, value });
  }

  /** Records each number of `figures` as a metric at `step` (undefined entries are skipped). */
  figures(step: number, figures: Record<string, number | undefined>): void {
    for (const [name, value] of Object.entries(figures)) if (typeof value === 'number') this.pending.push({ step, name, value });
  }

  flush(): void {
    if (this.pending.length) this.store.appendMetrics(this.runId, this.pending);
    this.pending = [];
  }

  /** Records one written file as an artifact, with its size and checksum. */
  artifact(path: string, kind: string): void {
    const bytes = readFileSync(path);
    this.store.addArtifact({ runId: this.runId, kind, path, sizeBytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
  }

  /** Records every file of an output folder as an artifact. */
  artifacts(dir: string, kind: string): void {
    for (const f of readdirSync(dir)) {
      const path = join(dir, f);
      if (statSync(path).isFile()) this.artifact(path, kind);
    }
  }

  /** Where a result file goes: the path given, or `name` in the run's own folder of the data folder. */
  outputFile(given: string | undefined, name: string): string {
    return given === undefined ? join(this.store.runDir(this.runId), name) : resolve(given);
  }

  /** Writes a JSON document (making its folder) and records it as an artifact. */
  writeJson(path: string, doc: unknown, kind: string): void {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, JSON.stringify(doc, null, 2) + '\n');
    this.artifact(path, kind);
  }

  succeed(): void {
    this.flush();
    this.store.updateRunStatus(this.runId, 'succeeded');
    this.store.close();
  }

  fail(e: unknown): void {
    try {
      this.flush();
      this.store.updateRunStatus(this.runId, e instanceof Error && e.name === 'CancelledError' ? 'cancelled' : 'failed', { error: errorMessage(e) });
    } finally {
      this.store.close();
    }
  }

  /** Runs `fn`, marking the run succeeded or failed. */
  async run<T>(fn: (rec: RunRecorder) => Promise<T> | T): Promise<T> {
    try {
      const out = await fn(this);
      this.succeed();
      return out;
    } catch (e) {
      this.fail(e);
      throw e;
    }
  }
}
