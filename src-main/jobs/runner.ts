/**
 * The JobManager: the main process's queue of long work. Each job is a run in
 * the store and runs in its own worker process (worker.ts).
 *
 *   const jobs = new JobManager({ store, concurrency: 1 });
 *   jobs.on('event', (e) => ...);                 // queued, started, progress, metrics, checkpoint, done, failed, cancelled
 *   const id = jobs.submit({ kind: 'reft', model: 'demo-gpt2', task: 'sst2', config: { layers: [2] } });
 *   for await (const e of jobs.events({ jobId: id })) ...   // ends after the job's last event
 *   jobs.cancel(id);  jobs.resume(runId);  await jobs.close();
 *
 * Process model: one child process per job (`child_process.fork`), not a worker
 * thread. The issue asks the app to survive a worker that dies — killed, out of
 * memory, an exception. A child process has its own heap and address space: when
 * V8 or the kernel's OOM killer takes it down, or a native backend (libtensorflow,
 * CUDA) crashes, the main process lives on, sees the exit code or signal and
 * records the run as failed. A worker thread shares the process: a native crash
 * or an allocation failure outside the V8 heap (tensor buffers are ArrayBuffers
 * and native memory) kills the whole app, and `worker.terminate()` cannot stop a
 * thread stuck in native code. A process can also be SIGKILLed after the cancel
 * grace period, and the crash test does exactly that. The cost — a fresh Node and
 * a model load per job, tens of milliseconds to seconds — is small next to training.
 *
 * Only this process writes the database. Workers report over IPC (messages
 * validated with protocol.ts) and write files only inside their run folder or
 * the export folder, so a worker killed at any instant leaves the store
 * consistent: the run has the metrics that had arrived, and the last complete
 * checkpoint.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { errorMessage, SubspaceError } from '../engine/errors.js';
import { resolveModelRef } from '../engine/io/hf-cache.js';
import { readModelSpec, weightIndex } from '../engine/io/model-files.js';
import { modelContentHash } from '../engine/io/model-hash.js';
import { parameterCount } from '../engine/model/config.js';
import { builtinModelsDir, builtinTasksDir } from '../engine/paths.js';
import { openStore, RUN_KINDS, type MetricPoint, type Model, type RunKind, type Store } from '../store/index.js';
import { readCheckpointMeta } from './checkpoint.js';
import {
  JOB_KINDS,
  parseJobSpec,
  TERMINAL_EVENT_TYPES,
  workerMessageSchema,
  workerTaskSchema,
  type JobEvent,
  type JobEventType,
  type JobKind,
  type JobSpec,
  type JobSpecInput,
  type WorkerJob,
  type WorkerMessage,
} from './protocol.js';

export interface JobManagerOptions {
  /** A store opened by data folder (runs keep their files in `<dataDir>/runs/<runId>/`). */
  store?: Store;
  /** Open the store in this data folder instead (closed again by close()). */
  dataDir?: string;
  /** Jobs running at once (default 1). */
  concurrency?: number;
  /** How long a cancelled worker may take to stop before it is killed (default 5000 ms). */
  cancelGraceMs?: number;
  /** Metric points are written in batches: at most this often (default 250 ms)... */
  metricFlushMs?: number;
  /** ...or as soon as this many are waiting (default 64). */
  metricBatchSize?: number;
  /** Default checkpoint interval of training jobs, in steps (default 50). */
  checkpointEvery?: number;
  /** The worker's entry module (default worker.ts beside this file; a .ts entry is run through tsx). */
  workerEntry?: string;
  /** Extra Node flags for workers. */
  execArgv?: string[];
  /** Extra environment for workers. */
  env?: NodeJS.ProcessEnv;
  /** The Node binary for workers (default process.execPath; an Electron main passes its own with ELECTRON_RUN_AS_NODE). */
  execPath?: string;
}

export type JobState = 'queued' | 'running' | 'ended';

export interface JobInfo {
  jobId: string;
  runId: string;
  kind: JobKind;
  state: JobState;
  pid?: number;
  phase?: string;
  step: number;
  total: number;
  parentRunId?: string;
  /** The terminal event, once the job has ended. */
  final?: JobEvent;
}

