/**
 * NumPy `.npy` files (format 1.0 written; 1.0, 2.0 and 3.0 read), for int64 and float32 arrays.
 *
 * Layout (numpy/lib/format.py): the magic `\x93NUMPY`, major and minor version bytes, the header
 * length (uint16 little-endian in 1.0; uint32 in 2.0 and 3.0), then the header: an ASCII (3.0:
 * UTF-8) Python dict literal `{'descr': '<i8', 'fortran_order': False, 'shape': (k, 2), }` padded
 * with spaces and ended by a newline so that the data starts on a multiple of 64 bytes (NumPy's
 * own ARRAY_ALIGN; the format document asks for at least 16), then the raw data in C order (or
 * Fortran order when `fortran_order` is True). For the same array our bytes equal `np.save`'s.
 *
 * The reader accepts `<i8`, `<f4` and also `<i4`, `<f8` and the big-endian forms; int64 data
 * comes back as BigInt64Array, float data as Float32Array (float64 rounded), int32 as Int32Array.
 * Fortran-ordered files are transposed into C order.
 */
import { readFileSync } from 'node:fs';
import { SubspaceError, errorMessage } from '../errors.js';
import type { ModelSpec } from '../model/config.js';
import { writeFileAtomic } from './pytorch-zip.js';

export type NpyDtype = 'int64' | 'float32' | 'int32' | 'float64';

export interface NpyArrayToWrite {
  shape: number[];
  /** BigInt64Array → '<i8', Float32Array → '<f4'. */
  data: BigInt64Array | Float32Array;
}

