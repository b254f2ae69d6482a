/**
 * Half-precision conversions: IEEE 754 binary16 ("F16") and bfloat16 ("BF16")
 * to and from float32.
 *
 * Half values are handled as their 16-bit patterns (numbers 0..0xffff, or a
 * Uint16Array of them). Widening (half -> f32) is exact, including signed zeros,
 * subnormals, infinities and NaN payloads. Narrowing (f32 or any JS number ->
 * half) rounds to nearest, ties to even; values past the largest finite half
 * become +-Infinity, values below half the smallest subnormal become +-0, and
 * NaN stays NaN (quiet).
 *
 * Narrowing a JS number rounds the exact double directly (no double rounding
 * through float32), so Float64Array and number[] inputs are rounded correctly
 * too. Float32Array inputs take an integer-only fast path on their bit patterns
 * that gives the same result.
 */

const F16_EXP_BITS = 5;
const F16_MANT_BITS = 10;
const BF16_EXP_BITS = 8;
const BF16_MANT_BITS = 7;

/* ------------------------------------------------------------------ scalars */

/** float32 bit pattern (uint32) for an f16 bit pattern. Exact. */
export function f16BitsToF32Bits(bits: number): number {
  const h = bits & 0xffff;
  const sign = (h & 0x8000) << 16;
  let exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0) {
    if (mant === 0) return sign >>> 0; // +-0
    // Subnormal: normalise the mantissa into an f32 normal.
    exp = 1;
    while ((mant & 0x400) === 0) {
      mant <<= 1;
      exp--;
    }
    mant &= 0x3ff;
    return (sign | ((exp - 15 + 127) << 23) | (mant << 13)) >>> 0;
  }
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // inf / NaN (payload kept)
  return (sign | ((exp - 15 + 127) << 23) | (mant << 13)) >>> 0;
}

/** f16 bit pattern for a float32 bit pattern (uint32), round to nearest even. */
export function f32BitsToF16Bits(bits: number): number {
  const x = bits >>> 0;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) {
    if (mant !== 0) return sign | 0x7e00 | (mant >>> 13); // NaN: quiet, keep the top payload bits
    return sign | 0x7c00; // inf
  }
  const e = exp - 127 + 15; // f16 exponent field if the value were normal
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) {
    // f16 subnormal (or zero). Value in units of 2^-24 is m * 2^(e - 14).
    if (e < -10) return sign; // below 2^-25: rounds to zero
    const m = mant | 0x800000;
    const shift = 14 - e; // 14..24
    let r = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (r & 1) === 1)) r++;
    return sign | r; // r may reach 0x400: the smallest normal, which is right
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1) === 1)) r++; // a carry into the exponent is right, up to inf
  return sign | r;
}

/** float32 bit pattern (uint32) for a bf16 bit pattern. Exact. */
export function bf16BitsToF32Bits(bits: number): number {
  return ((bits & 0xffff) << 16) >>> 0;
}

/** bf16 bit pattern for a float32 bit pattern (uint32), round to nearest even. */
export function f32BitsToBf16Bits(bits: number): number {
  const x = bits >>> 0;
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x0040) & 0xffff; // NaN: quiet, keep sign and payload top
  // Never exceeds 2^32 (largest non-NaN input is 0xff800000), so >>> is safe.
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

function roundHalfEven(q: number): number {
  const f = Math.floor(q);
  const d = q - f; // exact: q < 2^12 here
  if (d > 0.5 || (d === 0.5 && f % 2 === 1)) return f + 1;
  return f;
}

/**
 * Round an arbitrary double to a binary format with 1 sign bit, `expBits`
 * exponent bits and `mantBits` stored mantissa bits (IEEE layout, with
 * subnormals), ties to even. Every step is exact in double arithmetic.
 */
function numberToSmallFloatBits(value: number, expBits: number, mantBits: number): number {
  const bias = (1 << (expBits - 1)) - 1;
  const maxExpField = (1 << expBits) - 1;
  const infBits = maxExpField << mantBits;
  if (Number.isNaN(value)) return infBits | (1 << (mantBits - 1)); // canonical quiet NaN
  const sign = value < 0 || Object.is(value, -0) ? 1 << (expBits + mantBits) : 0;
  const a = Math.abs(value);
  if (a === Infinity) return sign | infBits;
  const minNormalExp = 1 - bias;
  let e: number;
  if (a < 2 ** minNormalExp) {
    e = minNormalExp; // subnormal (or zero): fixed scale
  } else {
    e = Math.floor(Math.log2(a));
    if (2 ** e > a) e--;
    else if (2 ** (e + 1) <= a) e++;
    if (e > bias) return sign | infBits; // beyond the finite range (and beyond the rounding boundary)
  }
  // a in units of the last mantissa place at exponent e: [2^m, 2^(m+1)) for normals, < 2^m for subnormals.
  const q = a * 2 ** (mantBits - e);
  const r = roundHalfEven(q);
  // For normals the implicit leading 1 is r's bit m; adding it to (e + bias - 1) << m gives the right
  // exponent field, and a rounding carry (r = 2^(m+1)) bumps the exponent, as it should.
  const magnitude = ((e + bias - 1) << mantBits) + r;
  if (magnitude >= infBits) return sign | infBits;
  return sign | magnitude;
}

