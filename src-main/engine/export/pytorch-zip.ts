/**
 * PyTorch's zip checkpoint format (what `torch.save(state_dict)` writes since PyTorch 1.6), for a
 * flat state dict: tensor names → float32 (or int64) tensors. Writer and reader.
 *
 * What `torch.save` writes (checked against Debian's PyTorch 1.13 by saving an OrderedDict and
 * listing the archive):
 * - a zip archive of STORED (uncompressed) records, all under one folder `<archive>/`, where
 *   `<archive>` is the file name up to its last dot (`intkey_…#0.bin` → `intkey_…#0/`);
 * - `<archive>/data.pkl`: a protocol-2 pickle of the `collections.OrderedDict`, each value
 *   `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`, the
 *   storage a persistent id `('storage', torch.FloatStorage, '<key>', 'cpu', numel)`;
 * - `<archive>/data/<key>`: each storage's raw little-endian bytes;
 * - `<archive>/version`: `3\n`. (PyTorch 1.13 writes no `byteorder` record; later versions add one
 *   and readers treat its absence as little-endian, so we leave it out like 1.13.)
 * Every record's data starts on a 64-byte boundary: torch pads the local header's extra field with
 * a private `FB` block of `Z`s, so that storages can be memory-mapped.
 *
 * The zip container is hand-written rather than taken from an npm zip library: the format needs
 * only STORED entries, but it needs that exact 64-byte alignment of every record's data through a
 * padding extra field, which general-purpose zip writers do not expose; a STORED-only zip is
 * ~100 lines (headers, CRC-32, central directory). We write CRC and sizes in the local headers
 * (no data descriptors) and no zip64 records (refused above 4 GiB); `torch.load` reads both forms.
 *
 * The pickle is written with the handful of opcodes torch's own pickler emits for this structure.
 * The reader parses any archive `torch.save` makes for a state dict: it unpickles a safe subset
 * (no code is ever run; unknown callables become inert placeholders and anything that is not a
 * tensor at the top level is reported by name), rebuilds tensors from storages with any offset and
 * strides (torch saves e.g. parametrization bases column-major), and understands both
 * `_rebuild_tensor_v2` with typed storages (`torch.FloatStorage`, `torch.LongStorage`, …) and
 * `_rebuild_tensor_v3` with an untyped storage plus an explicit dtype (newer PyTorch). Floats of
 * 16, 32 or 64 bits are returned as Float32Array; int64 as BigInt64Array; int32 as Int32Array.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { SubspaceError, errorMessage } from '../errors.js';
import { bf16ToF32Array, f16ToF32Array } from '../io/halfprecision.js';

/* ------------------------------------------------------------------------------------- types */

export type TorchDtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32';

/** A tensor to write: float32 values, or int64 ones (e.g. pyvene's `embed_dim` buffers). */
export interface TorchTensorToWrite {
  shape: number[];
  data: Float32Array | BigInt64Array;
}

export type TorchTensorsToWrite = Record<string, TorchTensorToWrite> | ReadonlyMap<string, TorchTensorToWrite>;

/** A tensor read back. Floating dtypes come as Float32Array (widened or rounded), int64 as BigInt64Array. */
export interface TorchTensor {
  /** The dtype in the file. */
  dtype: TorchDtype;
  shape: number[];
  data: Float32Array | BigInt64Array | Int32Array;
}

/* ------------------------------------------------------------------------------ atomic write */

/** Writes a file through a temporary file in the same folder and a rename. */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, Math.min(buf.length - off, 1 << 30));
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw new SubspaceError('BAD_FILE', `${path}: cannot be written (${errorMessage(e)})`, path);
  }
}

/* ------------------------------------------------------------------------------------ CRC-32 */

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, the zip checksum). */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/* --------------------------------------------------------------------------------- zip write */

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const FLAG_UTF8 = 0x0800;
/** torch's alignment of record data (caffe2 serialize: kFieldAlignment). */
export const TORCH_RECORD_ALIGNMENT = 64;

export interface ZipEntryToWrite {
  name: string;
  data: Uint8Array;
}

/**
 * A zip archive of STORED entries whose data start on multiples of `alignment`, padded the way
 * torch pads (an extra field with id "FB" filled with 'Z').
 */