export interface NpyArray {
  /** The dtype in the file. */
  dtype: NpyDtype;
  shape: number[];
  data: BigInt64Array | Float32Array | Int32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ALIGN = 64;

function shapeLiteral(shape: number[]): string {
  if (shape.length === 0) return '()';
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** The bytes of a format-1.0 .npy file. */
export function encodeNpy(arr: NpyArrayToWrite): Uint8Array {
  if (!arr || !Array.isArray(arr.shape) || arr.shape.some((n) => !Number.isSafeInteger(n) || n < 0)) {
    throw new SubspaceError('BAD_ARGUMENT', 'an array to write needs a shape of non-negative integers', 'shape');
  }
  const n = arr.shape.reduce((a, b) => a * b, 1);
  let descr: string;
  let body: Buffer;
  if (arr.data instanceof BigInt64Array) {
    descr = '<i8';
    body = Buffer.alloc(n * 8);
    arr.data.forEach((v, i) => body.writeBigInt64LE(v, i * 8));
  } else if (arr.data instanceof Float32Array) {
    descr = '<f4';
    body = Buffer.alloc(n * 4);
    arr.data.forEach((v, i) => body.writeFloatLE(v, i * 4));
  } else {
    throw new SubspaceError('BAD_ARGUMENT', 'npy data must be a BigInt64Array (int64) or a Float32Array (float32)', 'data');
  }
  if (arr.data.length !== n) throw new SubspaceError('SHAPE_MISMATCH', `${arr.data.length} values for shape [${arr.shape.join(', ')}] (${n})`, 'data');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeLiteral(arr.shape)}, }`;
  // magic(6) + version(2) + length(2) + header + '\n' ≡ 0 (mod 64)
  const pad = (ALIGN - ((10 + header.length + 1) % ALIGN)) % ALIGN;
  header += ' '.repeat(pad) + '\n';
  if (header.length > 0xffff) throw new SubspaceError('UNSUPPORTED', 'the array has too many dimensions for a version 1.0 header', 'shape');
  const head = Buffer.alloc(10);
  MAGIC.forEach((b, i) => (head[i] = b));
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

/** Writes a .npy file atomically. */
export function writeNpy(path: string, arr: NpyArrayToWrite): void {
  writeFileAtomic(path, encodeNpy(arr));
}

interface Descr {
  dtype: NpyDtype;
  size: number;
  little: boolean;
}

function parseDescr(d: string, label: string): Descr {
  const m = /^([<>|=])([if])(\d)$/.exec(d);
  const kinds: Record<string, NpyDtype> = { i8: 'int64', i4: 'int32', f4: 'float32', f8: 'float64' };
  const dtype = m ? kinds[`${m[2]}${m[3]}`] : undefined;
  if (!m || !dtype) throw new SubspaceError('UNSUPPORTED', `${label}: dtype '${d}' is not supported (int64 '<i8', int32 '<i4', float32 '<f4', float64 '<f8')`, label);
  return { dtype, size: Number(m[3]), little: m[1] !== '>' };
}

/** Parses the bytes of a .npy file. `label` names it in errors. */
export function parseNpy(bytes: Uint8Array, label: string): NpyArray {
  const bad = (msg: string) => new SubspaceError('BAD_FILE', `${label}: ${msg}`, label);
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw bad('not a .npy file (no \\x93NUMPY magic)');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw bad('truncated header');
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    throw new SubspaceError('UNSUPPORTED', `${label}: .npy format version ${major}.${bytes[7]} is not supported (1.0, 2.0, 3.0)`, label);
  }
  if (start + headerLen > bytes.length) throw bad('the header runs past the end of the file');
  const header = Buffer.from(bytes.subarray(start, start + headerLen)).toString(major === 3 ? 'utf8' : 'latin1');
  const descrM = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header);
  const fortranM = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header);
  const shapeM = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descrM || !fortranM || !shapeM) throw bad(`cannot parse the header ${JSON.stringify(header.trim())}`);
  const descr = parseDescr(descrM[1], label);
  const shape = shapeM[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => (/^\d+L?$/.test(s) ? Number(s.replace('L', '')) : NaN));
  if (shape.some((n) => !Number.isSafeInteger(n))) throw bad(`invalid shape (${shapeM[1]})`);
  const fortran = fortranM[1] === 'True';
  const n = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLen;
  if (bytes.length - dataStart < n * descr.size) throw bad(`holds ${bytes.length - dataStart} data bytes, shape [${shape.join(', ')}] needs ${n * descr.size}`);
  // Element k in C order lives at element `src(k)` of the data (Fortran order: first axis fastest).
  const strides = new Array<number>(shape.length);
  let acc = 1;
  for (let i = 0; i < shape.length; i++) {
    strides[i] = acc;
    acc *= shape[i];
  }
  const src = (k: number): number => {
    if (!fortran) return k;
    let rest = k;
    let at = 0;
    for (let i = shape.length - 1; i >= 0; i--) {
      at += (rest % shape[i]) * strides[i];
      rest = Math.floor(rest / shape[i]);
    }
    return at;
  };
  const pos = (k: number) => dataStart + src(k) * descr.size;
  let data: BigInt64Array | Float32Array | Int32Array;
  switch (descr.dtype) {
    case 'int64':
      data = new BigInt64Array(n);
      for (let k = 0; k < n; k++) data[k] = view.getBigInt64(pos(k), descr.little);
      break;
    case 'int32':
      data = new Int32Array(n);
      for (let k = 0; k < n; k++) data[k] = view.getInt32(pos(k), descr.little);
      break;
    case 'float32':
      data = new Float32Array(n);
      for (let k = 0; k < n; k++) data[k] = view.getFloat32(pos(k), descr.little);
      break;
    case 'float64':
      data = new Float32Array(n);
      for (let k = 0; k < n; k++) data[k] = view.getFloat64(pos(k), descr.little);
      break;
  }
  return { dtype: descr.dtype, shape, data };
}

/** Reads a .npy file. */
export function readNpy(path: string): NpyArray {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SubspaceError('NOT_FOUND', `${path}: cannot be read (${errorMessage(e)})`, path);
  }
  return parseNpy(bytes, path);
}

/**
 * Writes a LoFIT head list: int64 [k, 2], rows (layer, head), in the given order (most important
 * first). `spec`, when given, checks every head exists in the model.
 */
export function exportLofitHeads(path: string, heads: readonly (readonly [number, number])[], spec?: Pick<ModelSpec, 'nLayers' | 'nHeads'>): void {
  if (!Array.isArray(heads)) throw new SubspaceError('BAD_ARGUMENT', 'heads must be a list of [layer, head] pairs', 'heads');
  const data = new BigInt64Array(heads.length * 2);
  const seen = new Set<string>();
  heads.forEach((pair, i) => {
    const [l, h] = Array.isArray(pair) ? pair : [NaN, NaN];
    if (!Number.isSafeInteger(l) || !Number.isSafeInteger(h) || l < 0 || h < 0) {
      throw new SubspaceError('BAD_ARGUMENT', `head ${i} must be a pair of non-negative integers [layer, head], got ${JSON.stringify(pair)}`, 'heads');
    }
    if (spec && (l >= spec.nLayers || h >= spec.nHeads)) {
      throw new SubspaceError('BAD_ARGUMENT', `head ${i} (${l}, ${h}) is out of range: the model has layers 0..${spec.nLayers - 1} and heads 0..${spec.nHeads - 1}`, 'heads');
    }
    const key = `${l}.${h}`;
    if (seen.has(key)) throw new SubspaceError('BAD_ARGUMENT', `head (${l}, ${h}) is listed twice`, 'heads');
    seen.add(key);
    data[2 * i] = BigInt(l);
    data[2 * i + 1] = BigInt(h);
  });
  writeNpy(path, { shape: [heads.length, 2], data });
}

/** Reads a LoFIT head list written by `exportLofitHeads` (or by LoFIT's own `np.save`). */
export function importLofitHeads(path: string): [number, number][] {
  const arr = readNpy(path);
  if (arr.shape.length !== 2 || arr.shape[1] !== 2 || (arr.dtype !== 'int64' && arr.dtype !== 'int32')) {
    throw new SubspaceError('BAD_FILE', `${path}: a head list is an integer array of shape [k, 2], got ${arr.dtype} [${arr.shape.join(', ')}]`, path);
  }
  const out: [number, number][] = [];
  for (let i = 0; i < arr.shape[0]; i++) {
    const l = Number(arr.data[2 * i]);
    const h = Number(arr.data[2 * i + 1]);
    if (!Number.isSafeInteger(l) || !Number.isSafeInteger(h) || l < 0 || h < 0) throw new SubspaceError('BAD_FILE', `${path}: row ${i} is not a (layer, head) pair of non-negative integers`, path);
    out.push([l, h]);
  }
  return out;
}
