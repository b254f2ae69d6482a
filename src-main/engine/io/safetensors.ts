/**
 * Reading and writing safetensors files.
 *
 * Layout: an 8-byte little-endian unsigned header length N, then N bytes of
 * UTF-8 JSON
 *   { "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] },
 *     "__metadata__": { "<key>": "<string value>" } }
 * then the raw little-endian data buffer; offsets are relative to the start of
 * that buffer (byte 8 + N of the file).
 *
 * What a read gives back, by dtype:
 *   F32, F16, BF16, F64  -> Float32Array (F16/BF16 widened exactly, F64 rounded to f32)
 *   I64                  -> Int32Array by default: every value must fit in int32,
 *                           otherwise an UNSUPPORTED error names the tensor, the
 *                           index and the value. With `{ int64: 'bigint' }` you get
 *                           a BigInt64Array instead (no range limit).
 *   I32 -> Int32Array, I16 -> Int16Array, I8 -> Int8Array, U8 -> Uint8Array,
 *   BOOL -> Uint8Array of 0/1 (any nonzero byte reads as 1).
 * The `dtype` reported with each tensor is the file's dtype.
 *
 * Validation is strict about everything that would make the data ambiguous or
 * unreadable (bad header, unknown dtype, bad shape or offsets, overlapping
 * tensors, size mismatch, truncation) and throws SubspaceError('BAD_FILE') with
 * the file and tensor named. It tolerates unused gaps between tensors and bytes
 * after the last tensor.
 *
 * Files are read with positional reads: the header alone for
 * readSafetensorsHeader, and only the requested tensors' byte ranges for
 * readSafetensors, in chunks below 1 GiB, so multi-gigabyte files work. All
 * file functions are synchronous (callers such as lazy weight sources are).
 *
 * The writer orders tensors by element size (largest first) then name, pads the
 * JSON header with spaces so the data starts on an 8-byte boundary (so every
 * tensor is aligned to its element size), and writes atomically through a
 * temporary file in the same directory and a rename.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SubspaceError, errorMessage } from '../errors.js';
import { bf16ToF32Array, f16ToF32Array, f32ToBf16Array, f32ToF16Array } from './halfprecision.js';

/* -------------------------------------------------------------------- types */

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Every dtype this module reads and writes. */
export const SAFETENSORS_DTYPES: readonly SafetensorsDtype[] = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'];

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** Largest JSON header accepted (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Typed arrays a read returns by default (I64 as Int32Array). */
export type NumericTensorData = Float32Array | Int32Array | Int16Array | Int8Array | Uint8Array;
/** Typed arrays a read may return: with `{ int64: 'bigint' }`, I64 comes back as BigInt64Array. */
export type TensorData = NumericTensorData | BigInt64Array;

export interface SafetensorsTensorInfo {
  dtype: SafetensorsDtype;
  shape: number[];
  /** [begin, end) relative to the start of the data buffer. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** N, the JSON header's length in bytes. */
  headerLength: number;
  /** Absolute file offset of the data buffer: 8 + N. */
  dataStart: number;
  /** Null-prototype record, so any tensor name (even "__proto__") is safe. */
  tensors: Record<string, SafetensorsTensorInfo>;
  metadata: Record<string, string>;
  fileSize: number;
}

export interface LoadedTensor<D extends TensorData = TensorData> {
  dtype: SafetensorsDtype;
  shape: number[];
  data: D;
}

export interface SafetensorsContents<D extends TensorData = TensorData> {
  /** In the header's order (or the order of `names` when given). */
  tensors: Map<string, LoadedTensor<D>>;
  metadata: Record<string, string>;
}

export interface ReadSafetensorsOptions {
  /** Read only these tensors (a missing name is a NOT_FOUND error). Default: all. */
  names?: readonly string[];
  /** How I64 tensors come back: Int32Array with a range check (default) or BigInt64Array. */
  int64?: 'int32' | 'bigint';
}

/**
 * A tensor to write. `data` has product(shape) elements, row-major.
 * Float dtypes take numbers (a Float32Array is copied bit-exactly for F32 and
 * rounded to nearest even for F16/BF16; other number arrays are rounded from
 * the exact double). Integer dtypes take integers in range (numbers or
 * bigints); BOOL takes anything, nonzero meaning true.
 */
export interface TensorToWrite {
  dtype: SafetensorsDtype;
  shape: readonly number[];
  data: ArrayLike<number> | ArrayLike<bigint>;
}

export type TensorsToWrite = Record<string, TensorToWrite> | ReadonlyMap<string, TensorToWrite>;

/* ---------------------------------------------------------------- helpers */

const IO_CHUNK = 1 << 30; // positional reads/writes stay well under Node's 2 GiB per call

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function requireLittleEndianHost(): void {
  if (!HOST_LITTLE_ENDIAN) {
    throw new SubspaceError('UNSUPPORTED', 'safetensors I/O needs a little-endian host');
  }
}

function q(s: string): string {
  return JSON.stringify(s);
}

function badFile(label: string, detail: string, tensor?: string): SubspaceError {
  const where = tensor === undefined ? '' : `tensor ${q(tensor)}: `;
  return new SubspaceError('BAD_FILE', `Bad safetensors file ${label}: ${where}${detail}`, label);
}

function badArg(label: string, detail: string, tensor?: string): SubspaceError {
  const where = tensor === undefined ? '' : `tensor ${q(tensor)}: `;
  return new SubspaceError('BAD_ARGUMENT', `Cannot write safetensors ${label}: ${where}${detail}`, tensor ?? label);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isDtype(v: string): v is SafetensorsDtype {
  return Object.hasOwn(DTYPE_BYTES, v);
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  try {
    const s = JSON.stringify(v);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return typeof v;
  }
}

/** Number of elements, or a message saying why the shape is bad. */
function shapeElements(shape: unknown): number | string {
  if (!Array.isArray(shape)) return `shape must be an array of integers, got ${describe(shape)}`;
  let n = 1;
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      return `shape ${describe(shape)} has an invalid dimension at index ${i} (${describe(d)}); dimensions must be non-negative integers`;
    }
    n *= d;
  }
  if (!Number.isSafeInteger(n)) return `shape ${describe(shape)} has too many elements`;
  return n;
}