export function encodeStoredZip(entries: ZipEntryToWrite[], alignment = TORCH_RECORD_ALIGNMENT): Uint8Array {
  const names = new Set<string>();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let pos = 0;
  for (const e of entries) {
    if (names.has(e.name)) throw new SubspaceError('BAD_ARGUMENT', `zip entry '${e.name}' is given twice`, e.name);
    names.add(e.name);
    const name = Buffer.from(e.name, 'utf8');
    if (name.length > 0xffff) throw new SubspaceError('BAD_ARGUMENT', `zip entry name is too long (${name.length} bytes)`, e.name);
    let extraLen = alignment - ((pos + 30 + name.length + 4) % alignment);
    if (extraLen === alignment) extraLen = 0;
    extraLen += 4; // the FB block's own header
    const crc = crc32(e.data);
    const size = e.data.length;
    if (pos > 0xfffffffe || size > 0xfffffffe) {
      throw new SubspaceError('UNSUPPORTED', `zip entry '${e.name}' lies beyond 4 GiB; this writer makes no zip64 archives`, e.name);
    }
    const local = Buffer.alloc(30 + name.length + extraLen);
    local.writeUInt32LE(SIG_LOCAL, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(FLAG_UTF8, 6);
    local.writeUInt16LE(0, 8); // STORED
    local.writeUInt16LE(0, 10); // time
    local.writeUInt16LE(0x21, 12); // date: 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(size, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extraLen, 28);
    name.copy(local, 30);
    const x = 30 + name.length;
    local.write('FB', x, 'latin1');
    local.writeUInt16LE(extraLen - 4, x + 2);
    local.fill('Z', x + 4);
    parts.push(local, e.data);

    const c = Buffer.alloc(46 + name.length);
    c.writeUInt32LE(SIG_CENTRAL, 0);
    c.writeUInt16LE(20, 4); // made by
    c.writeUInt16LE(20, 6); // needed
    c.writeUInt16LE(FLAG_UTF8, 8);
    c.writeUInt16LE(0, 10);
    c.writeUInt16LE(0, 12);
    c.writeUInt16LE(0x21, 14);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(size, 20);
    c.writeUInt32LE(size, 24);
    c.writeUInt16LE(name.length, 28);
    // extra 0, comment 0, disk 0, internal 0, external 0
    c.writeUInt32LE(pos, 42);
    name.copy(c, 46);
    central.push(c);
    pos += local.length + size;
  }
  if (entries.length > 0xfffe) throw new SubspaceError('UNSUPPORTED', `${entries.length} zip entries need zip64, which this writer does not make`);
  const cdOffset = pos;
  const cdSize = central.reduce((a, c) => a + c.length, 0);
  if (cdOffset + cdSize > 0xfffffffe) throw new SubspaceError('UNSUPPORTED', 'the archive would exceed 4 GiB; this writer makes no zip64 archives');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(SIG_EOCD, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(cdOffset, 16);
  return Buffer.concat([...parts, ...central, end]);
}

/* ---------------------------------------------------------------------------------- zip read */

/**
 * The entries of a zip archive of STORED records, as views into `bytes`. CRCs are checked.
 * Compressed or encrypted entries are refused (torch never writes them).
 */
export function readStoredZip(bytes: Uint8Array, label: string): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (msg: string, subject = label) => new SubspaceError('BAD_FILE', `${label}: ${msg}`, subject);
  if (bytes.length < 22) throw bad('too short to be a zip archive');
  if (view.getUint32(0, true) !== SIG_LOCAL) {
    // Before PyTorch 1.6 torch.save wrote a bare pickle stream (starting with 0x80 0x02).
    if (bytes[0] === 0x80) throw new SubspaceError('UNSUPPORTED', `${label}: a legacy (pre-1.6, non-zip) torch.save file; re-save it with a recent PyTorch`, label);
    throw bad('not a zip archive (PyTorch checkpoints since 1.6 are zip archives)');
  }
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === SIG_EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw bad('no end-of-central-directory record (truncated archive?)');
  let count = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || view.getUint32(loc, true) !== SIG_ZIP64_LOCATOR) throw bad('zip64 sizes without a zip64 locator');
    const z = safeNumber(view.getBigUint64(loc + 8, true), label);
    if (z + 56 > bytes.length || view.getUint32(z, true) !== SIG_ZIP64_EOCD) throw bad('bad zip64 end-of-central-directory record');
    count = safeNumber(view.getBigUint64(z + 32, true), label);
    cdSize = safeNumber(view.getBigUint64(z + 40, true), label);
    cdOffset = safeNumber(view.getBigUint64(z + 48, true), label);
  }
  if (cdOffset + cdSize > bytes.length) throw bad('the central directory lies outside the file (truncated archive?)');
  const out = new Map<string, Uint8Array>();
  let p = cdOffset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > bytes.length || view.getUint32(p, true) !== SIG_CENTRAL) throw bad(`central directory entry ${k} is damaged`);
    const flags = view.getUint16(p + 8, true);
    const method = view.getUint16(p + 10, true);
    const crc = view.getUint32(p + 16, true);
    let csize = view.getUint32(p + 20, true);
    let usize = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    let local = view.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen > bytes.length) throw bad(`central directory entry ${k} is damaged`);
    const name = Buffer.from(bytes.subarray(p + 46, p + 46 + nameLen)).toString(flags & FLAG_UTF8 ? 'utf8' : 'latin1');
    // zip64 extended information: the 0xFFFFFFFF fields, in the order usize, csize, offset.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = view.getUint16(x, true);
      const len = view.getUint16(x + 2, true);
      if (id === 0x0001) {
        let q = x + 4;
        if (usize === 0xffffffff && q + 8 <= x + 4 + len) {
          usize = safeNumber(view.getBigUint64(q, true), label);
          q += 8;
        }
        if (csize === 0xffffffff && q + 8 <= x + 4 + len) {
          csize = safeNumber(view.getBigUint64(q, true), label);
          q += 8;
        }
        if (local === 0xffffffff && q + 8 <= x + 4 + len) local = safeNumber(view.getBigUint64(q, true), label);
      }
      x += 4 + len;
    }
    if (flags & 1) throw new SubspaceError('UNSUPPORTED', `${label}: entry '${name}' is encrypted`, name);
    if (method !== 0) throw new SubspaceError('UNSUPPORTED', `${label}: entry '${name}' is compressed (method ${method}); torch.save archives are stored uncompressed`, name);
    if (csize !== usize) throw bad(`entry '${name}' is stored but its sizes differ (${csize} vs ${usize})`, name);
    if (local + 30 > bytes.length || view.getUint32(local, true) !== SIG_LOCAL) throw bad(`entry '${name}' has no local header where the directory says`, name);
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (start + usize > bytes.length) throw bad(`entry '${name}' runs past the end of the file (truncated archive?)`, name);
    const data = bytes.subarray(start, start + usize);
    if (crc32(data) !== crc) throw bad(`entry '${name}' fails its CRC check (damaged file)`, name);
    out.set(name, data);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

