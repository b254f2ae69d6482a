/**
 * A pool worker process (see pool.ts): starts the backend, imports the task
 * module, runs its setup once and then one job per message, in order.
 */
import { initBackend } from '../backend/index.js';
import { errorMessage } from '../errors.js';
import type { FromWorker, ToWorker } from './protocol.js';
import type { TaskModule } from './pool.js';

function send(m: FromWorker): void {
  process.send?.(m);
}

let task: TaskModule<unknown, unknown, unknown> | undefined;
let queue: Promise<void> = Promise.resolve();

process.on('message', (m: ToWorker) => {
  // One message at a time: jobs are synchronous engine work, and order matters for init.
  queue = queue.then(() => handle(m));
});
process.on('disconnect', () => process.exit(0));

async function handle(m: ToWorker): Promise<void> {
  if (m.type === 'close') {
    process.exit(0);
  }
  if (m.type === 'init') {
    try {
      await initBackend({ ...(m.backend ? { prefer: m.backend } : {}), wasmThreads: m.wasmThreads });
      task = (await import(m.module)) as TaskModule<unknown, unknown, unknown>;
      if (typeof task.run !== 'function') throw new Error(`${m.module} exports no run(job) function`);
      await task.setup?.(m.init);
      send({ type: 'ready' });
    } catch (e) {
      send({ type: 'error', id: -1, batch: -1, message: errorMessage(e) });
      process.exit(1);
    }
    return;
  }
  try {
    send({ type: 'result', id: m.id, batch: m.batch, result: await task!.run(m.job) });
  } catch (e) {
    send({ type: 'error', id: m.id, batch: m.batch, message: errorMessage(e) });
  }
}