/* ---------------------------------------------------------------- header */

/** Validate the 8-byte length prefix against the file size; returns N. */
function checkHeaderLength(prefix: Uint8Array, fileSize: number, label: string): number {
  if (fileSize < 8) {
    throw badFile(label, `file is ${fileSize} bytes, shorter than the 8-byte header length prefix`);
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw badFile(label, `header length ${n} is absurdly large (limit ${MAX_HEADER_BYTES} bytes); this is probably not a safetensors file`);
  }
  const len = Number(n);
  if (len > fileSize - 8) {
    throw badFile(label, `header length ${len} runs past the end of the file (file is ${fileSize} bytes, at most ${fileSize - 8} available for the header)`);
  }
  return len;
}

/** Parse and validate the JSON header. `bufferLength` is the size of the data buffer after it. */
function parseHeaderJson(json: Uint8Array, headerLength: number, fileSize: number, label: string): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json);
  } catch {
    throw badFile(label, 'header is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw badFile(label, `header is not valid JSON (${errorMessage(e)})`);
  }
  if (!isPlainObject(parsed)) {
    throw badFile(label, `header JSON must be an object, got ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : typeof parsed}`);
  }

  const dataStart = 8 + headerLength;
  const bufferLength = fileSize - dataStart;
  const tensors: Record<string, SafetensorsTensorInfo> = Object.create(null) as Record<string, SafetensorsTensorInfo>;
  const metadata: Record<string, string> = Object.create(null) as Record<string, string>;

  for (const [name, entry] of Object.entries(parsed)) {
    if (name === '__metadata__') {
      if (!isPlainObject(entry)) throw badFile(label, `__metadata__ must be an object of strings, got ${describe(entry)}`);
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') throw badFile(label, `__metadata__ value for key ${q(k)} must be a string, got ${describe(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    if (!isPlainObject(entry)) throw badFile(label, `entry must be an object with dtype, shape and data_offsets, got ${describe(entry)}`, name);
    for (const key of ['dtype', 'shape', 'data_offsets']) {
      if (!Object.hasOwn(entry, key)) throw badFile(label, `entry is missing "${key}"`, name);
    }
    const dtype = entry.dtype;
    if (typeof dtype !== 'string') throw badFile(label, `dtype must be a string, got ${describe(dtype)}`, name);
    if (!isDtype(dtype)) {
      throw badFile(label, `unsupported dtype ${q(dtype)} (supported: ${SAFETENSORS_DTYPES.join(', ')})`, name);
    }
    const elements = shapeElements(entry.shape);
    if (typeof elements === 'string') throw badFile(label, elements, name);
    const shape = (entry.shape as number[]).slice();

    const offs: unknown = entry.data_offsets;
    if (
      !Array.isArray(offs) ||
      offs.length !== 2 ||
      !offs.every((o: unknown) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)
    ) {
      throw badFile(label, `data_offsets must be two non-negative integers [begin, end], got ${describe(offs)}`, name);
    }
    const [begin, end] = offs as [number, number];
    if (begin > end) throw badFile(label, `data_offsets [${begin}, ${end}] are reversed (begin > end)`, name);
    const expected = elements * DTYPE_BYTES[dtype];
    if (end - begin !== expected) {
      throw badFile(
        label,
        `data_offsets [${begin}, ${end}] span ${end - begin} bytes, but shape ${describe(shape)} of ${dtype} needs ${expected} (${elements} elements x ${DTYPE_BYTES[dtype]} bytes)`,
        name,
      );
    }
    if (end > bufferLength) {
      throw badFile(
        label,
        `data_offsets [${begin}, ${end}] end past the data buffer, which has only ${bufferLength} bytes (file truncated? it is ${fileSize} bytes, the data starts at byte ${dataStart})`,
        name,
      );
    }
    tensors[name] = { dtype, shape, dataOffsets: [begin, end] };
  }

  // No two tensors may share bytes (empty tensors occupy none).
  const spans = Object.entries(tensors)
    .filter(([, t]) => t.dataOffsets[1] > t.dataOffsets[0])
    .sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0] || a[1].dataOffsets[1] - b[1].dataOffsets[1]);
  for (let i = 1; i < spans.length; i++) {
    const [prevName, prev] = spans[i - 1];
    const [name, cur] = spans[i];
    if (cur.dataOffsets[0] < prev.dataOffsets[1]) {
      throw badFile(
        label,
        `data_offsets [${cur.dataOffsets[0]}, ${cur.dataOffsets[1]}] overlap tensor ${q(prevName)} at [${prev.dataOffsets[0]}, ${prev.dataOffsets[1]}]`,
        name,
      );
    }
  }

  return { headerLength, dataStart, tensors, metadata, fileSize };
}

