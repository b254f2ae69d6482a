import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SubspaceError } from '../../src-main/engine/errors.js';
import {
  bf16BitsToF32,
  bf16ToF32Array,
  f16BitsToF32,
  f16ToF32Array,
  f32BitsToBf16Bits,
  f32BitsToF16Bits,
  f32ToBf16Array,
  f32ToBf16Bits,
  f32ToF16Array,
  f32ToF16Bits,
} from '../../src-main/engine/io/halfprecision.js';
import {
  DTYPE_BYTES,
  SAFETENSORS_DTYPES,
  encodeSafetensors,
  parseSafetensors,
  parseSafetensorsHeader,
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
  type SafetensorsDtype,
  type TensorToWrite,
} from '../../src-main/engine/io/safetensors.js';
import { seededRandom } from '../../src-main/engine/random.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'subspace-safetensors-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let counter = 0;
function tmpPath(stem = 'file'): string {
  return join(dir, `${stem}-${counter++}.safetensors`);
}

/** Bits of a float32 value. */
function f32Bits(v: number): number {
  return new Uint32Array(new Float32Array([v]).buffer)[0];
}

const rng = seededRandom;

/** Assert `fn` throws a SubspaceError with `code` whose message contains every fragment. */
function expectError(fn: () => unknown, code: string, ...fragments: string[]): SubspaceError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected an error').toBeInstanceOf(SubspaceError);
  const err = caught as SubspaceError;
  expect(err.code, err.message).toBe(code);
  for (const f of fragments) expect(err.message).toContain(f);
  return err;
}

/* ====================================================================== */
describe('half precision', () => {
  const f16Cases: [string, number, number][] = [
    ['1.0', 1, 0x3c00],
    ['-2.5', -2.5, 0xc100],
    ['65504 (max finite)', 65504, 0x7bff],
    ['0.1 (inexact)', 0.1, 0x2e66],
    ['1/3 (inexact)', 1 / 3, 0x3555],
    ['+0', 0, 0x0000],
    ['-0', -0, 0x8000],
    ['smallest subnormal 2^-24', 2 ** -24, 0x0001],
    ['largest subnormal', 1023 * 2 ** -24, 0x03ff],
    ['smallest normal 2^-14', 2 ** -14, 0x0400],
    ['-smallest subnormal', -(2 ** -24), 0x8001],
    ['+inf', Infinity, 0x7c00],
    ['-inf', -Infinity, 0xfc00],
  ];
  it.each(f16Cases)('f16 exact pattern for %s', (label, value, bits) => {
    expect(f32ToF16Bits(value)).toBe(bits);
    if (label.includes('inexact')) expect(Math.abs(f16BitsToF32(bits) - value)).toBeLessThanOrEqual(Math.abs(value) * 2 ** -11);
    else expect(Object.is(f16BitsToF32(bits), value)).toBe(true);
    if (Object.is(Math.fround(value), value)) expect(f32BitsToF16Bits(f32Bits(value))).toBe(bits);
  });

  it('f16 rounds to nearest even (ties, overflow, underflow)', () => {
    const cases: [number, number][] = [
      [1 + 2 ** -11, 0x3c00], // tie -> even (down)
      [1 + 3 * 2 ** -11, 0x3c02], // tie -> even (up)
      [1 + 2 ** -11 + 2 ** -40, 0x3c01], // just above the tie: a double-rounding trap via f32
      [65519, 0x7bff], // below the midpoint to 65536
      [65520, 0x7c00], // midpoint -> even = overflow to inf
      [1e6, 0x7c00],
      [-1e6, 0xfc00],
      [2 ** -25, 0x0000], // half the smallest subnormal: tie -> 0
      [2 ** -25 + 2 ** -40, 0x0001],
      [3 * 2 ** -25, 0x0002], // 1.5 ulp -> 2
      [2 ** -26, 0x0000],
      [-(2 ** -26), 0x8000],
      [2047 * 2 ** -25, 0x0400], // rounds up out of the subnormals into the smallest normal
      [1e-300, 0x0000],
    ];
    for (const [v, bits] of cases) expect(f32ToF16Bits(v), `value ${v}`).toBe(bits);
    // The same through the Float32Array bit path, where the value is an f32.
    for (const [v, bits] of cases) {
      if (Object.is(Math.fround(v), v)) expect(f32BitsToF16Bits(f32Bits(v)), `f32 ${v}`).toBe(bits);
    }
  });

  it('f16 NaN stays NaN (quiet), from numbers and from f32 bit patterns', () => {
    const h = f32ToF16Bits(NaN);
    expect(h).toBe(0x7e00);
    expect(Number.isNaN(f16BitsToF32(0x7e00))).toBe(true);
    expect(Number.isNaN(f16BitsToF32(0x7c01))).toBe(true); // signalling pattern widens to NaN
    for (const bits of [0x7fc00000, 0x7f800001, 0xffc00000, 0x7fffffff]) {
      const out = f32BitsToF16Bits(bits);
      expect((out & 0x7c00) === 0x7c00 && (out & 0x3ff) !== 0, bits.toString(16)).toBe(true);
      expect(out & 0x200).toBe(0x200);
    }
  });

  it('every f16 pattern widens and narrows back to itself', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const wide = f16ToF32Array(all);
    const back = f32ToF16Array(wide);
    const backGeneric = f32ToF16Array(Array.from(wide));
    for (let h = 0; h < 65536; h++) {
      const isNaN16 = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (isNaN16) {
        expect(Number.isNaN(wide[h])).toBe(true);
        continue;
      }
      if (back[h] !== h || backGeneric[h] !== h) throw new Error(`f16 ${h.toString(16)} -> ${wide[h]} -> ${back[h].toString(16)}/${backGeneric[h].toString(16)}`);
      if (f16BitsToF32(h) !== wide[h] && !Object.is(f16BitsToF32(h), wide[h])) throw new Error(`scalar/array mismatch at ${h}`);
    }
  });

  it('f16: the f32 bit path and the exact-double path agree on random f32 values', () => {
    const r = rng(1);
    const bits = new Uint32Array(200_000);
    for (let i = 0; i < bits.length; i++) bits[i] = Math.floor(r() * 4294967296);
    // Bias a quarter of them into the f16 range, where rounding matters most.
    for (let i = 0; i < bits.length; i += 4) bits[i] = ((bits[i] & 0x807fffff) | ((100 + (i % 45)) << 23)) >>> 0;
    const f = new Float32Array(bits.buffer);
    const fast = f32ToF16Array(f);
    const slow = f32ToF16Array(Array.from(f));
    for (let i = 0; i < f.length; i++) {
      if (Number.isNaN(f[i])) continue; // NaN payloads differ by design
      if (fast[i] !== slow[i]) throw new Error(`f32 bits ${bits[i].toString(16)}: fast ${fast[i].toString(16)} slow ${slow[i].toString(16)}`);
    }
  });

  const bf16Cases: [string, number, number][] = [
    ['1.0', 1, 0x3f80],
    ['-2.5', -2.5, 0xc020],
    ['pi', Math.PI, 0x4049],
    ['+0', 0, 0x0000],
    ['-0', -0, 0x8000],
    ['smallest subnormal 2^-133', 2 ** -133, 0x0001],
    ['smallest normal 2^-126', 2 ** -126, 0x0080],
    ['largest finite', (2 - 2 ** -7) * 2 ** 127, 0x7f7f],
    ['+inf', Infinity, 0x7f80],
    ['-inf', -Infinity, 0xff80],
  ];
  it.each(bf16Cases)('bf16 exact pattern for %s', (_label, value, bits) => {
    expect(f32ToBf16Bits(value)).toBe(bits);
    expect(f32BitsToBf16Bits(f32Bits(value))).toBe(bits);
    if (value === Math.PI) return; // pi is not exactly representable
    expect(Object.is(bf16BitsToF32(bits), value)).toBe(true);
  });

  it('bf16 rounds to nearest even (ties, overflow, underflow) and keeps NaN', () => {
    const cases: [number, number][] = [
      [1 + 2 ** -8, 0x3f80], // tie -> even (down)
      [1 + 3 * 2 ** -8, 0x3f82], // tie -> even (up)
      [1 + 2 ** -8 + 2 ** -40, 0x3f81], // above the tie (exact double path)
      [3.4028234663852886e38, 0x7f80], // max f32 rounds up to inf
      [2 ** -149, 0x0000], // smallest f32 subnormal is far below bf16's
      [2 ** -134, 0x0000], // tie -> 0
      [3 * 2 ** -134, 0x0002],
      [1e300, 0x7f80],
    ];
    for (const [v, bits] of cases) expect(f32ToBf16Bits(v), `value ${v}`).toBe(bits);
    expect(f32BitsToBf16Bits(0x3f808000)).toBe(0x3f80);
    expect(f32BitsToBf16Bits(0x3f818000)).toBe(0x3f82);
    expect(f32BitsToBf16Bits(0x3f808001)).toBe(0x3f81);
    expect(f32BitsToBf16Bits(0x7f7fffff)).toBe(0x7f80);
    expect(f32ToBf16Bits(NaN)).toBe(0x7fc0);
    expect(f32BitsToBf16Bits(0x7f800001)).toBe(0x7fc0); // signalling NaN with a low payload becomes quiet, not inf
    expect(f32BitsToBf16Bits(0xffc00000)).toBe(0xffc0);
    expect(Number.isNaN(bf16BitsToF32(0x7fc0))).toBe(true);
  });

  it('every bf16 pattern widens and narrows back to itself; random f32 values agree on both paths', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const wide = bf16ToF32Array(all);
    const back = f32ToBf16Array(wide);
    const backGeneric = f32ToBf16Array(Array.from(wide));
    for (let h = 0; h < 65536; h++) {
      if ((h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0) continue; // NaN
      if (back[h] !== h || backGeneric[h] !== h) throw new Error(`bf16 ${h.toString(16)} round trip failed`);
    }
    const r = rng(2);
    const bits = new Uint32Array(200_000);
    for (let i = 0; i < bits.length; i++) bits[i] = Math.floor(r() * 4294967296);
    const f = new Float32Array(bits.buffer);
    const fast = f32ToBf16Array(f);
    const slow = f32ToBf16Array(Array.from(f));
    for (let i = 0; i < f.length; i++) {
      if (Number.isNaN(f[i])) continue;
      if (fast[i] !== slow[i]) throw new Error(`f32 bits ${bits[i].toString(16)}: fast ${fast[i].toString(16)} slow ${slow[i].toString(16)}`);
    }
  });

  it('array conversions check the destination length and fill a given destination', () => {
    const dst = new Uint16Array(2);
    expect(f32ToF16Array([1, -2.5], dst)).toBe(dst);
    expect(Array.from(dst)).toEqual([0x3c00, 0xc100]);
    expect(() => f32ToF16Array([1, 2, 3], dst)).toThrow(/destination/);
  });
});

