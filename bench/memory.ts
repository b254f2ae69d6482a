/**
 * Memory per workload: the process's peak resident size while the workload ran
 * (Linux: the kernel's high-water mark, reset before each workload through
 * /proc/self/clear_refs; elsewhere the lifetime peak), and the tfjs engine's
 * peak and final tensor bytes (tracked by wrapping the engine's trackTensor,
 * which every new tensor passes through).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as tf from '../src-main/engine/tf.js';

export interface MemoryFigures {
  /** Peak resident set size during the workload. */
  peakRssBytes: number;
  /** Whether peakRssBytes is this workload's own (false: the process's lifetime peak). */
  peakRssIsPerWorkload: boolean;
  /** Most bytes the tfjs engine held at once, and what it held at the end. */
  tfjsPeakBytes: number;
  tfjsEndBytes: number;
  tensorsStart: number;
  tensorsEnd: number;
}

interface EngineLike {
  state: { numBytes: number };
  trackTensor(a: unknown, backend: unknown): void;
}

let tfjsPeak = 0;
let wrapped = false;

function wrapEngine(): void {
  if (wrapped) return;
  const engine = tf.engine() as unknown as EngineLike;
  const original = engine.trackTensor.bind(engine);
  engine.trackTensor = (a, backend) => {
    original(a, backend);
    if (engine.state.numBytes > tfjsPeak) tfjsPeak = engine.state.numBytes;
  };
  wrapped = true;
}

function resetRssPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

export function peakRssBytes(): number {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

/** Runs `f` and reports its memory figures beside its result. */
export async function withMemory<T>(f: () => Promise<T> | T): Promise<{ result: T; memory: MemoryFigures }> {
  wrapEngine();
  const perWorkload = resetRssPeak();
  const start = tf.memory();
  tfjsPeak = start.numBytes;
  const result = await f();
  const end = tf.memory();
  return {
    result,
    memory: {
      peakRssBytes: peakRssBytes(),
      peakRssIsPerWorkload: perWorkload,
      tfjsPeakBytes: tfjsPeak,
      tfjsEndBytes: end.numBytes,
      tensorsStart: start.numTensors,
      tensorsEnd: end.numTensors,
    },
  };
}