/** The float32 value of an f16 bit pattern. */
export function f16BitsToF32(bits: number): number {
  scalarU32[0] = f16BitsToF32Bits(bits);
  return scalarF32[0];
}

/**
 * The f16 bit pattern nearest to `value` (ties to even). Accepts any JS
 * number, rounding the exact double (no intermediate float32 rounding).
 */
export function f32ToF16Bits(value: number): number {
  return numberToSmallFloatBits(value, F16_EXP_BITS, F16_MANT_BITS);
}

/** The float32 value of a bf16 bit pattern. */
export function bf16BitsToF32(bits: number): number {
  scalarU32[0] = bf16BitsToF32Bits(bits);
  return scalarF32[0];
}

/**
 * The bf16 bit pattern nearest to `value` (ties to even). Accepts any JS
 * number, rounding the exact double (no intermediate float32 rounding).
 */
export function f32ToBf16Bits(value: number): number {
  return numberToSmallFloatBits(value, BF16_EXP_BITS, BF16_MANT_BITS);
}

const scalarBuf = new ArrayBuffer(4);
const scalarU32 = new Uint32Array(scalarBuf);
const scalarF32 = new Float32Array(scalarBuf);

/* ------------------------------------------------------------------- arrays */

let f16Table: Uint32Array | undefined;

/** All 65536 f16 patterns widened to f32 bit patterns (256 KiB, built on first use). */
function getF16Table(): Uint32Array {
  if (!f16Table) {
    const t = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) t[h] = f16BitsToF32Bits(h);
    f16Table = t;
  }
  return f16Table;
}

function checkDst<T extends { length: number }>(dst: T | undefined, n: number, make: (n: number) => T, what: string): T {
  if (!dst) return make(n);
  if (dst.length !== n) throw new RangeError(`${what}: destination has ${dst.length} elements, source has ${n}`);
  return dst;
}

/** Widen f16 bit patterns to float32 values (exact). */
export function f16ToF32Array(src: Uint16Array, dst?: Float32Array): Float32Array {
  const out = checkDst(dst, src.length, (n) => new Float32Array(n), 'f16ToF32Array');
  const out32 = new Uint32Array(out.buffer, out.byteOffset, out.length);
  const table = getF16Table();
  for (let i = 0; i < src.length; i++) out32[i] = table[src[i]];
  return out;
}

/** Narrow numbers to f16 bit patterns, round to nearest even. */
export function f32ToF16Array(src: ArrayLike<number>, dst?: Uint16Array): Uint16Array {
  const out = checkDst(dst, src.length, (n) => new Uint16Array(n), 'f32ToF16Array');
  if (src instanceof Float32Array) {
    const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
    for (let i = 0; i < bits.length; i++) out[i] = f32BitsToF16Bits(bits[i]);
  } else {
    for (let i = 0; i < src.length; i++) out[i] = f32ToF16Bits(src[i]);
  }
  return out;
}

/** Widen bf16 bit patterns to float32 values (exact). */
export function bf16ToF32Array(src: Uint16Array, dst?: Float32Array): Float32Array {
  const out = checkDst(dst, src.length, (n) => new Float32Array(n), 'bf16ToF32Array');
  const out32 = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < src.length; i++) out32[i] = src[i] << 16;
  return out;
}

/** Narrow numbers to bf16 bit patterns, round to nearest even. */
export function f32ToBf16Array(src: ArrayLike<number>, dst?: Uint16Array): Uint16Array {
  const out = checkDst(dst, src.length, (n) => new Uint16Array(n), 'f32ToBf16Array');
  if (src instanceof Float32Array) {
    const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
    for (let i = 0; i < bits.length; i++) out[i] = f32BitsToBf16Bits(bits[i]);
  } else {
    for (let i = 0; i < src.length; i++) out[i] = f32ToBf16Bits(src[i]);
  }
  return out;
}
