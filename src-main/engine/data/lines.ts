/**
 * Reading a text file line by line, streamed, with the checks every dataset
 * import needs before any parsing:
 *
 *   - the bytes are hashed (sha256) as they are read, so the hash costs no
 *     second pass;
 *   - a UTF-8 byte-order mark is accepted and stripped from line 1;
 *   - a UTF-16 byte-order mark, or NUL bytes near the start of the file (UTF-16
 *     without a mark, or a binary file), stop the read with one file-level problem;
 *   - every line must be valid UTF-8. A bad line is reported with its number and
 *     the offending byte, and is still handed on (decoded with U+FFFD
 *     replacements) so that parsers keep their place, e.g. inside a CSV record.
 *
 * Lines are split on "\n" at the byte level (the byte 0x0A never occurs inside
 * a multi-byte UTF-8 sequence, so this is safe before decoding); a "\r" before
 * the "\n" is removed. Line numbers are 1-based. Memory use is bounded by the
 * read chunk (1 MiB) plus the longest line; lines longer than `maxLineBytes`
 * are reported and skipped.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

const NL = 0x0a;
const CHUNK_BYTES = 1 << 20;
const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

export interface LineProblem {
  line: number;
  problem: string;
}

export interface LineReaderOptions {
  /**
   * Called for every line, in order. `encodingProblem` is set when the line is not
   * valid UTF-8 (the text then holds U+FFFD replacements). Return false to stop.
   */
  onLine: (text: string, line: number, encodingProblem?: string) => boolean | void;
  /** Called after each chunk with the total bytes read so far. */
  onChunk?: (bytesRead: number) => void;
  maxLineBytes?: number;
}

export interface LineReaderResult {
  bytes: number;
  /** Hex sha256 of the whole file; only meaningful when the file was read to the end. */
  sha256: string;
  /** Physical lines seen. */
  lines: number;
  /** A problem that stopped the read (UTF-16, binary). */
  fatal?: LineProblem;
  /** True when onLine asked to stop, or a fatal problem stopped the read. */
  stopped: boolean;
}

/**
 * The index of the first byte of `buf` that does not start or continue a
 * valid UTF-8 sequence, or -1 when the whole buffer is valid.
 */
export function firstInvalidUtf8(buf: Uint8Array): number {
  const n = buf.length;
  let i = 0;
  while (i < n) {
    const b = buf[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0; // no overlong forms
      if (b === 0xed) hi = 0x9f; // no surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f; // nothing above U+10FFFF
    } else return i;
    if (i + need >= n) return i; // truncated sequence
    const second = buf[i + 1];
    if (second < lo || second > hi) return i;
    for (let k = 2; k <= need; k++) {
      const c = buf[i + k];
      if (c < 0x80 || c > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

function hex(b: number): string {
  return '0x' + b.toString(16).toUpperCase().padStart(2, '0');
}

function describeBadUtf8(line: Uint8Array): string | undefined {
  const nul = line.indexOf(0);
  const bad = firstInvalidUtf8(line);
  if (bad === -1 && nul === -1) return undefined;
  if (bad === -1 || (nul !== -1 && nul < bad)) {
    return `the line contains a NUL byte (at byte ${nul + 1}); the file may be UTF-16 or binary — save it as UTF-8`;
  }
  return (
    `the line is not valid UTF-8 (byte ${hex(line[bad])} at byte ${bad + 1} of the line); ` +
    'the file may be in Latin-1, Windows-1252 or UTF-16 — save it as UTF-8'
  );
}

/** Streams `path` line by line. Throws only what the file system throws. */
export async function readLines(path: string, opts: LineReaderOptions): Promise<LineReaderResult> {
  const maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const hash = createHash('sha256');
  const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const lenient = new TextDecoder('utf-8', { ignoreBOM: true });

  let bytes = 0;
  let lineNo = 0;
  let first = true;
  let stopped = false;
  let fatal: LineProblem | undefined;
  // Bytes of the current, unfinished line.
  let pending: Buffer[] = [];
  let pendingLen = 0;
  // Inside an over-long line: drop bytes until its end.
  let skipping = false;

  const emit = (text: string, problem?: string): void => {
    lineNo++;
    if (text.length > 0 && text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1);
    if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (opts.onLine(text, lineNo, problem) === false) stopped = true;
  };

  /** Hands on every line of `part` (which holds no final "\n": n newlines make n + 1 lines). */
  const processPart = (part: Buffer): void => {
    let text: string | undefined;
    if (part.indexOf(0) === -1) {
      try {
        text = strict.decode(part);
      } catch {
        text = undefined;
      }
    }
    if (text !== undefined) {
      let s = 0;
      while (!stopped) {
        const e = text.indexOf('\n', s);
        if (e === -1) {
          emit(text.slice(s));
          break;
        }
        emit(text.slice(s, e));
        s = e + 1;
      }
      return;
    }
    // Slow path: some line here is not clean UTF-8; find which, line by line.
    let s = 0;
    while (!stopped) {
      const nl = part.indexOf(NL, s);
      const e = nl === -1 ? part.length : nl;
      const bytesOfLine = part.subarray(s, e);
      const problem = describeBadUtf8(bytesOfLine);
      emit(problem ? lenient.decode(bytesOfLine) : strict.decode(bytesOfLine), problem);
      if (nl === -1) break;
      s = e + 1;
    }
  };

  const stream = createReadStream(path, { highWaterMark: CHUNK_BYTES });
  try {
    for await (const data of stream) {
      let chunk = data as Buffer;
      hash.update(chunk);
      bytes += chunk.length;

      if (first) {
        first = false;
        if ((chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff)) {
          const endian = chunk[0] === 0xff ? 'little-endian' : 'big-endian';
          fatal = { line: 1, problem: `the file is UTF-16 (${endian} byte-order mark); save it as UTF-8` };
          stopped = true;
          break;
        }
        const head = chunk.subarray(0, 4096);
        if (head.indexOf(0) !== -1) {
          fatal = {
            line: 1,
            problem: 'the file contains NUL bytes near its start: it looks like UTF-16 without a byte-order mark, or a binary file; save it as UTF-8 text',
          };
          stopped = true;
          break;
        }
      }

      if (skipping) {
        const nl = chunk.indexOf(NL);
        if (nl === -1) {
          opts.onChunk?.(bytes);
          continue;
        }
        skipping = false;
        chunk = chunk.subarray(nl + 1);
      }

      const lastNl = chunk.lastIndexOf(NL);
      if (lastNl === -1) {
        pending.push(chunk);
        pendingLen += chunk.length;
        if (pendingLen > maxLineBytes) {
          lineNo++;
          if (opts.onLine('', lineNo, `the line is longer than ${Math.round(maxLineBytes / (1 << 20))} MiB`) === false) stopped = true;
          pending = [];
          pendingLen = 0;
          skipping = true;
        }
      } else {
        const whole = chunk.subarray(0, lastNl + 1);
        const part = pendingLen > 0 ? Buffer.concat([...pending, whole]) : whole;
        const rest = chunk.subarray(lastNl + 1);
        pending = rest.length > 0 ? [rest] : [];
        pendingLen = rest.length;
        // `part` ends with "\n": drop it so no empty line follows.
        processPart(part.subarray(0, part.length - 1));
      }
      opts.onChunk?.(bytes);
      if (stopped) break;
    }
    if (!stopped && pendingLen > 0) processPart(pendingLen === pending[0].length ? pending[0] : Buffer.concat(pending));
  } finally {
    stream.destroy();
  }
  return { bytes, sha256: hash.digest('hex'), lines: lineNo, fatal, stopped };
}