/* ------------------------------------------------------------------ decode */

/**
 * A fresh copy of bytes [begin, end) of `src`. (Not `src.slice()`: on a Node
 * Buffer that is a view into the same memory, not a copy.)
 */
function copyBytes(src: Uint8Array, begin = 0, end = src.byteLength): Uint8Array {
  const out = new Uint8Array(end - begin);
  out.set(src.subarray(begin, end));
  return out;
}

/** A typed-array view of `raw` (which the caller owns), copying only when it is misaligned. */
function view<T>(raw: Uint8Array, bytesPer: number, make: (buf: ArrayBufferLike, off: number, n: number) => T): T {
  const n = raw.byteLength / bytesPer;
  if (raw.byteOffset % bytesPer === 0) return make(raw.buffer, raw.byteOffset, n);
  return make(copyBytes(raw).buffer, 0, n);
}

function decodeTensor(raw: Uint8Array, info: SafetensorsTensorInfo, name: string, label: string, int64: 'int32' | 'bigint'): TensorData {
  switch (info.dtype) {
    case 'F32':
      return view(raw, 4, (b, o, n) => new Float32Array(b, o, n));
    case 'F64':
      return Float32Array.from(view(raw, 8, (b, o, n) => new Float64Array(b, o, n)));
    case 'F16':
      return f16ToF32Array(view(raw, 2, (b, o, n) => new Uint16Array(b, o, n)));
    case 'BF16':
      return bf16ToF32Array(view(raw, 2, (b, o, n) => new Uint16Array(b, o, n)));
    case 'I64': {
      if (int64 === 'bigint') return view(raw, 8, (b, o, n) => new BigInt64Array(b, o, n));
      const words = view(raw, 4, (b, o, n) => new Int32Array(b, o, n));
      const out = new Int32Array(words.length / 2);
      for (let i = 0; i < out.length; i++) {
        const lo = words[2 * i];
        const hi = words[2 * i + 1];
        if (hi !== lo >> 31) {
          const value = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
          throw new SubspaceError(
            'UNSUPPORTED',
            `Safetensors file ${label}: tensor ${q(name)}: I64 value ${value} at index ${i} does not fit in int32; read it with { int64: 'bigint' }`,
            label,
          );
        }
        out[i] = lo;
      }
      return out;
    }
    case 'I32':
      return view(raw, 4, (b, o, n) => new Int32Array(b, o, n));
    case 'I16':
      return view(raw, 2, (b, o, n) => new Int16Array(b, o, n));
    case 'I8':
      return view(raw, 1, (b, o, n) => new Int8Array(b, o, n));
    case 'U8':
      return view(raw, 1, (b, o, n) => new Uint8Array(b, o, n));
    case 'BOOL': {
      const out = copyBytes(raw);
      for (let i = 0; i < out.length; i++) if (out[i] > 1) out[i] = 1;
      return out;
    }
  }
}