function safeNumber(v: bigint, label: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new SubspaceError('BAD_FILE', `${label}: a zip64 size or offset is out of range`, label);
  return Number(v);
}

/* ---------------------------------------------------------------------------- pickle writing */

const OP = {
  MARK: 0x28, // (
  STOP: 0x2e, // .
  BININT: 0x4a, // J
  BININT1: 0x4b, // K
  BININT2: 0x4d, // M
  NONE: 0x4e, // N
  BINPERSID: 0x51, // Q
  REDUCE: 0x52, // R
  BINUNICODE: 0x58, // X
  EMPTY_LIST: 0x5d, // ]
  APPEND: 0x61, // a
  BUILD: 0x62, // b
  GLOBAL: 0x63, // c
  DICT: 0x64, // d
  APPENDS: 0x65, // e
  BINGET: 0x68, // h
  LONG_BINGET: 0x6a, // j
  LIST: 0x6c, // l
  OBJ: 0x6f, // o
  BINPUT: 0x71, // q
  LONG_BINPUT: 0x72, // r
  SETITEM: 0x73, // s
  TUPLE: 0x74, // t
  SETITEMS: 0x75, // u
  EMPTY_DICT: 0x7d, // }
  EMPTY_TUPLE: 0x29, // )
  POP: 0x30, // 0
  POP_MARK: 0x31, // 1
  DUP: 0x32, // 2
  BINFLOAT: 0x47, // G
  BINSTRING: 0x54, // T
  SHORT_BINSTRING: 0x55, // U
  PROTO: 0x80,
  NEWOBJ: 0x81,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a,
  LONG4: 0x8b,
  SHORT_BINBYTES: 0x43, // C
  BINBYTES: 0x42, // B
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d,
  BINBYTES8: 0x8e,
  EMPTY_SET: 0x8f,
  ADDITEMS: 0x90,
  FROZENSET: 0x91,
  NEWOBJ_EX: 0x92,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  FRAME: 0x95,
} as const;

/** A protocol-2 pickle writer for the structure torch.save gives a state dict. */
class Pickler {
  private out: number[] = [];
  private memoCount = 0;
  private readonly memo = new Map<string, number>();

  byte(b: number): void {
    this.out.push(b);
  }

  private u32(v: number): void {
    this.out.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }

  /** BINPUT the top of the stack; returns its memo index. */
  put(): number {
    const i = this.memoCount++;
    if (i < 256) this.out.push(OP.BINPUT, i);
    else {
      this.byte(OP.LONG_BINPUT);
      this.u32(i);
    }
    return i;
  }

  get(i: number): void {
    if (i < 256) this.out.push(OP.BINGET, i);
    else {
      this.byte(OP.LONG_BINGET);
      this.u32(i);
    }
  }

  /** Pushes a memoised value (a global or an interned string), writing it the first time. */
  cached(key: string, write: () => void): void {
    const i = this.memo.get(key);
    if (i !== undefined) return this.get(i);
    write();
    this.memo.set(key, this.put());
  }

  global(module: string, name: string): void {
    this.cached(`g:${module}.${name}`, () => {
      this.byte(OP.GLOBAL);
      for (const b of Buffer.from(`${module}\n${name}\n`, 'utf8')) this.out.push(b);
    });
  }

