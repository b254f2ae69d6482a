/**
 * Replacement kernels for the tfjs WebAssembly backend (tfjs-backend-wasm 4.22).
 *
 * What is wrong with the stock kernels, and what this file does about it:
 *
 * 1. `BatchMatMul` and `_FusedMatMul` only reach XNNPACK (about 15-35 GFLOP/s on
 *    one core with SIMD) when neither `transposeA` nor `transposeB` is set AND both
 *    operands have a batch size of 1. Everything else (any transpose flag, and any
 *    rank-3 operand with a batch > 1, including the everyday `[B,T,K] x [K,N]`)
 *    goes to a scalar blocked loop at about 1 GFLOP/s. The replacement
 *      - materialises transposes with the wasm `Transpose` kernel,
 *      - folds the batch into the rows when `b` has batch 1 (`[B,M,K] x [K,N]` is
 *        one `[B*M,K] x [K,N]` product: same memory layout, no copy),
 *      - otherwise runs one batch-1 product per batch, copying each slice,
 *    and then calls the ORIGINAL kernel without flags on batch-1 operands, so all
 *    the arithmetic still happens in XNNPACK. Every intermediate is disposed.
 *    A small cost model keeps the stock path where it is cheaper: transposing a
 *    huge `b` (e.g. a 50257x768 embedding) for a single row costs more than the
 *    slow loop.
 * 2. The stock `_FusedMatMul` slow loop adds the wrong bias: it indexes the bias
 *    with `min(row * N + col, bias.size - 1)`, so every row after the first gets
 *    `bias[N-1]`. Any fused matmul with a bias and a transpose flag or a batch > 1
 *    is wrong on stock wasm. The replacement never sends a biased product down
 *    that loop.
 * 3. The stock kernels cache an XNNPACK operator per b tensor id with b's shape
 *    baked in; a reshaped view of the same weights (same id, other [K, N])
 *    makes the wasm runtime abort the process. The replacement hands XNNPACK a
 *    copy of b when its id comes back with another shape (see xnnSafeB).
 * 4. wasm has no `UnsortedSegmentSum` kernel, which the gradient of `gather`
 *    (training through an embedding lookup) needs. One is registered here; it runs
 *    in JavaScript directly on the wasm heap (no copies in or out), O(size of x).
 * 5. A product with b stored transposed (`transposeB`, b [N, K]) against a few rows
 *    of a — every backward pass through a linear layer, dx = dy·Wᵀ, and above all
 *    through a 50257-row unembedding — transposed and packed all of b on every
 *    call (3.5 s for [8, 50257]·[768, 50257]ᵀ). It is now computed as (B·Aᵀ)ᵀ when
 *    that is cheaper, moving only the small operand (80 ms for the same product).
 * 6. wasm's `Identity` copies the bytes. The engine runs it on every input a
 *    gradient needs, so each training step copied its saved activations and
 *    weights (154 MB for a GPT-2 unembedding) under new ids that XNNPACK's
 *    packed-weights cache had never seen. The replacement shares the data.
 *
 * `installWasmKernels()` is idempotent and `uninstallWasmKernels()` restores the
 * stock kernels (the benchmark uses both to measure before/after in one run).
 * Nothing here runs kernels of its own; it only needs `@tensorflow/tfjs-backend-wasm`
 * to have been imported (which registers the stock kernels) before installing.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DataId, DataType, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { SubspaceError } from '../errors.js';

const WASM = 'wasm';
const BATCH_MAT_MUL = 'BatchMatMul';
const FUSED_MAT_MUL = '_FusedMatMul';
const UNSORTED_SEGMENT_SUM = 'UnsortedSegmentSum';
const TRANSPOSE = 'Transpose';
const IDENTITY = 'Identity';

/** The parts of tfjs-backend-wasm's BackendWasm that these kernels use (all public). */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: DataId, force?: boolean): boolean;
  incRef(dataId: DataId): void;
}

interface KernelArgs {
  inputs: Record<string, TensorInfo | undefined>;
  backend: WasmBackendLike;
  attrs?: NamedAttrMap;
}

type RawKernel = (args: KernelArgs) => TensorInfo;

/** Marks our replacement configs, so that installing twice does not wrap twice. */
const REPLACEMENT = Symbol.for('subspace.wasmKernelReplacement');