/* ====================================================================== */
describe('safetensors round trips', () => {
  const sample: Record<SafetensorsDtype, TensorToWrite> = {
    F32: { dtype: 'F32', shape: [2, 3], data: new Float32Array([0, -1.5, 3.25, 1e-40, Infinity, -Infinity]) },
    F64: { dtype: 'F64', shape: [4], data: new Float64Array([1, 0.1, -1e300, 2 ** -30]) },
    F16: { dtype: 'F16', shape: [4], data: new Float32Array([1, -2.5, 65504, 2 ** -24]) },
    BF16: { dtype: 'BF16', shape: [2, 2], data: new Float32Array([1, -2.5, 3.140625, -0]) },
    I64: { dtype: 'I64', shape: [5], data: [0, -1, 2147483647, -2147483648, 50256] },
    I32: { dtype: 'I32', shape: [3], data: new Int32Array([-2147483648, 0, 2147483647]) },
    I16: { dtype: 'I16', shape: [3], data: [-32768, 7, 32767] },
    I8: { dtype: 'I8', shape: [3], data: new Int8Array([-128, 0, 127]) },
    U8: { dtype: 'U8', shape: [1, 3], data: new Uint8Array([0, 128, 255]) },
    BOOL: { dtype: 'BOOL', shape: [4], data: new Uint8Array([0, 1, 1, 0]) },
  };
  const expected: Record<SafetensorsDtype, ArrayLike<number>> = {
    F32: new Float32Array([0, -1.5, 3.25, 1e-40, Infinity, -Infinity]),
    F64: Float32Array.from([1, 0.1, -1e300, 2 ** -30]), // rounded to f32 on read
    F16: new Float32Array([1, -2.5, 65504, 2 ** -24]),
    BF16: new Float32Array([1, -2.5, 3.140625, -0]),
    I64: new Int32Array([0, -1, 2147483647, -2147483648, 50256]),
    I32: new Int32Array([-2147483648, 0, 2147483647]),
    I16: new Int16Array([-32768, 7, 32767]),
    I8: new Int8Array([-128, 0, 127]),
    U8: new Uint8Array([0, 128, 255]),
    BOOL: new Uint8Array([0, 1, 1, 0]),
  };
  const arrayType: Record<SafetensorsDtype, string> = {
    F32: 'Float32Array',
    F64: 'Float32Array',
    F16: 'Float32Array',
    BF16: 'Float32Array',
    I64: 'Int32Array',
    I32: 'Int32Array',
    I16: 'Int16Array',
    I8: 'Int8Array',
    U8: 'Uint8Array',
    BOOL: 'Uint8Array',
  };

  it.each(SAFETENSORS_DTYPES.map((d) => [d]))('%s round trips through a file and through memory', (dtype) => {
    const path = tmpPath(dtype);
    writeSafetensors(path, { t: sample[dtype] });
    const fromFile = readSafetensors(path).tensors.get('t')!;
    const fromMemory = parseSafetensors(encodeSafetensors({ t: sample[dtype] }), 'mem').tensors.get('t')!;
    expect(new Uint8Array(readFileSync(path))).toEqual(encodeSafetensors({ t: sample[dtype] }));
    for (const got of [fromFile, fromMemory]) {
      expect(got.dtype).toBe(dtype);
      expect(got.shape).toEqual(Array.from(sample[dtype].shape));
      expect(got.data.constructor.name).toBe(arrayType[dtype]);
      const want = expected[dtype];
      expect(got.data.length).toBe(want.length);
      for (let i = 0; i < want.length; i++) expect(Object.is(Number(got.data[i]), want[i]), `${dtype}[${i}]`).toBe(true);
    }
  });

  it('all dtypes together in one file, aligned and ordered by element size', () => {
    const path = tmpPath('all');
    writeSafetensors(path, sample);
    const header = readSafetensorsHeader(path);
    expect(header.dataStart % 8).toBe(0);
    expect(header.headerLength % 8).toBe(0);
    const names = Object.keys(header.tensors);
    expect(new Set(names)).toEqual(new Set(SAFETENSORS_DTYPES));
    let prevEnd = 0;
    let prevSize = 8;
    for (const n of names) {
      const t = header.tensors[n];
      expect(t.dataOffsets[0]).toBe(prevEnd); // contiguous from 0
      expect(t.dataOffsets[0] % DTYPE_BYTES[t.dtype]).toBe(0);
      expect(DTYPE_BYTES[t.dtype]).toBeLessThanOrEqual(prevSize);
      prevEnd = t.dataOffsets[1];
      prevSize = DTYPE_BYTES[t.dtype];
    }
    expect(header.fileSize).toBe(header.dataStart + prevEnd);
    // The JSON is padded with spaces, as the reference library does.
    const bytes = readFileSync(path);
    const json = bytes.subarray(8, 8 + header.headerLength).toString('utf8');
    expect(json.trimEnd().endsWith('}')).toBe(true);
    expect(/^ *$/.test(json.slice(json.trimEnd().length))).toBe(true);
    const read = readSafetensors(path);
    for (const d of SAFETENSORS_DTYPES) expect(Array.from(read.tensors.get(d)!.data, Number)).toEqual(Array.from(expected[d]));
  });

  it('writes exact half-precision bit patterns into the file', () => {
    const values = [1, -2.5, 65504, 2 ** -24, 1023 * 2 ** -24, Infinity, -Infinity, NaN, -0, 65520];
    const bytes = encodeSafetensors({
      h: { dtype: 'F16', shape: [values.length], data: values },
      b: { dtype: 'BF16', shape: [values.length], data: new Float32Array(values) },
    });
    const header = parseSafetensorsHeader(bytes, 'mem');
    const read16 = (name: string): number[] => {
      const [begin, end] = header.tensors[name].dataOffsets;
      const dv = new DataView(bytes.buffer, bytes.byteOffset + header.dataStart + begin, end - begin);
      return Array.from({ length: (end - begin) / 2 }, (_, i) => dv.getUint16(2 * i, true));
    };
    expect(read16('h')).toEqual([0x3c00, 0xc100, 0x7bff, 0x0001, 0x03ff, 0x7c00, 0xfc00, 0x7e00, 0x8000, 0x7c00]);
    // bf16 of 65504 (f32 0x477fe000) and 65520 round up to 65536; 1023 * 2^-24 (0x387fc000) rounds up too.
    expect(read16('b')).toEqual([0x3f80, 0xc020, 0x4780, 0x3380, 0x3880, 0x7f80, 0xff80, 0x7fc0, 0x8000, 0x4780]);
    const back = parseSafetensors(bytes, 'mem');
    const h = back.tensors.get('h')!.data as Float32Array;
    expect(Array.from(h.slice(0, 7))).toEqual([1, -2.5, 65504, 2 ** -24, 1023 * 2 ** -24, Infinity, -Infinity]);
    expect(Number.isNaN(h[7])).toBe(true);
    expect(Object.is(h[8], -0)).toBe(true);
    expect(h[9]).toBe(Infinity);
  });

  it('f16 and bf16 round trips stay within their precision', () => {
    const r = rng(3);
    const values = Float32Array.from({ length: 10_000 }, () => (r() - 0.5) * 2 ** Math.floor(r() * 20 - 10));
    const bytes = encodeSafetensors({
      h: { dtype: 'F16', shape: [values.length], data: values },
      b: { dtype: 'BF16', shape: [values.length], data: values },
    });
    const back = parseSafetensors(bytes, 'mem');
    const h = back.tensors.get('h')!.data as Float32Array;
    const b = back.tensors.get('b')!.data as Float32Array;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      const abs = Math.abs(v);
      // Half an ulp relative error for normals; an absolute half-ulp of the smallest subnormal below.
      expect(Math.abs(h[i] - v)).toBeLessThanOrEqual(Math.max(abs * 2 ** -11, 2 ** -25));
      expect(Math.abs(b[i] - v)).toBeLessThanOrEqual(abs * 2 ** -8);
    }
  });

  it('I64: int32 by default with a range check, BigInt64Array on request, bigints beyond 2^53 written exactly', () => {
    const path = tmpPath('i64');
    const big = [0n, -1n, 2n ** 62n + 12345n, -(2n ** 63n), 2n ** 63n - 1n];
    writeSafetensors(path, {
      big: { dtype: 'I64', shape: [5], data: big },
      small: { dtype: 'I64', shape: [2], data: new Int32Array([-7, 123456]) },
    });
    const asBig = readSafetensors(path, { int64: 'bigint' });
    expect(asBig.tensors.get('big')!.data).toBeInstanceOf(BigInt64Array);
    expect(Array.from(asBig.tensors.get('big')!.data as BigInt64Array)).toEqual(big);
    expect(Array.from(readSafetensors(path, { names: ['small'] }).tensors.get('small')!.data)).toEqual([-7, 123456]);
    expectError(() => readSafetensors(path), 'UNSUPPORTED', '"big"', String(2n ** 62n + 12345n), 'index 2', "int64: 'bigint'");
    // Numbers up to 2^53 are written exactly too.
    const bytes = encodeSafetensors({ n: { dtype: 'I64', shape: [2], data: [2 ** 53 - 1, -(2 ** 53) + 1] } });
    expect(Array.from(parseSafetensors(bytes, 'mem', { int64: 'bigint' }).tensors.get('n')!.data as BigInt64Array)).toEqual([
      2n ** 53n - 1n,
      -(2n ** 53n) + 1n,
    ]);
  });

  it('scalars, empty tensors and odd names', () => {
    const bytes = encodeSafetensors({
      scalar: { dtype: 'F32', shape: [], data: [42] },
      empty: { dtype: 'F32', shape: [0, 3], data: [] },
      ['__proto__']: { dtype: 'I32', shape: [1], data: [5] },
      '0': { dtype: 'U8', shape: [1], data: [9] },
      'model.layers.0.self_attn.q_proj.weight ✓': { dtype: 'F16', shape: [1], data: [0.5] },
    });
    const back = parseSafetensors(bytes, 'mem');
    expect(back.tensors.get('scalar')).toMatchObject({ shape: [], data: new Float32Array([42]) });
    expect(back.tensors.get('empty')!.data.length).toBe(0);
    expect(back.tensors.get('empty')!.shape).toEqual([0, 3]);
    expect(Array.from(back.tensors.get('__proto__')!.data)).toEqual([5]);
    expect(Array.from(back.tensors.get('0')!.data)).toEqual([9]);
    expect(Array.from(back.tensors.get('model.layers.0.self_attn.q_proj.weight ✓')!.data)).toEqual([0.5]);
  });

  it('reads just the requested subset of names, in the requested order', () => {
    const path = tmpPath('subset');
    writeSafetensors(path, sample);
    const read = readSafetensors(path, { names: ['I8', 'F16', 'I8'] });
    expect([...read.tensors.keys()]).toEqual(['I8', 'F16']);
    expect(Array.from(read.tensors.get('F16')!.data)).toEqual(Array.from(expected.F16));
    const mem = parseSafetensors(readFileSync(path), path, { names: ['BOOL'] });
    expect([...mem.tensors.keys()]).toEqual(['BOOL']);
    expectError(() => readSafetensors(path, { names: ['F32', 'nope'] }), 'NOT_FOUND', '"nope"', path);
  });

  it('metadata round trips (and is absent when not given)', () => {
    const path = tmpPath('meta');
    const metadata = { format: 'pt', 'subspace.note': 'héllo "quoted"\nline', empty: '' };
    writeSafetensors(path, { x: sample.F32 }, metadata);
    expect(readSafetensors(path).metadata).toEqual(metadata);
    expect(readSafetensorsHeader(path).metadata).toEqual(metadata);
    const noMeta = encodeSafetensors({ x: sample.F32 });
    expect(Buffer.from(noMeta).toString('utf8')).not.toContain('__metadata__');
    expect(parseSafetensors(noMeta, 'mem').metadata).toEqual({});
    // Metadata only, no tensors.
    expect(parseSafetensors(encodeSafetensors({}, { a: 'b' }), 'mem')).toEqual({ tensors: new Map(), metadata: { a: 'b' } });
  });

  it('accepts a Map of tensors, e.g. what a read returned', () => {
    const read = parseSafetensors(encodeSafetensors(sample), 'mem');
    const again = parseSafetensors(encodeSafetensors(read.tensors), 'mem');
    expect(again.tensors).toEqual(read.tensors);
  });

  it('parses from an unaligned view without aliasing it', () => {
    const bytes = encodeSafetensors({ x: sample.F32, y: sample.I64 });
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const view = shifted.subarray(3);
    const read = parseSafetensors(view, 'mem');
    expect(Array.from(read.tensors.get('x')!.data)).toEqual(Array.from(expected.F32));
    view.fill(0);
    expect(Array.from(read.tensors.get('x')!.data)).toEqual(Array.from(expected.F32));
  });

  it('reads a tensor past 2 GiB of a sparse 3 GiB file with a positional read, and headers alone', () => {
    const bigBytes = 3 * 2 ** 30;
    const header = {
      big: { dtype: 'F32', shape: [bigBytes / 4], data_offsets: [0, bigBytes] },
      tail: { dtype: 'I32', shape: [3], data_offsets: [bigBytes, bigBytes + 12] },
    };
    const path = tmpPath('sparse');
    const json = Buffer.from(JSON.stringify(header));
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    const fd = openSync(path, 'w');
    try {
      writeSync(fd, prefix, 0, 8, 0);
      writeSync(fd, json, 0, json.length, 8);
      const tail = Buffer.from(new Int32Array([7, -8, 9]).buffer);
      writeSync(fd, tail, 0, 12, 8 + json.length + bigBytes); // leaves a hole: no disk used
    } finally {
      closeSync(fd);
    }
    const h = readSafetensorsHeader(path);
    expect(h.fileSize).toBe(8 + json.length + bigBytes + 12);
    expect(h.tensors.big.shape).toEqual([bigBytes / 4]);
    const read = readSafetensors(path, { names: ['tail'] });
    expect(Array.from(read.tensors.get('tail')!.data)).toEqual([7, -8, 9]);
    rmSync(path);
  });

  it('writes atomically: no temp files left, overwrites, and a failed write keeps the old file', () => {
    const sub = join(dir, 'atomic');
    mkdirSync(sub);
    const path = join(sub, 'w.safetensors');
    writeSafetensors(path, { a: sample.F32 });
    writeSafetensors(path, { b: sample.I32 });
    expect(readdirSync(sub)).toEqual(['w.safetensors']);
    expect([...readSafetensors(path).tensors.keys()]).toEqual(['b']);
    const before = readFileSync(path);
    // 'bad' is validated only while encoding, after the temp file is open.
    expectError(
      () => writeSafetensors(path, { ok: sample.F64, bad: { dtype: 'I8', shape: [2], data: [1, 300] } }),
      'BAD_ARGUMENT',
      '"bad"',
      '300',
      'I8',
    );
    expect(readdirSync(sub)).toEqual(['w.safetensors']);
    expect(readFileSync(path)).toEqual(before);
    expectError(() => writeSafetensors(join(sub, 'missing-dir', 'x.safetensors'), { a: sample.F32 }), 'BAD_FILE', 'missing-dir');
  });

  it('the writer rejects bad tensors with BAD_ARGUMENT naming the tensor', () => {
    const enc = (t: Record<string, unknown>, m?: unknown) => () => encodeSafetensors(t as Record<string, TensorToWrite>, m as Record<string, string>);
    expectError(enc({ w: { dtype: 'F32', shape: [2, 2], data: [1, 2, 3] } }), 'BAD_ARGUMENT', '"w"', '3 elements', '4');
    expectError(enc({ w: { dtype: 'F8', shape: [1], data: [1] } }), 'BAD_ARGUMENT', '"w"', 'F8', 'F32');
    expectError(enc({ w: { dtype: 'F32', shape: [-1], data: [] } }), 'BAD_ARGUMENT', '"w"', 'dimension');
    expectError(enc({ w: { dtype: 'I32', shape: [1], data: [1.5] } }), 'BAD_ARGUMENT', '"w"', '1.5');
    expectError(enc({ w: { dtype: 'I32', shape: [1], data: [2 ** 31] } }), 'BAD_ARGUMENT', '"w"', 'I32');
    expectError(enc({ w: { dtype: 'U8', shape: [1], data: [-1] } }), 'BAD_ARGUMENT', '"w"', 'U8');
    expectError(enc({ w: { dtype: 'I64', shape: [1], data: [2 ** 60] } }), 'BAD_ARGUMENT', '"w"', 'safe integer');
    expectError(enc({ w: { dtype: 'I64', shape: [1], data: [2n ** 63n] } }), 'BAD_ARGUMENT', '"w"', 'I64');
    expectError(enc({ w: { dtype: 'F32', shape: [1], data: [1n] } }), 'BAD_ARGUMENT', '"w"', 'bigint');
    expectError(enc({ __metadata__: { dtype: 'F32', shape: [1], data: [1] } }), 'BAD_ARGUMENT', '__metadata__');
    expectError(enc({ w: sample.F32 }, { n: 3 }), 'BAD_ARGUMENT', 'metadata', '"n"');
  });
});