  /** A fresh (non-interned) string, memoised like Python's pickler does. */
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.byte(OP.BINUNICODE);
    this.u32(b.length);
    for (const x of b) this.out.push(x);
    this.put();
  }

  internedStr(s: string): void {
    this.cached(`s:${s}`, () => {
      const b = Buffer.from(s, 'utf8');
      this.byte(OP.BINUNICODE);
      this.u32(b.length);
      for (const x of b) this.out.push(x);
    });
  }

  int(v: number): void {
    if (!Number.isSafeInteger(v)) throw new SubspaceError('BAD_ARGUMENT', `cannot pickle ${v} as an integer`);
    if (v >= 0 && v <= 0xff) this.out.push(OP.BININT1, v);
    else if (v >= 0 && v <= 0xffff) this.out.push(OP.BININT2, v & 0xff, v >>> 8);
    else if (v >= -0x80000000 && v <= 0x7fffffff) {
      this.byte(OP.BININT);
      this.u32(v >>> 0);
    } else {
      // LONG1: little-endian two's complement, shortest length.
      let x = BigInt(v);
      const bytes: number[] = [];
      while (true) {
        const b = Number(x & 0xffn);
        bytes.push(b);
        x >>= 8n;
        if ((x === 0n && (b & 0x80) === 0) || (x === -1n && (b & 0x80) !== 0)) break;
      }
      this.out.push(OP.LONG1, bytes.length, ...bytes);
    }
  }

  /** A tuple of integers, memoised like Python does for tuples. */
  intTuple(xs: number[]): void {
    if (xs.length === 0) return this.byte(OP.EMPTY_TUPLE); // the empty tuple is a singleton: never memoised
    if (xs.length > 3) this.byte(OP.MARK);
    for (const x of xs) this.int(x);
    this.byte(xs.length === 1 ? OP.TUPLE1 : xs.length === 2 ? OP.TUPLE2 : xs.length === 3 ? OP.TUPLE3 : OP.TUPLE);
    this.put();
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

function entriesOf(tensors: TorchTensorsToWrite): [string, TorchTensorToWrite][] {
  return tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors as Record<string, TorchTensorToWrite>);
}

function checkTensorToWrite(name: string, t: TorchTensorToWrite): number {
  if (typeof name !== 'string' || name.length === 0) throw new SubspaceError('BAD_ARGUMENT', 'state dict keys must be non-empty strings', 'tensors');
  if (!t || !Array.isArray(t.shape) || t.shape.some((n) => !Number.isSafeInteger(n) || n < 0)) {
    throw new SubspaceError('BAD_ARGUMENT', `tensor '${name}' has an invalid shape`, name);
  }
  if (!(t.data instanceof Float32Array) && !(t.data instanceof BigInt64Array)) {
    throw new SubspaceError('BAD_ARGUMENT', `tensor '${name}' must hold a Float32Array (float32) or BigInt64Array (int64)`, name);
  }
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== n) throw new SubspaceError('SHAPE_MISMATCH', `tensor '${name}' has ${t.data.length} values for shape [${t.shape.join(', ')}] (${n})`, name);
  return n;
}

