/**
 * Runs one bench workload in a process of its own and prints its figures as the
 * last line of stdout (JSON): a fresh wasm heap (wasm32 stops at 4 GiB, and a
 * heap never shrinks), and a peak resident size that is the workload's alone.
 *
 *   npx tsx bench/isolated.ts das [--smoke]
 *   npx tsx bench/isolated.ts lofit [--smoke]   (wasm with one thread and the training helper, as LoFIT jobs run)
 */
import { initBackend } from '../src-main/engine/backend/index.js';
import { withMemory } from './memory.js';
import { wasmThreadsForTraining } from '../src-main/engine/parallel/training-helper.js';

const [name] = process.argv.slice(2);
const smoke = process.argv.includes('--smoke');
const threadsAt = process.argv.indexOf('--threads');
const threadsArg = threadsAt >= 0 ? Number(process.argv[threadsAt + 1]) : undefined;

const WORKLOADS: Record<string, () => Promise<() => Promise<unknown> | unknown>> = {
  das: async () => {
    const specifier = './das.js';
    const mod = (await import(specifier)) as { benchDas: (o: { smoke?: boolean }) => Promise<unknown> };
    return () => mod.benchDas({ smoke });
  },
  lofit: async () => {
    const mod = await import('./lofit.js');
    return () => mod.benchLofitOnTask({ smoke });
  },
};

async function main(): Promise<void> {
  const load = WORKLOADS[name];
  if (!load) throw new Error(`isolated: unknown workload '${name}' (known: ${Object.keys(WORKLOADS).join(', ')})`);
  const wasmThreads = name === 'lofit' ? wasmThreadsForTraining() : threadsArg;
  const report = await initBackend(wasmThreads ? { wasmThreads } : {});
  const work = await load();
  const { result, memory } = await withMemory(work);
  const heap = (await import('../src-main/engine/tf.js')).backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  process.stdout.write('\n' + JSON.stringify({ device: report.device, result, memory, wasmHeapBytes: heap.wasm?.HEAPU8?.length }) + '\n');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  },
);
