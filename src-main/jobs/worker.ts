/**
 * The job worker: a child process (see runner.ts for why a process) that runs one
 * job and exits. It waits for `{ type: 'start', job }` on the IPC channel, starts
 * the tensor backend, loads the model and the task, runs the kind's engine call
 * and reports progress, checkpoints, artifacts and the outcome as
 * `WorkerMessage`s. It never opens the database: the main process records
 * everything, so killing a worker cannot damage the store.
 *
 * Cancellation: engine calls are synchronous, so while a step runs the event loop
 * (and with it the IPC 'cancel' message) is blocked. `shouldStop`, which the
 * engine polls between steps, therefore also looks for the cancel file the main
 * process creates, and notices when the main process is gone.
 */
import { existsSync, readFileSync } from 'node:fs';
import { initBackend } from '../engine/backend/index.js';
import { errorMessage, isSubspaceError, SubspaceError } from '../engine/errors.js';
import { loadModelFolder } from '../engine/io/model-folder.js';
import { CancelledError, type Progress } from '../engine/methods/progress.js';
import { loadTask } from '../engine/tasks/registry.js';
import { JOB_RUNNERS, type TaskData } from './job-kinds.js';
import { wasmThreadsForTraining } from '../engine/parallel/training-helper.js';
import { checkAt, inlineTaskSchema, parentMessageSchema, type WorkerJob, type WorkerMessage, type WorkerTask } from './protocol.js';

const TRAINS_WITH_HELPER = new Set<string>(['lofit', 'transfer']);

const parentPid = process.ppid;
let job: WorkerJob | undefined;
let cancelRequested = false;
let finished = false;
let lastPoll = 0;

function send(msg: WorkerMessage): void {
  if (process.send && process.connected) process.send(msg);
}

/** Sends the last message, then exits once it is on its way. */
function finish(msg: WorkerMessage, code: number): void {
  if (finished) return;
  finished = true;
  if (process.send && process.connected) process.send(msg, () => process.exit(code));
  else process.exit(code);
}

function shouldStop(): boolean {
  if (cancelRequested) return true;
  const now = performance.now();
  if (now - lastPoll < 20) return false;
  lastPoll = now;
  // A cancel file, or a new parent: the main process that started this job is gone.
  if ((job && existsSync(job.cancelFile)) || process.ppid !== parentPid) cancelRequested = true;
  return cancelRequested;
}

/** Progress to the main process. After a resume the engine's ETA counts from step 0; estimate from the steps this process ran. */
function progressReporter(): (p: Progress) => void {
  let first: { phase: string; step: number; t: number } | undefined;
  return (p) => {
    const now = performance.now();
    if (!first || first.phase !== p.phase) first = { phase: p.phase, step: p.step, t: now };
    let etaMs = p.etaMs;
    if (first.step > 1 && p.step > first.step) etaMs = ((now - first.t) / (p.step - first.step)) * Math.max(p.total - p.step, 0);
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(p.metrics)) if (typeof v === 'number') metrics[k] = v;
    send({ type: 'progress', phase: p.phase, step: p.step, total: p.total, elapsedMs: Math.max(0, p.elapsedMs), etaMs: Math.max(0, Number.isFinite(etaMs) ? etaMs : 0), metrics });
  };
}

async function loadTaskData(t: WorkerTask): Promise<TaskData> {
  if ('builtin' in t) {
    const lt = await loadTask(t.builtin);
    return { name: lt.manifest.name, train: lt.splits.train, dev: lt.splits.dev, test: lt.splits.test, multipleChoice: lt.manifest.kind === 'multiple-choice', roles: lt.manifest.roles, variables: lt.manifest.variables };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(t.file, 'utf8'));
  } catch (e) {
    throw new SubspaceError('BAD_FILE', `${t.file}: cannot read the job's task (${errorMessage(e)})`, t.file);
  }
  const task = checkAt(inlineTaskSchema, raw, `task file ${t.file}`);
  return { name: t.name, train: task.examples, dev: task.dev ?? [], test: task.test ?? [], multipleChoice: task.multipleChoice ?? false };
}

async function run(j: WorkerJob): Promise<void> {
  job = j;
  // LoFIT trains with a helper thread, which needs the second core that XNNPACK threads would take.
  const wasmThreads = TRAINS_WITH_HELPER.has(j.kind) ? wasmThreadsForTraining() : undefined;
  const report = await initBackend({ ...(j.backend && j.backend !== 'auto' ? { prefer: j.backend } : {}), ...(wasmThreads ? { wasmThreads } : {}) });
  const m = await loadModelFolder(j.modelFolder, { name: j.modelName, requireTokenizer: true });
  const task = await loadTaskData(j.task);
  send({ type: 'ready', backend: report.backend, device: report.device, model: m.name });
  if (shouldStop()) throw new CancelledError();
  const summary = await JOB_RUNNERS[j.kind]({ job: j, m, task, backend: report.backend, hooks: { onProgress: progressReporter(), shouldStop }, send });
  finish({ type: 'done', summary }, 0);
}

function fail(e: unknown): void {
  if (e instanceof Error && e.name === 'CancelledError') finish({ type: 'cancelled' }, 0);
  else finish({ type: 'failed', error: errorMessage(e) || String(e), code: isSubspaceError(e) ? e.code : undefined }, 1);
}

process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
// The main process went away while we were idle: nobody is left to report to.
process.on('disconnect', () => {
  if (!finished) process.exit(1);
});
process.on('message', (raw: unknown) => {
  const r = parentMessageSchema.safeParse(raw);
  if (!r.success) {
    fail(new SubspaceError('INTERNAL', `worker: a malformed message from the main process: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`));
    return;
  }
  const msg = r.data;
  if (msg.type === 'cancel') cancelRequested = true;
  else if (job) fail(new SubspaceError('INTERNAL', 'worker: a second start message; a worker runs one job'));
  else run(msg.job).catch(fail);
});
