/**
 * Runs one bench workload in a process of its own and prints its figures as the
 * last line of stdout (JSON): a fresh wasm heap (wasm32 stops at 4 GiB, and a
 * heap never shrinks), and a peak resident size that is the workload's alone.
 *
 *   npx tsx bench/isolated.ts das [--smoke]
 */
import { initBackend } from '../src-main/engine/backend/index.js';
import { withMemory } from './memory.js';

const [name] = process.argv.slice(2);
const smoke = process.argv.includes('--smoke');

async function main(): Promise<void> {
  const report = await initBackend();
  if (name !== 'das') throw new Error(`isolated: unknown workload '${name}' (known: das)`);
  const specifier = './das.js';
  const mod = (await import(specifier)) as { benchDas: (o: { smoke?: boolean }) => Promise<unknown> };
  const { result, memory } = await withMemory(() => mod.benchDas({ smoke }));
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