function selectNames(header: SafetensorsHeader, names: readonly string[] | undefined, label: string): string[] {
  if (names === undefined) return Object.keys(header.tensors);
  const out: string[] = [];
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) continue;
    seen.add(n);
    if (!(n in header.tensors)) {
      const available = Object.keys(header.tensors);
      const list = available.length > 20 ? `${available.slice(0, 20).join(', ')}, ...` : available.join(', ');
      throw new SubspaceError('NOT_FOUND', `Safetensors file ${label} has no tensor ${q(n)} (it has: ${list || 'no tensors'})`, n);
    }
    out.push(n);
  }
  return out;
}

/* ------------------------------------------------------------ file reading */

function openForRead(path: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SubspaceError('NOT_FOUND', `Safetensors file not found: ${path}`, path);
    throw new SubspaceError('BAD_FILE', `Cannot open safetensors file ${path}: ${errorMessage(e)}`, path);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new SubspaceError('BAD_FILE', `Safetensors path ${path} is not a regular file`, path);
    return { fd, size: st.size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** Fill `dst` from `position`, in chunks; a short read means the file shrank or is truncated. */
function readExactly(fd: number, dst: Uint8Array, position: number, label: string, what: string): void {
  let done = 0;
  while (done < dst.byteLength) {
    const want = Math.min(IO_CHUNK, dst.byteLength - done);
    const bytesRead = readSync(fd, dst, done, want, position + done);
    if (bytesRead === 0) {
      throw badFile(label, `file is truncated: ${what} needs ${dst.byteLength} bytes at offset ${position}, only ${done} could be read`);
    }
    done += bytesRead;
  }
}

function readHeaderFrom(fd: number, size: number, label: string): SafetensorsHeader {
  const prefix = new Uint8Array(8);
  if (size >= 8) readExactly(fd, prefix, 0, label, 'the header length prefix');
  const n = checkHeaderLength(prefix, size, label);
  const json = new Uint8Array(n);
  readExactly(fd, json, 8, label, 'the JSON header');
  return parseHeaderJson(json, n, size, label);
}

/** Read and validate just the header of a safetensors file (the data is not read). */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  const { fd, size } = openForRead(path);
  try {
    return readHeaderFrom(fd, size, path);
  } finally {
    closeSync(fd);
  }
}

/** Read tensors (all, or `opts.names`) from a safetensors file, one positional read per tensor. */
export function readSafetensors(path: string, opts?: ReadSafetensorsOptions & { int64?: 'int32' }): SafetensorsContents<NumericTensorData>;
export function readSafetensors(path: string, opts: ReadSafetensorsOptions): SafetensorsContents;
export function readSafetensors(path: string, opts: ReadSafetensorsOptions = {}): SafetensorsContents {
  requireLittleEndianHost();
  const { fd, size } = openForRead(path);
  try {
    const header = readHeaderFrom(fd, size, path);
    const tensors = new Map<string, LoadedTensor>();
    for (const name of selectNames(header, opts.names, path)) {
      const info = header.tensors[name];
      const [begin, end] = info.dataOffsets;
      const raw = new Uint8Array(end - begin);
      readExactly(fd, raw, header.dataStart + begin, path, `tensor ${q(name)}`);
      tensors.set(name, { dtype: info.dtype, shape: info.shape.slice(), data: decodeTensor(raw, info, name, path, opts.int64 ?? 'int32') });
    }
    return { tensors, metadata: { ...header.metadata } };
  } finally {
    closeSync(fd);
  }
}

/** Parse just the header of safetensors bytes held in memory. */
export function parseSafetensorsHeader(bytes: Uint8Array, label: string): SafetensorsHeader {
  const n = checkHeaderLength(bytes.subarray(0, 8), bytes.byteLength, label);
  return parseHeaderJson(bytes.subarray(8, 8 + n), n, bytes.byteLength, label);
}

/** Parse safetensors bytes held in memory. The returned arrays do not alias `bytes`. */
export function parseSafetensors(
  bytes: Uint8Array,
  label: string,
  opts?: ReadSafetensorsOptions & { int64?: 'int32' },
): SafetensorsContents<NumericTensorData>;
export function parseSafetensors(bytes: Uint8Array, label: string, opts: ReadSafetensorsOptions): SafetensorsContents;
export function parseSafetensors(bytes: Uint8Array, label: string, opts: ReadSafetensorsOptions = {}): SafetensorsContents {
  requireLittleEndianHost();
  const header = parseSafetensorsHeader(bytes, label);
  const tensors = new Map<string, LoadedTensor>();
  for (const name of selectNames(header, opts.names, label)) {
    const info = header.tensors[name];
    const [begin, end] = info.dataOffsets;
    const raw = copyBytes(bytes, header.dataStart + begin, header.dataStart + end);
    tensors.set(name, { dtype: info.dtype, shape: info.shape.slice(), data: decodeTensor(raw, info, name, label, opts.int64 ?? 'int32') });
  }
  return { tensors, metadata: { ...header.metadata } };
}

/* ------------------------------------------------------------------ encode */

interface PlannedTensor {
  name: string;
  tensor: TensorToWrite;
  begin: number;
  end: number;
}

interface Plan {
  header: Uint8Array; // 8-byte prefix + padded JSON
  tensors: PlannedTensor[];
  totalBytes: number;
}

function isBigIntData(data: ArrayLike<number> | ArrayLike<bigint>): data is ArrayLike<bigint> {
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return true;
  if (ArrayBuffer.isView(data)) return false;
  for (let i = 0; i < data.length; i++) if (typeof data[i] === 'bigint') return true;
  return false;
}

function planWrite(tensors: TensorsToWrite, metadata: Record<string, string> | undefined, label: string): Plan {
  const entries: [string, TensorToWrite][] = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw badArg(label, 'the name "__metadata__" is reserved for metadata', name);
    if (!isPlainObject(t)) throw badArg(label, 'expected { dtype, shape, data }', name);
    if (typeof t.dtype !== 'string' || !isDtype(t.dtype)) {
      throw badArg(label, `unsupported dtype ${describe(t.dtype)} (supported: ${SAFETENSORS_DTYPES.join(', ')})`, name);
    }
    const n = shapeElements(t.shape);
    if (typeof n === 'string') throw badArg(label, n, name);
    const data: unknown = t.data;
    if (typeof data !== 'object' || data === null || typeof (data as { length?: unknown }).length !== 'number') {
      throw badArg(label, 'data must be an array or typed array', name);
    }
    if (t.data.length !== n) {
      throw badArg(label, `data has ${t.data.length} elements but shape ${describe(t.shape)} needs ${n}`, name);
    }
  }
  const meta: [string, string][] = [];
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) throw badArg(label, 'metadata must be an object of strings');
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw badArg(label, `metadata value for key ${q(k)} must be a string, got ${describe(v)}`);
      meta.push([k, v]);
    }
  }

  // Largest elements first, then by name: every tensor starts aligned to its element size.
  entries.sort((a, b) => DTYPE_BYTES[b[1].dtype] - DTYPE_BYTES[a[1].dtype] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const planned: PlannedTensor[] = [];
  let offset = 0;
  for (const [name, tensor] of entries) {
    const bytes = tensor.data.length * DTYPE_BYTES[tensor.dtype];
    planned.push({ name, tensor, begin: offset, end: offset + bytes });
    offset += bytes;
  }

  // Built by hand to keep this order (object keys that look like integers would be reordered).
  const parts: string[] = [];
  if (meta.length > 0) {
    parts.push(`"__metadata__":{${meta.map(([k, v]) => `${q(k)}:${q(v)}`).join(',')}}`);
  }
  for (const p of planned) {
    parts.push(`${q(p.name)}:${JSON.stringify({ dtype: p.tensor.dtype, shape: Array.from(p.tensor.shape), data_offsets: [p.begin, p.end] })}`);
  }
  const jsonBytes = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(jsonBytes.length / 8) * 8;
  if (padded > MAX_HEADER_BYTES) throw badArg(label, `the header would be ${padded} bytes, over the ${MAX_HEADER_BYTES}-byte limit`);
  const header = new Uint8Array(8 + padded);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(jsonBytes, 8);
  header.fill(0x20, 8 + jsonBytes.length); // spaces, as the reference library pads
  return { header, tensors: planned, totalBytes: header.length + offset };
}