interface Installed {
  /** Stock configs we replaced, to restore on uninstall. */
  replaced: KernelConfig[];
  /** Kernels we added where wasm had none. */
  added: string[];
}

let installed: Installed | null = null;

/**
 * Cost model used to choose between the stock slow loop and the XNNPACK route,
 * in nanoseconds, from measurements on one x86-64 core (Node 20, SIMD, 1 thread).
 * Only the ratio matters; it is deliberately conservative towards the XNNPACK route
 * losing (a wrong pick costs at most about 2x, a right one gains 5-15x).
 */
const COST = {
  slowPerFlop: 0.9, // stock blocked loop: ~1.1 GFLOP/s
  fastPerFlop: 0.08, // XNNPACK fully-connected: ~12+ GFLOP/s incl. packing, one thread
  transposePerElement: 8, // wasm Transpose kernel on large matrices (cache-unfriendly)
  copyPerElement: 1, // memcpy of a batch slice
  packPerElement: 3, // XNNPACK packs b when it sees a new tensor id
  // Per XNNPACK product: creating, setting up and deleting an operator, plus the
  // kernel call: about 30 us on one thread ([96 x 33 x 64] x [64 x 33] in 96
  // slices: 2.9 ms, the stock loop 16 ms). With more threads every operator also
  // waits for its helpers; idle cores answer in tens of microseconds (busy ones can
  // take milliseconds, which is why 'auto' leaves busy cores alone).
  perCall: 30_000,
  perCallThreaded: 60_000,
};

/** XNNPACK threads (set by the backend's start); the products scale, the stock loop does not. */
let xnnThreads = 1;

export function setWasmKernelThreads(n: number): void {
  xnnThreads = Math.max(1, Math.floor(n));
}

export function wasmKernelThreads(): number {
  return xnnThreads;
}

/**
 * How the replacement matmul chooses: 'auto' uses the cost model; 'xnnpack'
 * always materialises transposes and splits batches (tests use it to reach that
 * path with small shapes); 'stock' calls the original kernel except where it is
 * wrong (a fused product with a bias and more than one row); 'swapped' takes the
 * swapped product wherever it applies (see makeMatMul), else the XNNPACK route.
 */
export type WasmMatMulRoute = 'auto' | 'xnnpack' | 'stock' | 'swapped';
let route: WasmMatMulRoute = 'auto';

export function setWasmMatMulRoute(r: WasmMatMulRoute): void {
  if (r !== 'auto' && r !== 'xnnpack' && r !== 'stock' && r !== 'swapped') {
    throw new SubspaceError('BAD_ARGUMENT', `Unknown matmul route '${String(r)}': use auto, xnnpack, swapped or stock.`);
  }
  route = r;
}

/** How many products each route took since install (for tests and profiling). */
export interface WasmMatMulCounts {
  stock: number;
  folded: number;
  perBatch: number;
  swapped: number;
}
const counts: WasmMatMulCounts = { stock: 0, folded: 0, perBatch: 0, swapped: 0 };

export function wasmMatMulCounts(): WasmMatMulCounts {
  return { ...counts };
}

export interface WasmKernelStatus {
  installed: boolean;
  batchMatMul: boolean;
  fusedMatMul: boolean;
  /** Identity shares data instead of copying it. */
  identity: boolean;
  /** True when we had to add UnsortedSegmentSum (wasm 4.22 has none). */
  unsortedSegmentSumAdded: boolean;
}

export function wasmKernelStatus(): WasmKernelStatus {
  return {
    installed: installed !== null,
    batchMatMul: isReplacement(tf.getKernel(BATCH_MAT_MUL, WASM)),
    fusedMatMul: isReplacement(tf.getKernel(FUSED_MAT_MUL, WASM)),
    identity: isReplacement(tf.getKernel(IDENTITY, WASM)),
    unsortedSegmentSumAdded: installed?.added.includes(UNSORTED_SEGMENT_SUM) ?? false,
  };
}

/**
 * Replace the wasm matmul kernels and add the missing ones. Idempotent. Throws a
 * SubspaceError if the wasm backend's kernels are not registered (the package was
 * not imported).
 */