function contiguousStrides(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

function littleEndianBytes(data: Float32Array | BigInt64Array): Uint8Array {
  if (endianness() === 'LE') return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const out = new Uint8Array(data.byteLength);
  const v = new DataView(out.buffer);
  if (data instanceof Float32Array) data.forEach((x, i) => v.setFloat32(i * 4, x, true));
  else data.forEach((x, i) => v.setBigInt64(i * 8, x, true));
  return out;
}

/** torch's archive folder name for a file path: the base name up to its last dot. */
export function torchArchiveName(path: string): string {
  const base = basename(path);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

/** The bytes `torch.save(OrderedDict(tensors))` writes (float32 → FloatStorage, int64 → LongStorage). */
export function encodeTorchStateDict(tensors: TorchTensorsToWrite, archiveName = 'archive'): Uint8Array {
  if (!archiveName || archiveName.includes('/')) throw new SubspaceError('BAD_ARGUMENT', `invalid archive name '${archiveName}'`, 'archiveName');
  const list = entriesOf(tensors);
  const numels = list.map(([name, t]) => checkTensorToWrite(name, t));
  const p = new Pickler();
  p.byte(OP.PROTO);
  p.byte(2);
  p.global('collections', 'OrderedDict');
  p.byte(OP.EMPTY_TUPLE);
  p.byte(OP.REDUCE);
  p.put();
  if (list.length > 0) p.byte(OP.MARK);
  list.forEach(([name, t], i) => {
    p.str(name);
    p.global('torch._utils', '_rebuild_tensor_v2');
    p.byte(OP.MARK);
    // persistent id ('storage', torch.FloatStorage, key, 'cpu', numel)
    p.byte(OP.MARK);
    p.internedStr('storage');
    p.global('torch', t.data instanceof Float32Array ? 'FloatStorage' : 'LongStorage');
    p.str(String(i));
    p.internedStr('cpu');
    p.int(numels[i]);
    p.byte(OP.TUPLE);
    p.put();
    p.byte(OP.BINPERSID);
    p.int(0); // storage offset
    p.intTuple(t.shape);
    p.intTuple(contiguousStrides(t.shape));
    p.byte(OP.NEWFALSE); // requires_grad
    p.global('collections', 'OrderedDict'); // backward hooks: OrderedDict()
    p.byte(OP.EMPTY_TUPLE);
    p.byte(OP.REDUCE);
    p.put();
    p.byte(OP.TUPLE);
    p.put();
    p.byte(OP.REDUCE);
    p.put();
  });
  if (list.length > 0) p.byte(OP.SETITEMS);
  p.byte(OP.STOP);
  const entries: ZipEntryToWrite[] = [{ name: `${archiveName}/data.pkl`, data: p.bytes() }];
  list.forEach(([, t], i) => entries.push({ name: `${archiveName}/data/${i}`, data: littleEndianBytes(t.data) }));
  entries.push({ name: `${archiveName}/version`, data: Buffer.from('3\n', 'latin1') });
  return encodeStoredZip(entries);
}

/** Writes a state dict as `torch.save` would, atomically; the archive folder is named after the file. */
export function writeTorchStateDict(path: string, tensors: TorchTensorsToWrite): void {
  writeFileAtomic(path, encodeTorchStateDict(tensors, torchArchiveName(path)));
}

/* ---------------------------------------------------------------------------- pickle reading */

class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get full(): string {
    return `${this.module}.${this.name}`;
  }
}

class PyTuple {
  constructor(readonly items: unknown[]) {}
}

class PyDict {
  readonly map = new Map<unknown, unknown>();
  constructor(readonly kind: string) {}
}

/** The result of calling something the reader does not model; kept inert. */
class PyObject {
  state: unknown;
  constructor(
    readonly callable: unknown,
    readonly args: unknown,
  ) {}
}

class StorageRef {
  constructor(
    readonly key: string,
    readonly type: string,
    readonly numel: number,
  ) {}
}

class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
    readonly dtype: TorchDtype,
  ) {}
}

interface StorageKind {
  dtype: TorchDtype | 'bytes';
}

/** Legacy typed storages by class name; UntypedStorage holds bytes (dtype given by _rebuild_tensor_v3). */
const STORAGE_KINDS: Record<string, StorageKind> = {
  FloatStorage: { dtype: 'float32' },
  DoubleStorage: { dtype: 'float64' },
  HalfStorage: { dtype: 'float16' },
  BFloat16Storage: { dtype: 'bfloat16' },
  LongStorage: { dtype: 'int64' },
  IntStorage: { dtype: 'int32' },
  UntypedStorage: { dtype: 'bytes' },
  ByteStorage: { dtype: 'bytes' },
};

const DTYPE_BYTES: Record<TorchDtype, number> = { float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4 };

/** `torch.<name>` dtype objects as they appear in pickles (`torch float32`). */
const DTYPE_GLOBALS: Record<string, TorchDtype> = {
  float32: 'float32',
  float: 'float32',
  float64: 'float64',
  double: 'float64',
  float16: 'float16',
  half: 'float16',
  bfloat16: 'bfloat16',
  int64: 'int64',
  long: 'int64',
  int32: 'int32',
  int: 'int32',
};

function asIntList(v: unknown, what: string, label: string): number[] {
  const items = v instanceof PyTuple ? v.items : Array.isArray(v) ? v : undefined;
  if (!items || items.some((x) => typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0)) {
    throw new SubspaceError('BAD_FILE', `${label}: a tensor's ${what} is not a tuple of non-negative integers`, label);
  }
  return items as number[];
}

function rebuildTensor(fn: string, args: unknown, label: string): TensorRef {
  const a = args instanceof PyTuple ? args.items : [];
  const storage = a[0];
  if (!(storage instanceof StorageRef)) throw new SubspaceError('BAD_FILE', `${label}: ${fn} without a storage`, label);
  const offset = a[1];
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw new SubspaceError('BAD_FILE', `${label}: a tensor has an invalid storage offset`, label);
  const size = asIntList(a[2], 'size', label);
  const stride = asIntList(a[3], 'stride', label);
  if (size.length !== stride.length) throw new SubspaceError('BAD_FILE', `${label}: a tensor's size and stride differ in length`, label);
  const kind = STORAGE_KINDS[storage.type];
  let dtype: TorchDtype;
  if (fn === '_rebuild_tensor_v3') {
    const d = a[6];
    const name = d instanceof PyGlobal && d.module === 'torch' ? DTYPE_GLOBALS[d.name] : undefined;
    if (!name) throw new SubspaceError('UNSUPPORTED', `${label}: a tensor has dtype ${d instanceof PyGlobal ? d.full : String(d)}, which this reader does not support (float16/32/64, bfloat16, int32, int64)`, label);
    if (kind.dtype !== 'bytes' && kind.dtype !== name) throw new SubspaceError('BAD_FILE', `${label}: a ${storage.type} rebuilt as ${name}`, label);
    dtype = name;
  } else {
    if (kind.dtype === 'bytes') throw new SubspaceError('BAD_FILE', `${label}: an untyped storage rebuilt without a dtype`, label);
    dtype = kind.dtype;
  }
  return new TensorRef(storage, offset, size, stride, dtype);
}