function toNumber(v: number | bigint): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

function encodeInts(
  data: ArrayLike<number> | ArrayLike<bigint>,
  out: Int32Array | Int16Array | Int8Array | Uint8Array,
  min: number,
  max: number,
  dtype: SafetensorsDtype,
  name: string,
  label: string,
): void {
  for (let i = 0; i < data.length; i++) {
    const raw = data[i];
    const v = toNumber(raw);
    if (!Number.isInteger(v) || v < min || v > max) {
      throw badArg(label, `value ${describe(typeof raw === 'bigint' ? raw.toString() : raw)} at index ${i} is not an integer in the ${dtype} range [${min}, ${max}]`, name);
    }
    out[i] = v;
  }
}

function numbersOf(data: ArrayLike<number> | ArrayLike<bigint>, dtype: SafetensorsDtype, name: string, label: string): ArrayLike<number> {
  if (isBigIntData(data)) throw badArg(label, `${dtype} data must be numbers, not bigints`, name);
  if (!ArrayBuffer.isView(data)) {
    for (let i = 0; i < data.length; i++) {
      if (typeof data[i] !== 'number') throw badArg(label, `value ${describe(data[i])} at index ${i} is not a number`, name);
    }
  }
  return data;
}

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/** The little-endian bytes of one tensor (a fresh buffer). */
function encodeTensor(t: TensorToWrite, name: string, label: string): Uint8Array {
  const data = t.data;
  const n = data.length;
  const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  switch (t.dtype) {
    case 'F32': {
      const nums = numbersOf(data, t.dtype, name, label);
      return bytesOf(nums instanceof Float32Array ? nums.slice() : Float32Array.from(nums));
    }
    case 'F64':
      return bytesOf(Float64Array.from(numbersOf(data, t.dtype, name, label)));
    case 'F16':
      return bytesOf(f32ToF16Array(numbersOf(data, t.dtype, name, label)));
    case 'BF16':
      return bytesOf(f32ToBf16Array(numbersOf(data, t.dtype, name, label)));
    case 'I64': {
      const out = new BigInt64Array(n);
      if (isBigIntData(data)) {
        for (let i = 0; i < n; i++) {
          const v = data[i];
          if (typeof v !== 'bigint' || v < I64_MIN || v > I64_MAX) {
            throw badArg(label, `value ${describe(typeof v === 'bigint' ? v.toString() : v)} at index ${i} is not an integer in the I64 range`, name);
          }
          out[i] = v;
        }
      } else {
        const words = new Uint32Array(out.buffer);
        for (let i = 0; i < n; i++) {
          const v = data[i];
          if (!Number.isSafeInteger(v)) {
            throw badArg(label, `value ${describe(v)} at index ${i} is not a safe integer (pass bigints for I64 values beyond 2^53)`, name);
          }
          const hi = Math.floor(v / 4294967296);
          words[2 * i] = v - hi * 4294967296;
          words[2 * i + 1] = hi; // two's complement via Uint32 wrap
        }
      }
      return bytesOf(out);
    }
    case 'I32': {
      const out = new Int32Array(n);
      encodeInts(data, out, -2147483648, 2147483647, t.dtype, name, label);
      return bytesOf(out);
    }
    case 'I16': {
      const out = new Int16Array(n);
      encodeInts(data, out, -32768, 32767, t.dtype, name, label);
      return bytesOf(out);
    }
    case 'I8': {
      const out = new Int8Array(n);
      encodeInts(data, out, -128, 127, t.dtype, name, label);
      return bytesOf(out);
    }
    case 'U8': {
      const out = new Uint8Array(n);
      encodeInts(data, out, 0, 255, t.dtype, name, label);
      return out;
    }
    case 'BOOL': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = data[i] ? 1 : 0;
      return out;
    }
  }
}