export function installWasmKernels(): WasmKernelStatus {
  if (installed) return wasmKernelStatus();
  const transposeConfig = tf.getKernel(TRANSPOSE, WASM);
  const bmm = tf.getKernel(BATCH_MAT_MUL, WASM);
  if (!bmm || !transposeConfig) {
    throw new SubspaceError(
      'BACKEND',
      'The WebAssembly kernels are not registered: import @tensorflow/tfjs-backend-wasm before installing the kernel fixes.',
    );
  }
  const transposeKernel = transposeConfig.kernelFunc as unknown as RawKernel;
  const state: Installed = { replaced: [], added: [] };

  for (const [name, fused] of [
    [BATCH_MAT_MUL, false],
    [FUSED_MAT_MUL, true],
  ] as const) {
    const original = tf.getKernel(name, WASM);
    if (!original || isReplacement(original)) continue;
    const replacement: KernelConfig & { [REPLACEMENT]?: true } = {
      kernelName: name,
      backendName: WASM,
      // Keep the stock setup/dispose: they bind the C++ entry points the original
      // kernelFunc calls, and must run again if the backend is re-initialised.
      setupFunc: original.setupFunc,
      disposeFunc: original.disposeFunc,
      kernelFunc: makeMatMul(original.kernelFunc as unknown as RawKernel, transposeKernel, fused) as unknown as KernelFunc,
    };
    replacement[REPLACEMENT] = true;
    tf.unregisterKernel(name, WASM);
    tf.registerKernel(replacement);
    state.replaced.push(original);
  }

  const identity = tf.getKernel(IDENTITY, WASM);
  if (identity && !isReplacement(identity)) {
    identityStock = identity.kernelFunc as unknown as RawKernel;
    const replacement: KernelConfig & { [REPLACEMENT]?: true } = { kernelName: IDENTITY, backendName: WASM, kernelFunc: sharedIdentity as unknown as KernelFunc };
    replacement[REPLACEMENT] = true;
    tf.unregisterKernel(IDENTITY, WASM);
    tf.registerKernel(replacement);
    state.replaced.push(identity);
  }

  if (!tf.getKernel(UNSORTED_SEGMENT_SUM, WASM)) {
    tf.registerKernel({
      kernelName: UNSORTED_SEGMENT_SUM,
      backendName: WASM,
      kernelFunc: unsortedSegmentSum as unknown as KernelFunc,
    });
    state.added.push(UNSORTED_SEGMENT_SUM);
  }
  installed = state;
  return wasmKernelStatus();
}

/** Restore the stock wasm kernels (for benchmarks and tests). */
export function uninstallWasmKernels(): void {
  if (!installed) return;
  for (const original of installed.replaced) {
    tf.unregisterKernel(original.kernelName, WASM);
    tf.registerKernel(original);
  }
  for (const name of installed.added) tf.unregisterKernel(name, WASM);
  installed = null;
}

function isReplacement(config: KernelConfig | undefined): boolean {
  return !!config && (config as { [REPLACEMENT]?: true })[REPLACEMENT] === true;
}

// ---------------------------------------------------------------------------
// BatchMatMul / _FusedMatMul
// ---------------------------------------------------------------------------