/* ====================================================================== */
describe('safetensors bad input', () => {
  /** Bytes of a file: prefix (declared header length, default the real one), header, data. */
  function craft(header: unknown, data: number | Uint8Array = 0, opts: { declaredLength?: bigint; rawHeader?: Uint8Array } = {}): Uint8Array {
    const json = opts.rawHeader ?? new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
    const body = typeof data === 'number' ? new Uint8Array(data) : data;
    const out = new Uint8Array(8 + json.length + body.length);
    new DataView(out.buffer).setBigUint64(0, opts.declaredLength ?? BigInt(json.length), true);
    out.set(json, 8);
    out.set(body, 8 + json.length);
    return out;
  }

  /** Check the same error from parseSafetensors, readSafetensors and (for header problems) readSafetensorsHeader. */
  function expectBad(bytes: Uint8Array, fragments: string[], headerProblem = true): void {
    const path = tmpPath('bad');
    writeFileSync(path, bytes);
    expectError(() => parseSafetensors(bytes, 'mem.safetensors'), 'BAD_FILE', 'mem.safetensors', ...fragments);
    expectError(() => readSafetensors(path), 'BAD_FILE', path, ...fragments);
    if (headerProblem) expectError(() => readSafetensorsHeader(path), 'BAD_FILE', path, ...fragments);
  }

  const f32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

  it('file shorter than 8 bytes', () => {
    expectBad(new Uint8Array(0), ['0 bytes', 'shorter than']);
    expectBad(new Uint8Array([1, 2, 3, 4, 5]), ['5 bytes', 'shorter than']);
  });

  it('header length past the end of the file', () => {
    const ok = craft({ a: f32([1], 0, 4) }, 4);
    const bytes = craft({ a: f32([1], 0, 4) }, 4, { declaredLength: BigInt(ok.length) });
    expectBad(bytes, ['header length', 'past the end of the file']);
  });

  it('absurdly large header length', () => {
    expectBad(craft({}, 0, { declaredLength: 2n ** 40n }), ['header length 1099511627776', 'absurdly large']);
    expectBad(craft({}, 0, { declaredLength: 2n ** 64n - 1n }), ['absurdly large']);
  });

  it('header that is not valid JSON, not UTF-8, or not an object', () => {
    expectBad(craft('{"a": {"dtype": "F32",'), ['not valid JSON']);
    expectBad(craft('', 0), ['not valid JSON']);
    expectBad(craft(null, 0, { rawHeader: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) }), ['not valid UTF-8']);
    expectBad(craft('[1, 2]'), ['must be an object', 'array']);
    expectBad(craft('null'), ['must be an object', 'null']);
    expectBad(craft('42'), ['must be an object', 'number']);
    expectBad(craft('"hi"'), ['must be an object', 'string']);
  });

  it('entry that is not an object, or misses dtype / shape / data_offsets', () => {
    expectBad(craft({ w: [1, 2] }), ['"w"', 'must be an object']);
    expectBad(craft({ w: { shape: [1], data_offsets: [0, 4] } }, 4), ['"w"', 'missing "dtype"']);
    expectBad(craft({ w: { dtype: 'F32', data_offsets: [0, 4] } }, 4), ['"w"', 'missing "shape"']);
    expectBad(craft({ w: { dtype: 'F32', shape: [1] } }, 4), ['"w"', 'missing "data_offsets"']);
  });

  it('entry fields of the wrong type', () => {
    expectBad(craft({ w: { dtype: 32, shape: [1], data_offsets: [0, 4] } }, 4), ['"w"', 'dtype must be a string']);
    expectBad(craft({ w: { dtype: 'F32', shape: '1', data_offsets: [0, 4] } }, 4), ['"w"', 'shape must be an array']);
    expectBad(craft({ w: { dtype: 'F32', shape: [1], data_offsets: 4 } }, 4), ['"w"', 'data_offsets must be two']);
    expectBad(craft({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] } }, 8), ['"w"', 'data_offsets must be two']);
    expectBad(craft({ w: { dtype: 'F32', shape: [1], data_offsets: [0, '4'] } }, 4), ['"w"', 'data_offsets must be two']);
    expectBad(craft({ w: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, 4), ['"w"', 'data_offsets', 'non-negative']);
    expectBad(craft({ w: { dtype: 'F32', shape: [1], data_offsets: [0.5, 4.5] } }, 8), ['"w"', 'data_offsets']);
  });

  it('unknown dtype is named, with the supported list', () => {
    const err = expectError(() => parseSafetensors(craft({ w: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, 1), 'f'), 'BAD_FILE');
    expect(err.message).toContain('"w"');
    expect(err.message).toContain('unsupported dtype "F8_E4M3"');
    for (const d of SAFETENSORS_DTYPES) expect(err.message).toContain(d);
    expectBad(craft({ w: { dtype: 'f32', shape: [1], data_offsets: [0, 4] } }, 4), ['"w"', 'dtype "f32"']);
  });

  it('negative or non-integer shape dimensions', () => {
    expectBad(craft({ w: f32([2, -1], 0, 0) }), ['"w"', 'dimension', '-1']);
    expectBad(craft({ w: f32([1.5], 0, 4) }, 4), ['"w"', 'dimension', '1.5']);
    expectBad(craft({ w: { dtype: 'F32', shape: [null], data_offsets: [0, 4] } }, 4), ['"w"', 'dimension']);
    expectBad(craft({ w: f32([2 ** 40, 2 ** 40], 0, 4) }, 4), ['"w"', 'too many elements']);
  });

  it('offsets out of the data buffer range, or reversed', () => {
    expectBad(craft({ w: f32([2], 4, 12) }, 8), ['"w"', 'data_offsets [4, 12]', 'past the data buffer', 'only 8 bytes']);
    expectBad(craft({ w: f32([0], 8, 4) }, 8), ['"w"', 'data_offsets [8, 4]', 'reversed']);
    expectBad(craft({ w: f32([0], 100, 100) }, 8), ['"w"', 'data_offsets [100, 100]', 'past the data buffer']);
  });

  it('overlapping offsets between tensors', () => {
    expectBad(craft({ a: f32([2], 0, 8), b: f32([2], 4, 12) }, 12), ['"b"', '"a"', 'overlap', '[4, 12]', '[0, 8]']);
    expectBad(craft({ a: f32([4], 0, 16), b: f32([1], 4, 8) }, 16), ['overlap']);
    expectBad(craft({ a: f32([1], 4, 8), b: f32([1], 4, 8) }, 8), ['overlap']);
    // Empty tensors occupy no bytes; gaps between tensors are allowed.
    expect(parseSafetensors(craft({ a: f32([1], 0, 4), e: f32([0], 2, 2), c: f32([1], 8, 12) }, 12), 'f').tensors.size).toBe(3);
  });

  it('byte size that does not match shape x dtype size', () => {
    expectBad(craft({ w: f32([3], 0, 8) }, 8), ['"w"', 'span 8 bytes', 'needs 12', 'F32']);
    expectBad(craft({ w: { dtype: 'BF16', shape: [2, 2], data_offsets: [0, 4] } }, 4), ['"w"', 'needs 8']);
  });

  it('truncated file: data shorter than declared', () => {
    const full = encodeSafetensors({ a: { dtype: 'F32', shape: [8], data: new Float32Array(8) }, z: { dtype: 'I32', shape: [4], data: new Int32Array(4) } });
    const cut = full.slice(0, full.length - 5);
    expectBad(cut, ['"z"', 'truncated', 'data_offsets']);
  });

  it('__metadata__ that is not an object of strings', () => {
    expectBad(craft({ __metadata__: ['x'] }), ['__metadata__', 'object']);
    expectBad(craft({ __metadata__: { format: 1 } }), ['__metadata__', '"format"', 'must be a string']);
  });

  it('missing files and directories', () => {
    expectError(() => readSafetensors(join(dir, 'nope.safetensors')), 'NOT_FOUND', 'nope.safetensors');
    expectError(() => readSafetensorsHeader(dir), 'BAD_FILE', dir);
  });

  it('never crashes or hangs on random corruption: every failure is a SubspaceError', () => {
    const good = encodeSafetensors(
      {
        a: { dtype: 'F16', shape: [3, 2], data: [1, 2, 3, 4, 5, 6] },
        b: { dtype: 'I64', shape: [2], data: [1, 2] },
        c: { dtype: 'BOOL', shape: [3], data: [1, 0, 1] },
      },
      { k: 'v' },
    );
    const r = rng(4);
    let failures = 0;
    for (let trial = 0; trial < 3000; trial++) {
      let bytes = good.slice();
      const mode = trial % 3;
      if (mode === 0) {
        // flip a few bytes, mostly in the prefix and header
        for (let k = 0; k < 1 + Math.floor(r() * 3); k++) bytes[Math.floor(r() * Math.min(bytes.length, 8 + 200))] = Math.floor(r() * 256);
      } else if (mode === 1) {
        bytes = bytes.slice(0, Math.floor(r() * bytes.length));
      } else {
        const i = 8 + Math.floor(r() * (bytes.length - 8));
        bytes[i] = '0123456789[]{},-":eE. '.charCodeAt(Math.floor(r() * 22));
      }
      try {
        parseSafetensors(bytes, 'fuzz');
      } catch (e) {
        if (!(e instanceof SubspaceError)) throw new Error(`trial ${trial}: non-SubspaceError ${String(e)}`);
        failures++;
      }
    }
    expect(failures).toBeGreaterThan(1000);
  });
});