/** Encode tensors (and optional string metadata) as safetensors bytes in memory. */
export function encodeSafetensors(tensors: TensorsToWrite, metadata?: Record<string, string>): Uint8Array {
  requireLittleEndianHost();
  const label = '(in memory)';
  const plan = planWrite(tensors, metadata, label);
  if (plan.totalBytes > 2 ** 31 - 1) {
    throw badArg(label, `the file would be ${plan.totalBytes} bytes; use writeSafetensors for files over 2 GiB`);
  }
  const out = new Uint8Array(plan.totalBytes);
  out.set(plan.header, 0);
  for (const p of plan.tensors) out.set(encodeTensor(p.tensor, p.name, label), plan.header.length + p.begin);
  return out;
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.byteLength) {
    const want = Math.min(IO_CHUNK, bytes.byteLength - done);
    done += writeSync(fd, bytes, done, want, position + done);
  }
}

/**
 * Write tensors (and optional string metadata) to `path`, atomically: the
 * file appears complete or not at all. Tensors are encoded one at a time, so
 * the whole file never sits in one buffer.
 */
export function writeSafetensors(path: string, tensors: TensorsToWrite, metadata?: Record<string, string>): void {
  requireLittleEndianHost();
  const plan = planWrite(tensors, metadata, path);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    try {
      fd = openSync(tmp, 'wx');
    } catch (e) {
      throw new SubspaceError('BAD_FILE', `Cannot write safetensors file ${path}: ${errorMessage(e)}`, path);
    }
    writeAll(fd, plan.header, 0);
    for (const p of plan.tensors) writeAll(fd, encodeTensor(p.tensor, p.name, path), plan.header.length + p.begin);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already failing; the original error matters
      }
    }
    rmSync(tmp, { force: true });
    if (e instanceof SubspaceError) throw e;
    throw new SubspaceError('BAD_FILE', `Cannot write safetensors file ${path}: ${errorMessage(e)}`, path);
  }
}