/** What a run's config keeps about its job (under `job`), enough to resume it. */
const jobRecordSchema = z.object({
  kind: z.enum(JOB_KINDS),
  model: z.string(),
  modelFolder: z.string(),
  modelName: z.string(),
  task: workerTaskSchema,
  out: z.string().optional(),
  backend: z.string().optional(),
  checkpointEvery: z.number().int().min(1).optional(),
  maxMemoryMb: z.number().int().optional(),
});
type JobRecord = z.infer<typeof jobRecordSchema>;

interface Job {
  id: string;
  runId: string;
  kind: JobKind;
  record: JobRecord;
  worker: WorkerJob;
  parentRunId?: string;
  state: JobState;
  child?: ChildProcess;
  pid?: number;
  cancelRequested: boolean;
  killedAfterGrace: boolean;
  killTimer?: NodeJS.Timeout;
  /** A problem on the main side (a malformed message, a store write that failed): the job fails with it. */
  internalError?: string;
  terminal?: WorkerMessage;
  pending: MetricPoint[];
  flushTimer?: NodeJS.Timeout;
  phase?: string;
  step: number;
  total: number;
  /** When the worker was started (performance.now()); elapsed times count from here, across all phases. */
  startedAt?: number;
  /** The whole job's time, frozen when it ends. */
  elapsedMs: number;
  etaMs: number;
  stderrTail: string;
  final?: JobEvent;
  /** Its queued and started events, replayed to an iterator that subscribes after submit() returned. */
  lifecycle: JobEvent[];
  waiters: ((e: JobEvent) => void)[];
}

const STDERR_TAIL = 4000;

let tsxLoader: string | undefined;
/** `--import <tsx loader>` lets Node 20 run the TypeScript worker directly (no build step, as bin/subspace.js). */
function tsxLoaderUrl(): string {
  tsxLoader ??= pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return tsxLoader;
}