/** Unpickles the safe subset torch.save uses. Nothing is imported or executed. */
function unpickle(bytes: Uint8Array, label: string): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  const bad = (msg: string) => new SubspaceError('BAD_FILE', `${label}: data.pkl: ${msg} (at byte ${pos})`, label);
  const need = (n: number) => {
    if (pos + n > bytes.length) throw bad('unexpected end of the pickle');
  };
  const u8 = () => (need(1), bytes[pos++]);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad('a length is out of range');
    return Number(v);
  };
  const text = (n: number, enc: 'utf8' | 'latin1') => (need(n), (pos += n), Buffer.from(bytes.subarray(pos - n, pos)).toString(enc));
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw bad('unterminated line');
    const s = Buffer.from(bytes.subarray(pos, end)).toString('utf8');
    pos = end + 1;
    return s;
  };
  const pop = () => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1])) throw bad('stack underflow');
    return stack.pop();
  };
  const top = () => {
    if (stack.length === 0) throw bad('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = () => {
    const m = marks.pop();
    if (m === undefined) throw bad('no MARK on the stack');
    return stack.splice(m);
  };
  const long = (n: number) => {
    need(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[pos + i]);
    if (n > 0 && bytes[pos + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    pos += n;
    return Number.isSafeInteger(Number(v)) && BigInt(Number(v)) === v ? Number(v) : v;
  };
  const setItems = (d: unknown, items: unknown[]) => {
    if (!(d instanceof PyDict)) {
      if (d instanceof PyObject) return; // e.g. a dict subclass we do not model: ignore its items
      throw bad('SETITEM on something that is not a dict');
    }
    for (let i = 0; i + 1 < items.length; i += 2) d.map.set(items[i], items[i + 1]);
  };
  const call = (fn: unknown, args: unknown): unknown => {
    if (fn instanceof PyGlobal) {
      const argv = args instanceof PyTuple ? args.items : [];
      if (fn.full === 'collections.OrderedDict' || fn.full === 'builtins.dict') {
        const d = new PyDict(fn.name);
        if (argv.length > 0) return new PyObject(fn, args);
        return d;
      }
      if (fn.module === 'torch._utils' && (fn.name === '_rebuild_tensor_v2' || fn.name === '_rebuild_tensor_v3')) return rebuildTensor(fn.name, args, label);
      if (fn.module === 'torch._utils' && (fn.name === '_rebuild_parameter' || fn.name === '_rebuild_parameter_with_state')) return argv[0];
    }
    return new PyObject(fn, args);
  };

  while (true) {
    const op = u8();
    switch (op) {
      case OP.PROTO:
        if (u8() > 5) throw bad('pickle protocol above 5');
        break;
      case OP.FRAME:
        u64();
        break;
      case OP.STOP:
        if (stack.length !== 1) throw bad(`STOP with ${stack.length} values on the stack`);
        return stack[0];
      case OP.MARK:
        marks.push(stack.length);
        break;
      case OP.POP:
        pop();
        break;
      case OP.POP_MARK:
        popMark();
        break;
      case OP.DUP:
        stack.push(top());
        break;
      case OP.NONE:
        stack.push(null);
        break;
      case OP.NEWTRUE:
        stack.push(true);
        break;
      case OP.NEWFALSE:
        stack.push(false);
        break;
      case OP.BININT:
        stack.push(i32());
        break;
      case OP.BININT1:
        stack.push(u8());
        break;
      case OP.BININT2:
        stack.push(u16());
        break;
      case OP.LONG1:
        stack.push(long(u8()));
        break;
      case OP.LONG4: {
        const n = i32();
        if (n < 0) throw bad('negative LONG4 length');
        stack.push(long(n));
        break;
      }
      case OP.BINFLOAT:
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case OP.BINUNICODE:
        stack.push(text(u32(), 'utf8'));
        break;
      case OP.SHORT_BINUNICODE:
        stack.push(text(u8(), 'utf8'));
        break;
      case OP.BINUNICODE8:
        stack.push(text(u64(), 'utf8'));
        break;
      case OP.SHORT_BINSTRING:
        stack.push(text(u8(), 'latin1'));
        break;
      case OP.BINSTRING: {
        const n = i32();
        if (n < 0) throw bad('negative BINSTRING length');
        stack.push(text(n, 'latin1'));
        break;
      }
      case OP.SHORT_BINBYTES:
      case OP.BINBYTES:
      case OP.BINBYTES8: {
        const n = op === OP.SHORT_BINBYTES ? u8() : op === OP.BINBYTES ? u32() : u64();
        need(n);
        stack.push(bytes.slice(pos, pos + n));
        pos += n;
        break;
      }
      case OP.EMPTY_TUPLE:
        stack.push(new PyTuple([]));
        break;
      case OP.TUPLE:
        stack.push(new PyTuple(popMark()));
        break;
      case OP.TUPLE1: {
        const a = pop();
        stack.push(new PyTuple([a]));
        break;
      }
      case OP.TUPLE2: {
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b]));
        break;
      }
      case OP.TUPLE3: {
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b, c]));
        break;
      }
      case OP.EMPTY_LIST:
        stack.push([]);
        break;
      case OP.LIST:
        stack.push(popMark());
        break;
      case OP.APPEND: {
        const v = pop();
        const l = top();
        if (!Array.isArray(l)) throw bad('APPEND to something that is not a list');
        l.push(v);
        break;
      }
      case OP.APPENDS: {
        const items = popMark();
        const l = top();
        if (!Array.isArray(l)) throw bad('APPENDS to something that is not a list');
        l.push(...items);
        break;
      }
      case OP.EMPTY_DICT:
        stack.push(new PyDict('dict'));
        break;
      case OP.DICT: {
        const d = new PyDict('dict');
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case OP.SETITEM: {
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case OP.SETITEMS: {
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case OP.EMPTY_SET:
        stack.push(new PyObject(new PyGlobal('builtins', 'set'), new PyTuple([])));
        break;
      case OP.ADDITEMS:
        popMark();
        break;
      case OP.FROZENSET:
        stack.push(new PyObject(new PyGlobal('builtins', 'frozenset'), new PyTuple(popMark())));
        break;
      case OP.GLOBAL: {
        const module = line();
        const name = line();
        stack.push(new PyGlobal(module, name));
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw bad('STACK_GLOBAL without strings');
        stack.push(new PyGlobal(module, name));
        break;
      }
      case OP.REDUCE: {
        const args = pop();
        const fn = pop();
        stack.push(call(fn, args));
        break;
      }
      case OP.NEWOBJ: {
        const args = pop();
        const cls = pop();
        stack.push(new PyObject(cls, args));
        break;
      }
      case OP.NEWOBJ_EX: {
        pop();
        const args = pop();
        const cls = pop();
        stack.push(new PyObject(cls, args));
        break;
      }
      case OP.BUILD: {
        const state = pop();
        const obj = top();
        if (obj instanceof PyObject) obj.state = state;
        // A dict's BUILD carries attributes (a state_dict's `_metadata`): nothing to keep.
        break;
      }
      case OP.BINPERSID: {
        const pid = pop();
        const items = pid instanceof PyTuple ? pid.items : [];
        const [tag, type, key, , numel] = items;
        if (tag !== 'storage' || !(type instanceof PyGlobal) || typeof key !== 'string' || typeof numel !== 'number') {
          throw bad('a persistent id that is not a torch storage');
        }
        if (!STORAGE_KINDS[type.name]) {
          throw new SubspaceError('UNSUPPORTED', `${label}: storage '${key}' is a ${type.full}, which this reader does not support (float16/32/64, bfloat16, int32, int64)`, key);
        }
        stack.push(new StorageRef(key, type.name, numel));
        break;
      }
      case OP.BINPUT:
        memo.set(u8(), top());
        break;
      case OP.LONG_BINPUT:
        memo.set(u32(), top());
        break;
      case OP.MEMOIZE:
        memo.set(memo.size, top());
        break;
      case OP.BINGET:
      case OP.LONG_BINGET: {
        const i = op === OP.BINGET ? u8() : u32();
        if (!memo.has(i)) throw bad(`memo entry ${i} is not set`);
        stack.push(memo.get(i));
        break;
      }
      default:
        throw bad(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}

/* ---------------------------------------------------------------------------- tensor reading */

function storageValues(bytesIn: Uint8Array, dtype: TorchDtype): Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array {
  const size = DTYPE_BYTES[dtype];
  const n = bytesIn.length / size;
  const copy = new Uint8Array(bytesIn.length);
  copy.set(bytesIn);
  if (endianness() !== 'LE') {
    for (let i = 0; i < n; i++) copy.subarray(i * size, (i + 1) * size).reverse();
  }
  switch (dtype) {
    case 'float32':
      return new Float32Array(copy.buffer, 0, n);
    case 'float64':
      return new Float64Array(copy.buffer, 0, n);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(copy.buffer, 0, n);
    case 'int64':
      return new BigInt64Array(copy.buffer, 0, n);
    case 'int32':
      return new Int32Array(copy.buffer, 0, n);
  }
}

function materialize(name: string, t: TensorRef, records: Map<string, Uint8Array>, prefix: string, label: string): TorchTensor {
  const record = `${prefix}data/${t.storage.key}`;
  const raw = records.get(record);
  if (!raw) throw new SubspaceError('BAD_FILE', `${label}: tensor '${name}' needs storage record '${record}', which is missing`, name);
  const size = DTYPE_BYTES[t.dtype];
  const kind = STORAGE_KINDS[t.storage.type];
  const declaredBytes = kind.dtype === 'bytes' ? t.storage.numel : t.storage.numel * size;
  if (raw.length !== declaredBytes || raw.length % size !== 0) {
    throw new SubspaceError('BAD_FILE', `${label}: storage '${t.storage.key}' of tensor '${name}' has ${raw.length} bytes, expected ${declaredBytes}`, name);
  }
  const elems = raw.length / size;
  const n = t.size.reduce((a, b) => a * b, 1);
  if (n > 0) {
    let last = t.offset;
    t.size.forEach((s, i) => (last += (s - 1) * t.stride[i]));
    if (last >= elems) throw new SubspaceError('BAD_FILE', `${label}: tensor '${name}' reaches element ${last} of a storage of ${elems}`, name);
  }
  const src = storageValues(raw, t.dtype);
  let data: Float32Array | BigInt64Array | Int32Array;
  let bits: Uint16Array | undefined;
  let copy: (k: number, i: number) => void;
  if (src instanceof BigInt64Array) {
    const d = (data = new BigInt64Array(n));
    copy = (k, i) => (d[k] = src[i]);
  } else if (src instanceof Int32Array) {
    const d = (data = new Int32Array(n));
    copy = (k, i) => (d[k] = src[i]);
  } else if (src instanceof Uint16Array) {
    const d = (bits = new Uint16Array(n));
    data = new Float32Array(0);
    copy = (k, i) => (d[k] = src[i]);
  } else {
    const d = (data = new Float32Array(n));
    copy = (k, i) => (d[k] = src[i]);
  }
  // Walk the tensor's elements in C order, following its strides.
  const rank = t.size.length;
  const contiguous = t.stride.every((s, i) => t.size[i] === 1 || s === t.size.slice(i + 1).reduce((a, b) => a * b, 1));
  if (contiguous) {
    for (let k = 0; k < n; k++) copy(k, t.offset + k);
  } else {
    const counter = new Array<number>(rank).fill(0);
    let at = t.offset;
    for (let k = 0; k < n; k++) {
      copy(k, at);
      for (let d = rank - 1; d >= 0; d--) {
        counter[d]++;
        at += t.stride[d];
        if (counter[d] < t.size[d]) break;
        at -= counter[d] * t.stride[d];
        counter[d] = 0;
      }
    }
  }
  if (bits) data = t.dtype === 'float16' ? f16ToF32Array(bits) : bf16ToF32Array(bits);
  return { dtype: t.dtype, shape: t.size.slice(), data };
}

/**
 * Parses the bytes of a `torch.save(state_dict)` file into name → tensor, in the file's order.
 * `label` names the file in errors.
 */
export function parseTorchStateDict(bytes: Uint8Array, label: string): Map<string, TorchTensor> {
  const records = readStoredZip(bytes, label);
  const pkls = [...records.keys()].filter((k) => k === 'data.pkl' || k.endsWith('/data.pkl'));
  if (pkls.length !== 1) {
    throw new SubspaceError('BAD_FILE', `${label}: expected one data.pkl record in the archive, found ${pkls.length} (${[...records.keys()].slice(0, 5).join(', ')})`, label);
  }
  const prefix = pkls[0].slice(0, pkls[0].length - 'data.pkl'.length);
  const root = unpickle(records.get(pkls[0])!, label);
  if (!(root instanceof PyDict)) {
    throw new SubspaceError('BAD_FILE', `${label}: the pickled object is not a dict (a state dict was expected)`, label);
  }
  const out = new Map<string, TorchTensor>();
  for (const [k, v] of root.map) {
    if (typeof k !== 'string') throw new SubspaceError('BAD_FILE', `${label}: a state dict key is not a string (${String(k)})`, label);
    if (!(v instanceof TensorRef)) {
      const what = v instanceof PyObject && v.callable instanceof PyGlobal ? v.callable.full : v === null ? 'None' : typeof v;
      throw new SubspaceError('UNSUPPORTED', `${label}: entry '${k}' is not a tensor (${what})`, k);
    }
    out.set(k, materialize(k, v, records, prefix, label));
  }
  return out;
}

/** Reads a `torch.save(state_dict)` file (PyTorch ≥ 1.6 zip format). */
export function readTorchStateDict(path: string): Map<string, TorchTensor> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SubspaceError('NOT_FOUND', `${path}: cannot be read (${errorMessage(e)})`, path);
  }
  return parseTorchStateDict(bytes, path);
}
