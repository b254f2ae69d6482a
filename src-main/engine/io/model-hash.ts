import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Files up to this size are hashed whole; larger checkpoints by header, size and sampled blocks. */
const FULL_HASH_LIMIT = 256 * 1024 * 1024;
const SAMPLE = 1 << 20;

/**
 * A content hash for a model folder: config.json plus every weight file.
 * Multi-gigabyte checkpoints are identified by their size, safetensors header
 * and the first, middle and last MiB, so registering a 7B model stays instant.
 */
export function modelContentHash(folder: string, weightFiles: string[]): string {
  const h = createHash('sha256');
  h.update(readFileSync(join(folder, 'config.json')));
  for (const f of [...weightFiles].sort()) {
    const size = statSync(f).size;
    h.update(`${f.split(/[\\/]/).pop()}:${size}`);
    if (size <= FULL_HASH_LIMIT) {
      h.update(readFileSync(f));
      continue;
    }
    const fd = openSync(f, 'r');
    try {
      const buf = Buffer.alloc(SAMPLE);
      for (const at of [0, Math.floor(size / 2), size - SAMPLE]) {
        const n = readSync(fd, buf, 0, SAMPLE, at);
        h.update(buf.subarray(0, n));
      }
    } finally {
      closeSync(fd);
    }
  }
  return h.digest('hex');
}