/** The weight files of a model folder: model.safetensors, or the shards its index lists. */
function sha256File(path: string): { sizeBytes: number; sha256: string } {
  const bytes = readFileSync(path);
  return { sizeBytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Why a worker that sent no result ended, in words a person can act on. */
function describeDeath(code: number | null, signal: NodeJS.Signals | null, stderr: string, maxMemoryMb?: number): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  // The line that says what went wrong, else the last few (a native stack trace says little).
  const telling = lines.filter((l) => /error|out of memory|abort/i.test(l) && !/^\d+: 0x/.test(l)).at(-1);
  const said = (telling ?? lines.slice(-3).join(' | ')).slice(-500);
  const tail = said ? `; it said: ${said}` : '';
  if (/heap out of memory|reached heap limit|out of memory/i.test(stderr)) {
    return `the worker ran out of memory${maxMemoryMb ? ` (heap limit ${maxMemoryMb} MiB)` : ''}; give the job more memory (maxMemoryMb) or lower the batch size${tail}`;
  }
  if (signal) {
    const who = signal === 'SIGKILL' ? ' (by hand, or by the system when it ran out of memory)' : '';
    return `the worker was killed by ${signal}${who} before it finished${tail}`;
  }
  return `the worker exited with code ${code} before reporting a result${tail}`;
}

export class JobManager extends EventEmitter {
  readonly store: Store;
  private readonly ownsStore: boolean;
  private readonly opts: Required<Pick<JobManagerOptions, 'cancelGraceMs' | 'metricFlushMs' | 'metricBatchSize' | 'checkpointEvery'>> & JobManagerOptions;
  private readonly jobs = new Map<string, Job>();
  private readonly queue: Job[] = [];
  private readonly running = new Set<Job>();
  private limit: number;
  private closed = false;

  constructor(options: JobManagerOptions = {}) {
    super();
    if (options.store && options.dataDir) throw new SubspaceError('BAD_ARGUMENT', 'JobManager: give store or dataDir, not both', 'store');
    this.store = options.store ?? openStore(options.dataDir !== undefined ? { dataDir: options.dataDir } : undefined);
    this.ownsStore = !options.store;
    if (!this.store.dataDir) throw new SubspaceError('BAD_ARGUMENT', `JobManager: the store (${this.store.path}) must be opened by data folder: jobs keep files in <dataDir>/runs/<runId>/`, 'store');
    this.limit = JobManager.checkConcurrency(options.concurrency ?? 1);
    this.opts = { cancelGraceMs: 5000, metricFlushMs: 250, metricBatchSize: 64, checkpointEvery: 50, ...options };
  }

  private static checkConcurrency(n: number): number {
    if (!Number.isInteger(n) || n < 1) throw new SubspaceError('BAD_ARGUMENT', `concurrency must be a whole number of at least 1 (got ${n})`, 'concurrency');
    return n;
  }

  get concurrency(): number {
    return this.limit;
  }

  set concurrency(n: number) {
    this.limit = JobManager.checkConcurrency(n);
    this.pump();
  }

  override on(event: 'event', listener: (e: JobEvent) => void): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }

  // ---- submitting ----------------------------------------------------------------------------

  /**
   * Validates a job (errors name the field: `submit: config.lr: must be positive`),
   * records it as a queued run and queues it. Returns the job id, which is also
   * the run id.
   */
  submit(input: JobSpecInput | JobSpec | unknown): string {
    if (this.closed) throw new SubspaceError('BAD_ARGUMENT', 'submit: the job manager is closed');
    const spec = parseJobSpec(input, 'submit');
    let found: { folder: string; name: string };
    try {
      found = resolveModelRef(spec.model, builtinModelsDir());
    } catch (e) {
      throw new SubspaceError(e instanceof SubspaceError ? e.code : 'NOT_FOUND', `submit: model: ${errorMessage(e)}`, 'model');
    }
    const model = this.registerModel(found.folder, found.name);
    const projectId = this.projectFor(spec.projectId);
    if (typeof spec.task === 'string' && !existsSync(join(builtinTasksDir(), spec.task, 'manifest.json'))) {
      throw new SubspaceError('NOT_FOUND', `submit: task: no built-in task '${spec.task}' in ${builtinTasksDir()}`, 'task');
    }
    if (spec.out !== undefined && existsSync(spec.out) && !existsSync(join(spec.out, 'manifest.json'))) {
      throw new SubspaceError('BAD_ARGUMENT', `submit: out: ${resolve(spec.out)} exists and is not a Subspace export; choose another folder`, 'out');
    }
    const runKind = this.runKindFor(spec.kind, spec.config);
    const runId = randomUUID();
    const runDir = this.store.runDir(runId);
    mkdirSync(runDir, { recursive: true });
    try {
      let task: JobRecord['task'];
      let datasetId: string;
      if (typeof spec.task === 'string') {
        task = { builtin: spec.task };
        datasetId = this.store.registerDataset({ id: `task-${spec.task}`, name: spec.task, source: 'builtin', contentHash: spec.task, rowCount: 0 }).id;
      } else {
        const text = JSON.stringify(spec.task);
        const hash = createHash('sha256').update(text).digest('hex');
        const file = join(runDir, 'task.json');
        writeFileSync(file, text);
        const name = spec.task.name ?? `inline-${hash.slice(0, 8)}`;
        task = { file, name };
        const rows = spec.task.examples.length + (spec.task.dev?.length ?? 0) + (spec.task.test?.length ?? 0);
        datasetId = this.store.registerDataset({ id: `inline-${hash.slice(0, 16)}`, name, source: 'imported', path: file, contentHash: hash, rowCount: rows }).id;
      }
      const record: JobRecord = {
        kind: spec.kind,
        model: spec.model,
        modelFolder: found.folder,
        modelName: found.name,
        task,
        ...(spec.out !== undefined && { out: resolve(spec.out) }),
        ...(spec.backend !== undefined && { backend: spec.backend }),
        ...(spec.kind === 'reft' && { checkpointEvery: spec.checkpointEvery ?? this.opts.checkpointEvery }),
        ...(spec.maxMemoryMb !== undefined && { maxMemoryMb: spec.maxMemoryMb }),
      };
      const taskName = 'builtin' in task ? task.builtin : task.name;
      const run = this.store.createRun({
        id: runId,
        projectId,
        kind: runKind,
        name: spec.name ?? `${spec.kind} ${taskName} on ${found.name}`,
        config: { ...spec.config, job: record },
        status: 'queued',
        modelId: model.id,
        datasetId,
      });
      return this.enqueue(run.id, record, spec.config);
    } catch (e) {
      if (!this.store.getRun(runId)) rmSync(runDir, { recursive: true, force: true });
      throw e;
    }
  }

  /**
   * Continues a failed or cancelled training run from its last checkpoint, as a
   * new run whose parentRunId is `runId`. The new run starts with the parent's
   * metrics up to the checkpoint and ends with the weights an uninterrupted run
   * would have. Returns the new job (and run) id.
   */
  resume(runId: string): string {
    if (this.closed) throw new SubspaceError('BAD_ARGUMENT', 'resume: the job manager is closed');
    const run = this.store.getRun(runId);
    if (!run) throw new SubspaceError('NOT_FOUND', `resume: runId: no run with id "${runId}"`, 'runId');
    const active = this.jobs.get(runId);
    if (active && active.state !== 'ended') throw new SubspaceError('BAD_ARGUMENT', `resume: runId: run "${runId}" is still ${active.state}`, 'runId');
    if (run.status !== 'failed' && run.status !== 'cancelled') {
      throw new SubspaceError('BAD_ARGUMENT', `resume: runId: run "${runId}" is ${run.status}; only a failed or cancelled run can be resumed`, 'runId');
    }
    const parsed = jobRecordSchema.safeParse(run.config.job);
    if (!parsed.success) throw new SubspaceError('UNSUPPORTED', `resume: runId: run "${runId}" was not started by the job manager (its config has no job record)`, 'runId');
    const record = parsed.data;
    if (!run.checkpointPath) throw new SubspaceError('NOT_FOUND', `resume: runId: run "${runId}" has no checkpoint (it stopped before its first one); submit it again instead`, 'runId');
    const meta = readCheckpointMeta(run.checkpointPath);
    const newId = randomUUID();
    const runDir = this.store.runDir(newId);
    mkdirSync(runDir, { recursive: true });
    try {
      let task = record.task;
      if ('file' in task) {
        const file = join(runDir, basename(task.file));
        copyFileSync(task.file, file);
        task = { file, name: task.name };
      }
      const next: JobRecord = { ...record, task };
      const { job: _job, ...config } = run.config;
      const child = this.store.transaction(() => {
        const created = this.store.createRun({
          id: newId,
          projectId: run.projectId,
          kind: run.kind,
          name: / \(resumed\)$/.test(run.name) ? run.name : `${run.name} (resumed)`,
          config: { ...config, job: next },
          status: 'queued',
          modelId: run.modelId,
          datasetId: run.datasetId,
          parentRunId: run.id,
        });
        // The curve so far, so the new run reads as one whole run.
        const points: MetricPoint[] = [];
        for (const [name, s] of Object.entries(this.store.getMetrics(run.id))) {
          s.steps.forEach((step, i) => {
            if (step <= meta.step) points.push({ step, name, value: s.values[i] });
          });
        }
        this.store.appendMetrics(created.id, points);
        return created;
      });
      return this.enqueue(child.id, next, config, { resumeFrom: run.checkpointPath, parentRunId: run.id });
    } catch (e) {
      if (!this.store.getRun(newId)) rmSync(runDir, { recursive: true, force: true });
      throw e;
    }
  }

  private registerModel(folder: string, name: string): Model {
    const known = this.store.getModelByFolder(folder);
    if (known) return known;
    try {
      const { spec } = readModelSpec(folder);
      const files = [...new Set(weightIndex(folder).values())];
      return this.store.registerModel({
        name,
        folder,
        configSummary: { modelType: spec.modelType, layers: spec.nLayers, heads: spec.nHeads, kvHeads: spec.nKvHeads, width: spec.dModel, parameters: parameterCount(spec) },
        contentHash: modelContentHash(folder, files),
      });
    } catch (e) {
      throw new SubspaceError(e instanceof SubspaceError ? e.code : 'BAD_FILE', `submit: model: ${errorMessage(e)}`, 'model');
    }
  }

  private projectFor(id: string | undefined): string {
    if (id !== undefined) {
      if (!this.store.getProject(id)) throw new SubspaceError('NOT_FOUND', `submit: projectId: no project with id "${id}"`, 'projectId');
      return id;
    }
    return (this.store.getProjectByName('default') ?? this.store.createProject({ name: 'default' })).id;
  }

  /**
   * The store's run kind. Training kinds map to themselves. The store has no
   * 'eval' kind (yet): an evaluation is recorded as a run of the method whose
   * export it evaluates, so it needs `config.intervention`.
   */
  private runKindFor(kind: JobKind, config: Record<string, unknown>): RunKind {
    const kinds = RUN_KINDS as readonly string[];
    if (kinds.includes(kind)) return kind as RunKind;
    const intervention = config.intervention;
    if (typeof intervention !== 'string') {
      throw new SubspaceError('BAD_ARGUMENT', `submit: config.intervention: an eval job needs a ReFT, LoFIT or ITI export to evaluate (the store has no run kind for a base-model evaluation)`, 'config.intervention');
    }
    let method: unknown;
    try {
      method = (JSON.parse(readFileSync(join(intervention, 'manifest.json'), 'utf8')) as { method?: unknown }).method;
    } catch (e) {
      throw new SubspaceError('NOT_FOUND', `submit: config.intervention: ${intervention} is not a Subspace export (${errorMessage(e)})`, 'config.intervention');
    }
    if (typeof method !== 'string' || !kinds.includes(method)) {
      throw new SubspaceError('UNSUPPORTED', `submit: config.intervention: ${intervention} holds a ${String(method)} export; evaluation supports reft, lofit and iti`, 'config.intervention');
    }
    return method as RunKind;
  }

  private enqueue(runId: string, record: JobRecord, config: Record<string, unknown>, extra: { resumeFrom?: string; parentRunId?: string } = {}): string {
    const runDir = this.store.runDir(runId);
    const worker: WorkerJob = {
      jobId: runId,
      runId,
      kind: record.kind,
      modelFolder: record.modelFolder,
      modelName: record.modelName,
      task: record.task,
      config,
      outDir: record.out ?? join(runDir, 'intervention'),
      runDir,
      ...(record.backend !== undefined && { backend: record.backend }),
      cancelFile: join(runDir, 'cancel-requested'),
      ...(record.kind === 'reft' && {
        checkpoint: { dir: join(runDir, 'checkpoint'), everySteps: record.checkpointEvery ?? this.opts.checkpointEvery, ...(extra.resumeFrom && { resumeFrom: extra.resumeFrom }) },
      }),
    };
    const job: Job = {
      id: runId,
      runId,
      kind: record.kind,
      record,
      worker,
      parentRunId: extra.parentRunId,
      state: 'queued',
      cancelRequested: false,
      killedAfterGrace: false,
      pending: [],
      step: 0,
      total: 0,
      elapsedMs: 0,
      etaMs: 0,
      stderrTail: '',
      lifecycle: [],
      waiters: [],
    };
    this.jobs.set(job.id, job);
    this.queue.push(job);
    this.emitEvent(job, 'queued');
    this.pump();
    return job.id;
  }

  // ---- running -------------------------------------------------------------------------------

  private pump(): void {
    while (!this.closed && this.running.size < this.limit && this.queue.length > 0) this.start(this.queue.shift()!);
  }

  private start(job: Job): void {
    job.state = 'running';
    job.startedAt = performance.now();
    this.running.add(job);
    try {
      this.store.updateRunStatus(job.runId, 'running');
      rmSync(job.worker.cancelFile, { force: true });
      const entry = this.opts.workerEntry ?? fileURLToPath(new URL('./worker.ts', import.meta.url));
      const execArgv = [
        ...(entry.endsWith('.ts') ? ['--import', tsxLoaderUrl()] : []),
        ...(job.record.maxMemoryMb ? [`--max-old-space-size=${job.record.maxMemoryMb}`] : []),
        ...(this.opts.execArgv ?? []),
      ];
      const child = fork(entry, [], {
        execArgv,
        execPath: this.opts.execPath,
        env: { ...process.env, ...this.opts.env },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        // Structured clone keeps NaN metrics (JSON would turn them into null).
        serialization: 'advanced',
      });
      job.child = child;
      job.pid = child.pid;
      const log = join(job.worker.runDir, 'worker.log');
      const keep = (chunk: Buffer, isErr: boolean) => {
        try {
          appendFileSync(log, chunk);
        } catch {
          // The log is a convenience; never fail a job over it.
        }
        if (isErr) job.stderrTail = (job.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL);
      };
      child.stdout?.on('data', (c: Buffer) => keep(c, false));
      child.stderr?.on('data', (c: Buffer) => keep(c, true));
      child.on('message', (m: unknown) => this.onMessage(job, m));
      child.on('error', (e) => {
        // Spawning failed (no 'close' follows), or a message could not be sent.
        if (child.pid === undefined) this.finish(job, { status: 'failed', error: `the worker could not start: ${errorMessage(e)}` });
        else job.internalError ??= `the worker's channel failed: ${errorMessage(e)}`;
      });
      child.on('close', (code, signal) => this.onClose(job, code, signal));
      if (child.pid !== undefined) {
        child.send({ type: 'start', job: job.worker });
        this.emitEvent(job, 'started', { pid: child.pid });
      }
    } catch (e) {
      this.finish(job, { status: 'failed', error: `the worker could not start: ${errorMessage(e)}` });
    }
  }

  private onMessage(job: Job, raw: unknown): void {
    if (job.state !== 'running') return;
    const r = workerMessageSchema.safeParse(raw);
    if (!r.success) {
      this.abort(job, `the worker sent a malformed message: ${r.error.issues.map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`).join('; ')}`);
      return;
    }
    const msg = r.data;
    try {
      switch (msg.type) {
        case 'ready':
          this.store.updateRun(job.runId, { backend: msg.backend });
          break;
        case 'progress': {
          // The worker's elapsedMs counts from the start of its current phase; the job's counts from its start.
          Object.assign(job, { phase: msg.phase, step: msg.step, total: msg.total, etaMs: msg.etaMs });
          for (const [name, value] of Object.entries(msg.metrics)) if (name !== 'epoch') job.pending.push({ step: msg.step, name, value });
          this.emitEvent(job, 'progress', { metrics: msg.metrics });
          this.scheduleFlush(job);
          break;
        }
        case 'metrics':
          job.pending.push(...msg.points);
          this.scheduleFlush(job);
          break;
        case 'checkpoint':
          this.flush(job);
          this.store.updateRun(job.runId, { checkpointPath: msg.path });
          this.emitEvent(job, 'checkpoint', { checkpointPath: msg.path, step: msg.step });
          break;
        case 'artifact':
          this.store.addArtifact({ runId: job.runId, kind: msg.kind, path: msg.path, sizeBytes: msg.sizeBytes, sha256: msg.sha256 });
          break;
        case 'headScores':
          this.store.saveHeadScores(job.runId, msg.name, { layers: msg.layers, heads: msg.heads, values: msg.values });
          break;
        case 'headSelection':
          this.store.saveHeadSelection(job.runId, msg.name, msg.heads);
          break;
        case 'done':
        case 'failed':
        case 'cancelled':
          // Recorded when the process has exited (onClose), so the next job never overlaps this one.
          job.terminal = msg;
          break;
      }
    } catch (e) {
      this.abort(job, `recording the worker's ${msg.type} message failed: ${errorMessage(e)}`);
    }
  }

  /** A main-side problem with a running job: stop the worker; the run fails with `error`. */
  private abort(job: Job, error: string): void {
    job.internalError ??= error;
    job.child?.kill('SIGKILL');
  }

  private scheduleFlush(job: Job): void {
    if (job.pending.length >= this.opts.metricBatchSize) this.flush(job);
    else if (!job.flushTimer && job.pending.length > 0) {
      job.flushTimer = setTimeout(() => {
        job.flushTimer = undefined;
        try {
          this.flush(job);
        } catch (e) {
          this.abort(job, `storing metrics failed: ${errorMessage(e)}`);
        }
      }, this.opts.metricFlushMs);
      job.flushTimer.unref?.();
    }
  }

  /** Writes the waiting metric points in one transaction and tells listeners. */
  private flush(job: Job): void {
    if (job.flushTimer) clearTimeout(job.flushTimer);
    job.flushTimer = undefined;
    if (job.pending.length === 0) return;
    const points = job.pending;
    job.pending = [];
    this.store.appendMetrics(job.runId, points);
    const latest: Record<string, number> = {};
    let step = 0;
    for (const p of points) {
      latest[p.name] = p.value;
      step = Math.max(step, p.step);
    }
    this.emitEvent(job, 'metrics', { metrics: latest, step: Math.max(step, job.step) });
  }

  private onClose(job: Job, code: number | null, signal: NodeJS.Signals | null): void {
    if (job.state === 'ended') return;
    const t = job.terminal;
    let status: 'succeeded' | 'failed' | 'cancelled';
    let error: string | undefined;
    if (job.internalError) {
      status = 'failed';
      error = job.internalError;
    } else if (t?.type === 'done' && code === 0) {
      status = 'succeeded';
    } else if (t?.type === 'cancelled') {
      status = 'cancelled';
      error = 'cancelled';
    } else if (t?.type === 'failed') {
      status = 'failed';
      error = t.error;
    } else if (job.cancelRequested) {
      status = 'cancelled';
      error = job.killedAfterGrace ? `cancelled: the worker did not stop within ${this.opts.cancelGraceMs} ms and was killed` : 'cancelled';
    } else {
      status = 'failed';
      error = describeDeath(code, signal, job.stderrTail, job.record.maxMemoryMb);
    }
    this.finish(job, { status, error, summary: t?.type === 'done' ? t.summary : undefined });
  }

  /** Records the outcome (metrics first), tells listeners, starts the next job. */
  private finish(job: Job, outcome: { status: 'succeeded' | 'failed' | 'cancelled'; error?: string; summary?: Record<string, unknown> }): void {
    if (job.state === 'ended') return;
    const wasRunning = job.state === 'running';
    job.elapsedMs = this.elapsedOf(job);
    job.state = 'ended';
    if (job.killTimer) clearTimeout(job.killTimer);
    let { status, error } = outcome;
    try {
      this.flush(job);
    } catch (e) {
      if (status === 'succeeded') status = 'failed';
      error = `${error ? `${error}; ` : ''}storing the last metrics failed: ${errorMessage(e)}`;
    }
    try {
      const log = join(job.worker.runDir, 'worker.log');
      if (wasRunning && existsSync(log) && statSync(log).size > 0) this.store.addArtifact({ runId: job.runId, kind: 'log', path: log, ...sha256File(log) });
    } catch {
      // The log is a convenience.
    }
    try {
      this.store.updateRunStatus(job.runId, status, status === 'succeeded' ? {} : { error: error ?? status });
    } catch (e) {
      // The run may have been deleted meanwhile; the event still goes out.
      error = `${error ? `${error}; ` : ''}the run could not be updated: ${errorMessage(e)}`;
    }
    rmSync(job.worker.cancelFile, { force: true });
    this.running.delete(job);
    const idx = this.queue.indexOf(job);
    if (idx >= 0) this.queue.splice(idx, 1);
    const type: JobEventType = status === 'succeeded' ? 'done' : status;
    const ev = this.emitEvent(job, type, {
      ...(error !== undefined && status !== 'succeeded' && { error }),
      ...(outcome.summary && { summary: outcome.summary }),
      ...(type === 'done' && { etaMs: 0 }),
    });
    job.final = ev;
    for (const w of job.waiters.splice(0)) w(ev);
    this.pump();
  }

  // ---- control -------------------------------------------------------------------------------

  /**
   * Cancels a job. A queued job ends at once; a running worker is asked to stop
   * (it checks between steps) and killed if it has not stopped within the grace
   * period. Returns false when the job had already ended.
   */
  cancel(jobId: string): boolean {
    const job = this.jobs.get(jobId);
    if (!job) throw new SubspaceError('NOT_FOUND', `cancel: jobId: no job with id "${jobId}"`, 'jobId');
    if (job.state === 'ended') return false;
    if (job.state === 'queued') {
      this.finish(job, { status: 'cancelled', error: 'cancelled before it started' });
      return true;
    }
    if (job.cancelRequested) return true;
    job.cancelRequested = true;
    try {
      writeFileSync(job.worker.cancelFile, `${new Date().toISOString()}\n`);
    } catch {
      // The IPC message and, at worst, the kill below still stop it.
    }
    try {
      if (job.child?.connected) job.child.send({ type: 'cancel' });
    } catch {
      // The worker may just have exited.
    }
    job.killTimer = setTimeout(() => {
      if (job.state !== 'running') return;
      job.killedAfterGrace = true;
      job.child?.kill('SIGKILL');
    }, this.opts.cancelGraceMs);
    job.killTimer.unref?.();
    return true;
  }

  /** The job's state and latest progress. */
  get(jobId: string): JobInfo | undefined {
    const job = this.jobs.get(jobId);
    return job && this.info(job);
  }

  /** Every job this manager knows, oldest first. */
  list(): JobInfo[] {
    return [...this.jobs.values()].map((j) => this.info(j));
  }

  private info(job: Job): JobInfo {
    return { jobId: job.id, runId: job.runId, kind: job.kind, state: job.state, pid: job.pid, phase: job.phase, step: job.step, total: job.total, parentRunId: job.parentRunId, final: job.final };
  }

  /** Resolves with the job's last event (done, failed or cancelled). */
  wait(jobId: string): Promise<JobEvent> {
    const job = this.jobs.get(jobId);
    if (!job) return Promise.reject(new SubspaceError('NOT_FOUND', `wait: jobId: no job with id "${jobId}"`, 'jobId'));
    if (job.final) return Promise.resolve(job.final);
    return new Promise((res) => job.waiters.push(res));
  }

  /**
   * The events as an async iterator. With `jobId`, only that job's: first its
   * queued and started events if they have happened, then the rest as they
   * come, ending after its last event (done, failed or cancelled). Without,
   * every job's from now on, until the manager is closed or the loop breaks.
   */
  events(filter: { jobId?: string } = {}): AsyncIterableIterator<JobEvent> {
    const buffer: JobEvent[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    const stop = () => {
      ended = true;
      this.off('event', listener);
      this.off('closed', stop);
      wake?.();
    };
    const listener = (e: JobEvent) => {
      if (filter.jobId !== undefined && e.jobId !== filter.jobId) return;
      buffer.push(e);
      if (filter.jobId !== undefined && TERMINAL_EVENT_TYPES.includes(e.type)) stop();
      wake?.();
    };
    const job = filter.jobId !== undefined ? this.jobs.get(filter.jobId) : undefined;
    if (filter.jobId !== undefined && !job) throw new SubspaceError('NOT_FOUND', `events: jobId: no job with id "${filter.jobId}"`, 'jobId');
    if (job) buffer.push(...job.lifecycle);
    if (job?.final) {
      buffer.push(job.final);
      ended = true;
    } else if (this.closed) ended = true;
    else {
      this.on('event', listener);
      this.on('closed', stop);
    }
    const it: AsyncIterableIterator<JobEvent> = {
      next: async () => {
        while (buffer.length === 0 && !ended) await new Promise<void>((r) => (wake = r));
        wake = undefined;
        if (buffer.length > 0) return { value: buffer.shift()!, done: false };
        return { value: undefined, done: true };
      },
      return: async () => {
        stop();
        buffer.length = 0;
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<JobEvent> {
    return this.events();
  }

  /**
   * Stops taking jobs: queued ones are cancelled, running ones are cancelled
   * (and killed after the grace period); resolves when all have ended. Closes the
   * store if the manager opened it.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of [...this.queue]) this.finish(job, { status: 'cancelled', error: 'cancelled: the job manager closed before it started' });
    const running = [...this.running];
    for (const job of running) this.cancel(job.id);
    await Promise.all(running.map((j) => this.wait(j.id)));
    this.emit('closed');
    if (this.ownsStore) this.store.close();
  }

  /** Wall time since the worker started, over every phase (0 for a job that never ran). */
  private elapsedOf(job: Job): number {
    if (job.state === 'ended' || job.startedAt === undefined) return job.elapsedMs;
    return Math.max(0, performance.now() - job.startedAt);
  }

  private emitEvent(job: Job, type: JobEventType, extra: Partial<JobEvent> = {}): JobEvent {
    const ev: JobEvent = {
      type,
      jobId: job.id,
      runId: job.runId,
      kind: job.kind,
      at: Date.now(),
      ...(job.phase !== undefined && { phase: job.phase }),
      step: job.step,
      total: job.total,
      elapsedMs: this.elapsedOf(job),
      etaMs: job.etaMs,
      metrics: {},
      ...(job.parentRunId !== undefined && { parentRunId: job.parentRunId }),
      ...extra,
    };
    if (type === 'queued' || type === 'started') job.lifecycle.push(ev);
    try {
      this.emit('event', ev);
    } catch (e) {
      // A listener's bug must not break the queue.
      console.error(`job ${job.id}: an event listener threw: ${errorMessage(e)}`);
    }
    return ev;
  }
}
