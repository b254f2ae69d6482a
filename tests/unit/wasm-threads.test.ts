import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { wasmThreadCount } from '../../src-main/engine/backend/index.js';
import { SubspaceError } from '../../src-main/engine/errors.js';

const ROOT = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'subspace-wasm-threads-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A child process starts the wasm backend with the thread count from the environment,
// runs a few products large enough for XNNPACK to split, and prints what it got.
const script = join(dir, 'probe.mts');
writeFileSync(
  script,
  `
import * as tf from ${JSON.stringify(join(ROOT, 'src-main/engine/tf.ts'))};
import { initBackend } from ${JSON.stringify(join(ROOT, 'src-main/engine/backend/index.ts'))};
const report = await initBackend({ prefer: 'wasm' });
const a = tf.randomNormal([192, 256], 0, 1, 'float32', 1);
const b = tf.randomNormal([256, 320], 0, 1, 'float32', 2);
const plain = tf.matMul(a, b);
const transposed = tf.matMul(a, tf.transpose(b), false, true);
const batched = tf.matMul(tf.reshape(a, [3, 64, 256]), b);
const soft = tf.softmax(tf.div(plain, 16));
const out = [plain, transposed, batched, soft].map((t) => Array.from(t.dataSync()));
console.log(JSON.stringify({ device: report.device, out }));
`,
);

function probe(threads: string): Promise<{ device: string; out: number[][] }> {
  return new Promise((done, fail) => {
    execFile(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, env: { ...process.env, SUBSPACE_WASM_THREADS: threads }, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) fail(new Error(`probe with ${threads} threads failed: ${error.message}\n${stderr}`));
      else done(JSON.parse(String(stdout).trim().split('\n').pop()!));
    });
  });
}

describe('wasm thread count', () => {
  it('reads numbers and auto, and names the variable when the value is bad', () => {
    expect(wasmThreadCount(3)).toBe(3);
    expect(wasmThreadCount(1)).toBe(1);
    const auto = wasmThreadCount('auto');
    expect(auto).toBeGreaterThanOrEqual(1);
    expect(auto).toBeLessThanOrEqual(8);
    for (const bad of [0, 9, 2.5]) {
      expect(() => wasmThreadCount(bad)).toThrow(SubspaceError);
    }
    const saved = process.env.SUBSPACE_WASM_THREADS;
    try {
      process.env.SUBSPACE_WASM_THREADS = 'two';
      expect(() => wasmThreadCount()).toThrow(/SUBSPACE_WASM_THREADS|'two'/);
      process.env.SUBSPACE_WASM_THREADS = '2';
      expect(wasmThreadCount()).toBe(2);
    } finally {
      if (saved === undefined) delete process.env.SUBSPACE_WASM_THREADS;
      else process.env.SUBSPACE_WASM_THREADS = saved;
    }
  });
});

describe('threaded wasm backend in Node', () => {
  it('runs on the threads asked for, gives the single-threaded results, and lets the process exit', async () => {
    const [two, one] = await Promise.all([probe('2'), probe('1')]);
    expect(two.device).toMatch(/, 2 threads\)$/);
    expect(one.device).toMatch(/, 1 thread\)$/);
    expect(two.out.map((x) => x.length)).toEqual(one.out.map((x) => x.length));
    two.out.forEach((values, k) => {
      let worst = 0;
      values.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - one.out[k][i]) / (1 + Math.abs(one.out[k][i])))));
      expect(worst, `output ${k}`).toBeLessThan(1e-5);
    });
  });
});