function prod(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function view(info: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

function makeMatMul(original: RawKernel, transposeKernel: RawKernel, fused: boolean): RawKernel {
  const stock = (args: KernelArgs): TensorInfo => {
    counts.stock++;
    return original(args);
  };
  return function subspaceMatMul(args: KernelArgs): TensorInfo {
    const { inputs, backend } = args;
    const attrs = (args.attrs ?? {}) as NamedAttrMap;
    const a = inputs.a;
    const b = inputs.b;
    if (!a || !b || a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) {
      return stock(args); // the stock kernel reports the problem
    }
    const transposeA = attrs.transposeA === true;
    const transposeB = attrs.transposeB === true;
    const ar = a.shape.length;
    const br = b.shape.length;
    const M = transposeA ? a.shape[ar - 1] : a.shape[ar - 2];
    const K = transposeA ? a.shape[ar - 2] : a.shape[ar - 1];
    const Kb = transposeB ? b.shape[br - 1] : b.shape[br - 2];
    const N = transposeB ? b.shape[br - 2] : b.shape[br - 1];
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const batchA = prod(outerA);
    const batchB = prod(outerB);
    if (K !== Kb || M === 0 || N === 0 || K === 0) return stock(args);
    // Only the broadcasts we reproduce exactly: one side has batch 1, or both have
    // the same batch dims up to leading 1s. Anything else (e.g. [2,5,..] x [5,..])
    // stays with the stock kernel, which also raises the standard shape errors.
    if (!(batchA === 1 || batchB === 1 || broadcastsTo(outerA, outerB))) return stock(args);
    const outOuter = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
    const batch = prod(outOuter);

    const bias = fused ? inputs.bias : undefined;
    const prelu = fused ? inputs.preluActivationWeights : undefined;
    // The stock kernel is already on XNNPACK in this case (b must keep one shape).
    if (!transposeA && !transposeB && batchA === 1 && batchB === 1) {
      const b1 = xnnSafeB(backend, b, K, N);
      if (b1 === b) return stock(args);
      try {
        return stock({ ...args, inputs: { ...inputs, b: b1 } });
      } finally {
        backend.disposeData(b1.dataId);
      }
    }

    const fold = batchB === 1; // [batch*M, K] x [K, N]
    const calls = fold ? 1 : batch;
    if (!fold && prelu && prod(prelu.shape) > M * N) return stock(args);
    if (route === 'stock' && !(bias && M > 1)) return stock(args);

    // The swapped product: with b stored [N, K] (transposeB), C = op(A)·Bᵀ is the
    // transpose of B·op(A)ᵀ. XNNPACK then reads the big B as it is stored and packs
    // only the small op(A)ᵀ, where the other route transposes and packs all of B on
    // every call (a backward pass through a 50257-row unembedding, or dx = dy·Wᵀ for
    // a few rows). Only without a bias or activation: those are per column of C.
    const plainOutput = !fused || (!bias && !prelu && (attrs.activation === undefined || attrs.activation === 'linear'));
    const canSwap = fold && transposeB && plainOutput && (!transposeA || batchA === 1);
    const rows = batchA * M;

    // Cost of the stock slow loop vs. transposes + copies + XNNPACK. With a bias
    // the stock loop is only right for single-row products (see the header).
    let swap = route === 'swapped' && canSwap;
    if (route === 'auto' && (!bias || M === 1)) {
      const flops = 2 * batch * M * K * N;
      const fastFlop = COST.fastPerFlop / (1 + 0.8 * (xnnThreads - 1));
      const perCall = xnnThreads > 1 ? COST.perCallThreaded : COST.perCall;
      const slow = flops * COST.slowPerFlop;
      const transposed = (transposeA ? batchA * M * K : 0) + (transposeB ? batchB * K * N : 0);
      const copied = fold ? 0 : (batchA > 1 ? batch * M * K : 0) + (batchB > 1 ? batch * K * N : 0) + batch * M * N;
      // XNNPACK caches the packed b per tensor id: free for a persistent b.
      const packed = fold && !transposeB ? 0 : calls * K * N;
      const fast = flops * fastFlop + transposed * COST.transposePerElement + copied * COST.copyPerElement + packed * COST.packPerElement + calls * perCall;
      const swapped = canSwap ? flops * fastFlop + ((transposeA ? 0 : rows * K) + rows * N) * COST.transposePerElement + rows * K * COST.packPerElement + 2 * perCall : Infinity;
      if (slow <= fast && slow <= swapped) return stock(args);
      swap = swapped < fast;
    }
    if (swap) return swappedProduct(original, transposeKernel, backend, a, b, { transposeA, rows, K, N, shape: [...outOuter, M, N], attrs });

    const temps: TensorInfo[] = [];
    try {
      const swapLast2 = (x: TensorInfo): TensorInfo => {
        const r = x.shape.length;
        const perm = [...Array(r).keys()];
        perm[r - 2] = r - 1;
        perm[r - 1] = r - 2;
        const t = transposeKernel({ inputs: { x }, backend, attrs: { perm } });
        temps.push(t);
        return t;
      };
      const a2 = transposeA ? swapLast2(a) : a; // [...outerA, M, K]
      let b2 = transposeB ? swapLast2(b) : b; // [...outerB, K, N]
      if (fold && b2 === b) {
        b2 = xnnSafeB(backend, b, K, N);
        if (b2 !== b) temps.push(b2);
      }
      const flagsOff: NamedAttrMap = { ...attrs, transposeA: false, transposeB: false };
      const extra: Record<string, TensorInfo | undefined> = fused ? { bias, preluActivationWeights: prelu } : {};

      if (fold) {
        counts.folded++;
        const out = original({
          inputs: { ...extra, a: view(a2, [1, batchA * M, K]), b: view(b2, [1, K, N]) },
          backend,
          attrs: flagsOff,
        });
        // Same layout as [...outOuter, M, N]; the rows of a were already in order.
        return view(out, fused ? [batch, M, N] : [...outOuter, M, N]);
      }

      // One batch-1 product per batch; the results are copied into one output.
      counts.perBatch++;
      const out = backend.makeOutput(fused ? [batch, M, N] : [...outOuter, M, N], 'float32');
      let ok = false;
      try {
        for (let i = 0; i < batch; i++) {
          const ai = batchA === 1 ? view(a2, [1, M, K]) : copySlice(backend, a2, i, M * K, [1, M, K]);
          const bi = copySlice(backend, b2, i, K * N, [1, K, N]); // batchB > 1 here
          try {
            const oi = original({ inputs: { ...extra, a: ai, b: bi }, backend, attrs: flagsOff });
            // Fetch views after every allocation: a growing heap detaches old ones.
            (backend.typedArrayFromHeap(out) as Float32Array).set(
              backend.typedArrayFromHeap(oi) as Float32Array,
              i * M * N,
            );
            backend.disposeData(oi.dataId);
          } finally {
            if (ai.dataId !== a2.dataId) backend.disposeData(ai.dataId);
            backend.disposeData(bi.dataId);
          }
        }
        ok = true;
      } finally {
        if (!ok) backend.disposeData(out.dataId);
      }
      return out;
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  };
}

/**
 * C = op(A)·Bᵀ for b stored [N, K], computed as (B·op(A)ᵀ)ᵀ: XNNPACK multiplies
 * the stored B by op(A)ᵀ [K, rows] (the rows of every batch of a, folded), and the
 * [N, rows] result is transposed back. Only the small operands move.
 */
function swappedProduct(
  original: RawKernel,
  transposeKernel: RawKernel,
  backend: WasmBackendLike,
  a: TensorInfo,
  b: TensorInfo,
  o: { transposeA: boolean; rows: number; K: number; N: number; shape: number[]; attrs: NamedAttrMap },
): TensorInfo {
  counts.swapped++;
  const { rows, K, N } = o;
  const flagsOff: NamedAttrMap = { ...o.attrs, transposeA: false, transposeB: false };
  // op(A)ᵀ: a stored [K, M] (transposeA, batch 1) already is, and then goes to XNNPACK as
  // its b, whose packing is cached by id: through xnnSafeB like any b. Else transpose the
  // folded [rows, K] into a temporary.
  const at = o.transposeA ? xnnSafeB(backend, a, K, rows) : transposeKernel({ inputs: { x: view(a, [rows, K]) }, backend, attrs: { perm: [1, 0] } });
  let ct: TensorInfo | null = null;
  try {
    ct = original({ inputs: { a: view(b, [1, N, K]), b: view(at, [1, K, rows]) }, backend, attrs: flagsOff });
    const c = transposeKernel({ inputs: { x: view(ct, [N, rows]) }, backend, attrs: { perm: [1, 0] } });
    return view(c, o.shape);
  } finally {
    if (at.dataId !== a.dataId) backend.disposeData(at.dataId);
    if (ct) backend.disposeData(ct.dataId);
  }
}

/**
 * wasm's Identity copies the tensor's bytes. The engine calls it to keep every
 * input a gradient needs (tape saves), so a training step copied each saved
 * activation and weight (a GPT-2 unembedding is 154 MB) and gave the copy a new
 * id, which also defeated XNNPACK's packed-weights cache. Tensors are immutable,
 * so the copy can share the data, as the cpu backend's Identity does.
 */
function sharedIdentity(args: KernelArgs): TensorInfo {
  const x = args.inputs.x!;
  if (x.dtype === 'string') return identityStock!(args);
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}
let identityStock: RawKernel | null = null;

/**
 * The stock kernel caches one XNNPACK operator per b tensor id, with b's
 * [K, N] baked in, and looks it up by id only. tf.reshape() shares the id, so
 * the same weights used as b under another [K, N] (e.g. [768,3072] then
 * reshaped to [3072,768]) hit the stale operator: the wasm runtime aborts and
 * takes the process with it (measured on 4.22). Remember the shape each b id
 * was first multiplied with, and hand XNNPACK a copy for any other shape.
 */
const xnnShapeOfB = new WeakMap<DataId, string>();

function xnnSafeB(backend: WasmBackendLike, b: TensorInfo, K: number, N: number): TensorInfo {
  const key = `${K}x${N}`;
  const seen = xnnShapeOfB.get(b.dataId);
  if (seen === undefined) xnnShapeOfB.set(b.dataId, key);
  if (seen === undefined || seen === key) return b;
  return copySlice(backend, b, 0, K * N, [...b.shape]); // same shape, new id
}

/** True if `from` equals `to` after dropping leading 1s (e.g. [1,6] vs [6]). */
function broadcastsTo(from: readonly number[], to: readonly number[]): boolean {
  const strip = (d: readonly number[]) => {
    let i = 0;
    while (i < d.length && d[i] === 1) i++;
    return d.slice(i);
  };
  return sameDims(strip(from), strip(to));
}

function copySlice(
  backend: WasmBackendLike,
  src: TensorInfo,
  index: number,
  size: number,
  shape: number[],
): TensorInfo {
  const dst = backend.makeOutput(shape, 'float32');
  const from = backend.typedArrayFromHeap(src) as Float32Array;
  (backend.typedArrayFromHeap(dst) as Float32Array).set(from.subarray(index * size, (index + 1) * size));
  return dst;
}

// ---------------------------------------------------------------------------
// UnsortedSegmentSum
// ---------------------------------------------------------------------------

/**
 * out[s, ...] = sum of x[i, ...] over the i where segmentIds[i] == s.
 *
 * `segmentIds` (int32) has the shape of a prefix of `x`'s shape (tfjs only
 * passes 1-D ids of length x.shape[0]); the output is
 * `[numSegments, ...x.shape.slice(segmentIds.rank)]`, dtype of x. Ids outside
 * [0, numSegments) are dropped, as on the cpu backend. Runs in JavaScript on
 * views of the wasm heap: no copies in or out, one pass over x.
 */
function unsortedSegmentSum(args: KernelArgs): TensorInfo {
  const { inputs, backend } = args;
  const x = inputs.x;
  const ids = inputs.segmentIds;
  const numSegments = Number(args.attrs?.numSegments);
  if (!x || !ids) throw new SubspaceError('BAD_ARGUMENT', 'UnsortedSegmentSum needs x and segmentIds.');
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new SubspaceError('BAD_ARGUMENT', `UnsortedSegmentSum: numSegments must be a non-negative integer, got ${args.attrs?.numSegments}.`);
  }
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new SubspaceError('UNSUPPORTED', `UnsortedSegmentSum on wasm supports float32 and int32, not ${x.dtype}.`);
  }
  const idRank = ids.shape.length;
  if (idRank > x.shape.length || !sameDims(ids.shape, x.shape.slice(0, idRank))) {
    throw new SubspaceError(
      'SHAPE_MISMATCH',
      `UnsortedSegmentSum: segmentIds shape [${ids.shape}] must be a prefix of x shape [${x.shape}].`,
    );
  }
  const inner = x.shape.slice(idRank);
  const width = prod(inner);
  const count = prod(ids.shape);
  // Allocate first: allocation may grow the heap and detach earlier views.
  const out = backend.makeOutput([numSegments, ...inner], x.dtype);
  const dst = backend.typedArrayFromHeap(out);
  dst.fill(0); // malloc'd memory is not zeroed
  const src = backend.typedArrayFromHeap(x);
  let idView = backend.typedArrayFromHeap(ids);
  if (ids.dtype !== 'int32') idView = Int32Array.from(idView); // tfjs casts ids to int32 already
  for (let i = 0; i < count; i++) {
    const s = idView[i];
    if (s < 0 || s >= numSegments) continue;
    const from = i * width;
    const to = s * width;
    for (let j = 0; j < width; j++) dst[to + j] += src[from + j];
  }
  return out;
}