/* ====================================================================== */
function pythonWithNumpy(): boolean {
  const r = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0;
}
const HAVE_NUMPY = pythonWithNumpy();
if (!HAVE_NUMPY) console.warn('safetensors: skipping the Python cross-check: python3 with numpy is not available');

/**
 * An independent reader/writer in plain Python (struct, json, numpy).
 * `read PATH`  prints {metadata, tensors: {name: {dtype, shape, bits}}}, where
 *              bits are the raw element bit patterns as decimal strings, plus
 *              numpy's own f16 rounding of the `src64` and `src32` tensors.
 * `write PATH` writes a file and prints the same description of what it wrote.
 */
const PY_SCRIPT = String.raw`
import json, struct, sys
import numpy as np

NP = {'F64': '<f8', 'F32': '<f4', 'F16': '<f2', 'BF16': '<u2', 'I64': '<i8', 'I32': '<i4', 'I16': '<i2',
      'I8': 'i1', 'U8': 'u1', 'BOOL': 'u1'}
UINT = {8: '<u8', 4: '<u4', 2: '<u2', 1: 'u1'}

def bits(arr):
    a = np.ascontiguousarray(arr)
    return [str(int(x)) for x in a.view(UINT[a.dtype.itemsize]).reshape(-1)]

def describe(tensors, metadata):
    return {'metadata': metadata,
            'tensors': {k: {'dtype': d, 'shape': list(a.shape), 'bits': bits(a)} for k, (d, a) in tensors.items()}}

mode, path = sys.argv[1], sys.argv[2]
if mode == 'read':
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n].decode('utf-8'))
    metadata = header.pop('__metadata__', {})
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        b, e = info['data_offsets']
        arr = np.frombuffer(raw[base + b:base + e], dtype=NP[info['dtype']]).reshape(info['shape'])
        tensors[name] = (info['dtype'], arr)
    out = describe(tensors, metadata)
    out['aligned'] = base % 8 == 0 and raw[8:base].rstrip(b' ').endswith(b'}')
    out['numpy_f16_of_src64'] = bits(tensors['src64'][1].astype(np.float16))
    out['numpy_f16_of_src32'] = bits(tensors['src32'][1].astype(np.float16))
    print(json.dumps(out))
else:
    rs = np.random.default_rng(7)
    f32 = np.concatenate([rs.standard_normal(64).astype(np.float32) * 100,
                          np.array([0.0, -0.0, np.inf, -np.inf, 1e-40, 65504, 65520, 6e-8], dtype=np.float32)])
    f32u = f32.view(np.uint32).astype(np.uint64)
    bf16 = ((f32u + 0x7FFF + ((f32u >> 16) & 1)) >> 16).astype(np.uint16)  # RNE, no NaNs in the input
    tensors = {
        'f32': ('F32', f32.reshape(8, 9)),
        'f16': ('F16', f32.astype(np.float16)),
        'bf16': ('BF16', bf16.reshape(2, 36)),
        'f64': ('F64', np.array([1.0, 0.1, -2.5e-3, 3.0e38], dtype=np.float64)),
        'i64': ('I64', np.array([0, -1, 2**62 + 5, -2**63, 2**63 - 1], dtype=np.int64)),
        'i32': ('I32', np.array([[-2**31, 0], [7, 2**31 - 1]], dtype=np.int32)),
        'i16': ('I16', np.array([-32768, 1, 32767], dtype=np.int16)),
        'i8': ('I8', np.array([-128, 1, 127], dtype=np.int8)),
        'u8': ('U8', np.array([0, 200, 255], dtype=np.uint8)),
        'bool': ('BOOL', np.array([True, False, True])),
        'scalar': ('F32', np.array(5.5, dtype=np.float32)),
    }
    metadata = {'format': 'np', 'who': 'python'}
    header, blobs, off = {'__metadata__': metadata}, [], 0
    for name in sorted(tensors, reverse=True):  # our reader must not rely on any order
        d, a = tensors[name]
        blob = np.ascontiguousarray(a).astype(NP[d]).tobytes()
        header[name] = {'dtype': d, 'shape': list(a.shape), 'data_offsets': [off, off + len(blob)]}
        blobs.append(blob)
        off += len(blob)
    hj = json.dumps(header).encode('utf-8')
    if (8 + len(hj)) % 8 == 0:
        hj += b' '  # deliberately misaligned: the reader must not assume padding
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(hj)) + hj + b''.join(blobs))
    out = describe(tensors, metadata)
    print(json.dumps(out))
`;

