/** Messages between a pool (pool.ts) and its worker processes (worker.ts). */
export type ToWorker =
  | { type: 'init'; module: string; init: unknown; backend?: string; wasmThreads: number }
  | { type: 'job'; id: number; batch: number; job: unknown }
  | { type: 'close' };

/** `batch` names the map() a job belongs to; id −1: the worker itself failed (start-up, setup). */
export type FromWorker = { type: 'ready' } | { type: 'result'; id: number; batch: number; result: unknown } | { type: 'error'; id: number; batch: number; message: string };
