/**
 * The training helper thread (see shard-thread.ts): starts its backend, then answers
 * each message with one reply on the port, counting replies on the shared signal.
 * Messages name a handler `{ task, ... }`; handlers are synchronous engine work.
 */
import { workerData, parentPort, type MessagePort } from 'node:worker_threads';
import { initBackend } from '../backend/index.js';
import { errorMessage } from '../errors.js';
import { handleLofitShard } from '../methods/lofit-shard.js';
import type { ShardReply } from './shard-thread.js';
import { setShardModel } from './shard-model.js';
import type { PlainModel } from '../model/weights-transfer.js';

const HANDLERS: Record<string, (message: Record<string, unknown>) => unknown> = {
  model: (m) => setShardModel(m.key as number, m.model as PlainModel),
  lofit: handleLofitShard,
};

const { port, signal, backend } = workerData as { port: MessagePort; signal: Int32Array; backend: string };

function reply(r: ShardReply): void {
  port.postMessage(r);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

try {
  await initBackend({ prefer: backend, wasmThreads: 1 });
  reply({ type: 'ok' });
} catch (e) {
  reply({ type: 'error', message: `its backend did not start: ${errorMessage(e)}` });
}

parentPort!.on('message', (m: Record<string, unknown>) => {
  try {
    const handler = HANDLERS[String(m.task)];
    if (!handler) throw new Error(`no handler for task '${String(m.task)}'`);
    reply({ type: 'ok', value: handler(m) });
  } catch (e) {
    reply({ type: 'error', message: errorMessage(e) });
  }
});