interface PyDescription {
  metadata: Record<string, string>;
  tensors: Record<string, { dtype: string; shape: number[]; bits: string[] }>;
  aligned?: boolean;
  numpy_f16_of_src64?: string[];
  numpy_f16_of_src32?: string[];
}

function runPython(mode: 'read' | 'write', path: string): PyDescription {
  const r = spawnSync('python3', ['-c', PY_SCRIPT, mode, path], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python3 ${mode} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as PyDescription;
}

/** Raw element bit patterns of a typed array, as decimal strings (as the Python side prints them). */
function rawBits(data: ArrayBufferView, bytes: number): string[] {
  const copy = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice().buffer;
  switch (bytes) {
    case 8:
      return Array.from(new BigUint64Array(copy), (x) => x.toString());
    case 4:
      return Array.from(new Uint32Array(copy), (x) => x.toString());
    case 2:
      return Array.from(new Uint16Array(copy), (x) => x.toString());
    default:
      return Array.from(new Uint8Array(copy), (x) => x.toString());
  }
}

describe('safetensors cross-check with an independent Python reader and writer', () => {
  it.skipIf(!HAVE_NUMPY)('Python reads what we write, and we read what Python writes (python3 + numpy)', () => {
    // --- we write, Python reads -------------------------------------------------
    const r = rng(5);
    const src32 = new Float32Array(4000);
    const src32Bits = new Uint32Array(src32.buffer);
    for (let i = 0; i < src32.length; i++) {
      // Random f32 values around the f16 range, subnormals included; no NaNs (numpy keeps other payloads).
      src32Bits[i] = ((Math.floor(r() * 2) << 31) | ((95 + Math.floor(r() * 50)) << 23) | Math.floor(r() * 2 ** 23)) >>> 0;
    }
    src32.set([0, -0, Infinity, -Infinity, 65504, 65519, 65520, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 1 + 2 ** -11], 0);
    const src64 = Float64Array.from([
      1, -2.5, 65504, 2 ** -24, 1 + 2 ** -11, 1 + 2 ** -11 + 2 ** -40, 1 + 3 * 2 ** -11, 2 ** -25 + 2 ** -60, 65519.99999, 65520, 0.1, 1 / 3, -0,
      ...Array.from({ length: 500 }, () => (r() - 0.5) * 2 ** (Math.floor(r() * 40) - 26)),
    ]);
    const ours: Record<string, TensorToWrite> = {
      src32: { dtype: 'F32', shape: [src32.length], data: src32 },
      src64: { dtype: 'F64', shape: [src64.length], data: src64 },
      h32: { dtype: 'F16', shape: [src32.length], data: src32 },
      h64: { dtype: 'F16', shape: [src64.length], data: src64 },
      b32: { dtype: 'BF16', shape: [40, 100], data: src32 },
      i64: { dtype: 'I64', shape: [4], data: [0n, -1n, 2n ** 62n + 5n, -(2n ** 63n)] },
      i32: { dtype: 'I32', shape: [2, 2], data: [-(2 ** 31), 0, 7, 2 ** 31 - 1] },
      i16: { dtype: 'I16', shape: [3], data: [-32768, 1, 32767] },
      i8: { dtype: 'I8', shape: [3], data: [-128, 1, 127] },
      u8: { dtype: 'U8', shape: [3], data: [0, 200, 255] },
      bool: { dtype: 'BOOL', shape: [3], data: [1, 0, 1] },
      scalar: { dtype: 'F32', shape: [], data: [5.5] },
    };
    const path = tmpPath('to-python');
    writeSafetensors(path, ours, { writer: 'subspace', 'ünï': 'cödé' });
    const py = runPython('read', path);
    expect(py.aligned).toBe(true);
    expect(py.metadata).toEqual({ writer: 'subspace', 'ünï': 'cödé' });
    expect(Object.keys(py.tensors).sort()).toEqual(Object.keys(ours).sort());
    const mine = parseSafetensors(encodeSafetensors(ours), 'mem', { int64: 'bigint' });
    for (const [name, t] of Object.entries(ours)) {
      const p = py.tensors[name];
      expect(p.dtype, name).toBe(t.dtype);
      expect(p.shape, name).toEqual(t.shape);
      // The bytes Python sees are the bytes we meant to write.
      const raw = encodeSafetensors({ [name]: t });
      const hdr = parseSafetensorsHeader(raw, name);
      expect(p.bits, name).toEqual(rawBits(raw.subarray(hdr.dataStart), DTYPE_BYTES[t.dtype]));
      expect(mine.tensors.get(name)!.shape).toEqual(t.shape);
    }
    // Our f16 rounding matches numpy's, from f32 and from f64 (numpy rounds doubles directly).
    expect(py.tensors.h32.bits).toEqual(py.numpy_f16_of_src32);
    expect(py.tensors.h64.bits).toEqual(py.numpy_f16_of_src64);
    // bf16: compare with an independent formula on the f32 bits.
    expect(py.tensors.b32.bits).toEqual(Array.from(src32Bits, (x) => String(Math.floor((x + 0x7fff + (Math.floor(x / 65536) & 1)) / 65536) & 0xffff)));
    expect(py.tensors.i64.bits).toEqual(['0', String(2n ** 64n - 1n), String(2n ** 62n + 5n), String(2n ** 63n)]);

    // --- Python writes, we read ---------------------------------------------------
    const path2 = tmpPath('from-python');
    const written = runPython('write', path2);
    const header = readSafetensorsHeader(path2);
    expect(header.dataStart % 8).not.toBe(0); // Python's header is unpadded; we must cope
    const back = readSafetensors(path2, { int64: 'bigint' });
    const backMem = parseSafetensors(readFileSync(path2), path2, { int64: 'bigint' });
    expect(back.metadata).toEqual(written.metadata);
    expect(back.tensors).toEqual(backMem.tensors);
    expect(new Set(back.tensors.keys())).toEqual(new Set(Object.keys(written.tensors)));
    for (const [name, p] of Object.entries(written.tensors)) {
      const t = back.tensors.get(name)!;
      expect(t.dtype, name).toBe(p.dtype);
      expect(t.shape, name).toEqual(p.shape);
      let want: string[];
      let got: string[];
      if (p.dtype === 'F16') {
        want = p.bits.map((b) => String(f32Bits(f16BitsToF32(Number(b)))));
        got = rawBits(t.data, 4);
      } else if (p.dtype === 'BF16') {
        want = p.bits.map((b) => String(Number(b) * 65536)); // bf16 widens by a 16-bit shift
        got = rawBits(t.data, 4);
      } else if (p.dtype === 'F64') {
        const f64 = new Float64Array(new BigUint64Array(p.bits.map((b) => BigInt(b))).buffer);
        want = Array.from(Float32Array.from(f64), (x) => String(f32Bits(x)));
        got = rawBits(t.data, 4);
      } else {
        want = p.bits;
        got = rawBits(t.data, DTYPE_BYTES[p.dtype as SafetensorsDtype]);
      }
      expect(got, name).toEqual(want);
    }
    // Spot values, so a shared misunderstanding of the bits would still show.
    expect(Array.from(back.tensors.get('i64')!.data as BigInt64Array)).toEqual([0n, -1n, 2n ** 62n + 5n, -(2n ** 63n), 2n ** 63n - 1n]);
    expect(Array.from(back.tensors.get('u8')!.data as Uint8Array)).toEqual([0, 200, 255]);
    expect(Array.from(back.tensors.get('bool')!.data as Uint8Array)).toEqual([1, 0, 1]);
    expect(Array.from(back.tensors.get('scalar')!.data as Float32Array)).toEqual([5.5]);
    // numpy's float16 of [0, -0, inf, -inf, 1e-40, 65504, 65520, 6e-8]: 65520 overflows, 6e-8 -> 2^-24.
    expect(Array.from((back.tensors.get('f16')!.data as Float32Array).slice(64))).toEqual([0, -0, Infinity, -Infinity, 0, 65504, Infinity, 2 ** -24]);
  });
});
