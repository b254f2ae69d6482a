/**
 * ReFT training checkpoints on disk: a folder with `checkpoint.json` (position,
 * loss curve, dev records, config, the weights file's checksum) and
 * `state-<step>.safetensors` (intervention parameters, AdamW moments, the best
 * epoch's weights).
 *
 * Crash safety: the weights file is written to a temporary name, fsynced and
 * renamed; then `checkpoint.json` is replaced the same way (rename is atomic),
 * and only then is the previous weights file removed. A kill at any moment
 * leaves `checkpoint.json` pointing at a complete weights file — the new one or
 * the old one.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { SubspaceError, errorMessage } from '../engine/errors.js';
import type { TensorState } from '../engine/interventions/registry.js';
import { encodeSafetensors, parseSafetensors } from '../engine/io/safetensors.js';
import type { ReftCheckpoint, ReftConfig } from '../engine/methods/reft.js';
import type { SavedTensor } from '../engine/train/optim.js';

export const CHECKPOINT_FILE = 'checkpoint.json';
export const CHECKPOINT_FORMAT = 'subspace-reft-checkpoint';
export const CHECKPOINT_VERSION = 1;

const finite = z.number();
const metaSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  version: z.number().int(),
  created: z.string(),
  step: z.number().int().nonnegative(),
  epoch: z.number().int().nonnegative(),
  batch: z.number().int().nonnegative(),
  config: z.record(z.string(), z.unknown()),
  keys: z.array(z.object({ key: z.string(), tensors: z.array(z.string()) })),
  optimizer: z.object({ t: z.number().int().nonnegative(), count: z.number().int().nonnegative() }),
  loss: z.array(z.object({ step: z.number().int(), value: finite })),
  dev: z.array(z.object({ epoch: z.number().int(), accuracy: finite, meanLogitDiff: z.number().nullable() })),
  epochMs: z.array(finite),
  epochElapsedMs: finite,
  /** null: no dev evaluation yet (-Infinity in memory). */
  best: finite.nullable(),
  bestEpoch: z.number().int(),
  sinceBest: z.number().int().nonnegative(),
  hasBestState: z.boolean(),
  weights: z.object({ file: z.string().regex(/^state-\d+\.safetensors$/), sha256: z.string(), bytes: z.number().int() }),
});
export type CheckpointMeta = z.infer<typeof metaSchema>;

function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    let done = 0;
    while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not every platform can open a folder (Windows); the renames are still atomic.
  }
}

/** Writes a checkpoint into `dir` (created if needed), atomically replacing the previous one. */
export function saveReftCheckpoint(dir: string, ck: ReftCheckpoint): CheckpointMeta {
  mkdirSync(dir, { recursive: true });
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  const put = (name: string, t: SavedTensor) => (tensors[name] = { dtype: 'F32', shape: t.shape, data: t.data });
  ck.interventions.forEach((iv, i) => {
    for (const [k, t] of Object.entries(iv.state)) put(`intervention.${i}.${k}`, t);
  });
  ck.bestState?.forEach((st, i) => {
    for (const [k, t] of Object.entries(st)) put(`best.${i}.${k}`, t);
  });
  ck.optimizer.m.forEach((t, i) => put(`adam.m.${i}`, t));
  ck.optimizer.v.forEach((t, i) => put(`adam.v.${i}`, t));
  const bytes = encodeSafetensors(tensors, { format: CHECKPOINT_FORMAT });
  const file = `state-${ck.step}.safetensors`;
  writeFileAtomic(join(dir, file), bytes);
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    created: new Date().toISOString(),
    step: ck.step,
    epoch: ck.epoch,
    batch: ck.batch,
    config: ck.config as unknown as Record<string, unknown>,
    keys: ck.interventions.map((iv) => ({ key: iv.key, tensors: Object.keys(iv.state) })),
    optimizer: { t: ck.optimizer.t, count: ck.optimizer.m.length },
    loss: ck.loss,
    dev: ck.dev.map((d) => ({ ...d, meanLogitDiff: Number.isFinite(d.meanLogitDiff) ? d.meanLogitDiff : null })),
    epochMs: ck.epochMs,
    epochElapsedMs: ck.epochElapsedMs,
    best: Number.isFinite(ck.best) ? ck.best : null,
    bestEpoch: ck.bestEpoch,
    sinceBest: ck.sinceBest,
    hasBestState: ck.bestState !== undefined,
    weights: { file, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length },
  };
  writeFileAtomic(join(dir, CHECKPOINT_FILE), Buffer.from(JSON.stringify(meta) + '\n'));
  fsyncDir(dir);
  // Only now is the older weights file unreferenced.
  for (const f of readdirSync(dir)) {
    if (f !== file && (/^state-\d+\.safetensors$/.test(f) || f.endsWith('.tmp'))) rmSync(join(dir, f), { force: true });
  }
  return meta;
}

/** The checkpoint's position and history, without reading the weights. */
export function readCheckpointMeta(dir: string): CheckpointMeta {
  const path = join(dir, CHECKPOINT_FILE);
  if (!existsSync(path)) throw new SubspaceError('NOT_FOUND', `${dir}: no ${CHECKPOINT_FILE}; not a checkpoint folder (or no checkpoint was written)`, path);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new SubspaceError('BAD_FILE', `${path}: not valid JSON (${errorMessage(e)})`, path);
  }
  const r = metaSchema.safeParse(raw);
  if (!r.success) throw new SubspaceError('BAD_FILE', `${path}: not a ReFT checkpoint: ${r.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`, path);
  if (r.data.version > CHECKPOINT_VERSION) throw new SubspaceError('UNSUPPORTED', `${path}: written by a newer Subspace (checkpoint version ${r.data.version})`, path);
  return r.data;
}

/** Reads a checkpoint back, checking the weights' checksum. */
export function loadReftCheckpoint(dir: string): ReftCheckpoint {
  const meta = readCheckpointMeta(dir);
  const wf = join(dir, meta.weights.file);
  if (!existsSync(wf)) throw new SubspaceError('NOT_FOUND', `${dir}: ${meta.weights.file} is missing`, wf);
  const bytes = readFileSync(wf);
  if (createHash('sha256').update(bytes).digest('hex') !== meta.weights.sha256) {
    throw new SubspaceError('BAD_FILE', `${wf}: checksum mismatch (the checkpoint is damaged)`, wf);
  }
  const st = parseSafetensors(bytes, wf);
  const get = (name: string): SavedTensor => {
    const t = st.tensors.get(name);
    if (!t || !(t.data instanceof Float32Array)) throw new SubspaceError('BAD_FILE', `${wf}: tensor '${name}' is missing or not float`, name);
    return { shape: t.shape, data: t.data };
  };
  const stateAt = (prefix: string, i: number): TensorState => Object.fromEntries(meta.keys[i].tensors.map((k) => [k, get(`${prefix}.${i}.${k}`)]));
  const n = meta.optimizer.count;
  return {
    step: meta.step,
    epoch: meta.epoch,
    batch: meta.batch,
    config: meta.config as unknown as ReftConfig,
    interventions: meta.keys.map((k, i) => ({ key: k.key, state: stateAt('intervention', i) })),
    optimizer: { t: meta.optimizer.t, m: Array.from({ length: n }, (_, i) => get(`adam.m.${i}`)), v: Array.from({ length: n }, (_, i) => get(`adam.v.${i}`)) },
    loss: meta.loss,
    dev: meta.dev.map((d) => ({ ...d, meanLogitDiff: d.meanLogitDiff ?? NaN })),
    epochMs: meta.epochMs,
    epochElapsedMs: meta.epochElapsedMs,
    best: meta.best ?? -Infinity,
    bestEpoch: meta.bestEpoch,
    sinceBest: meta.sinceBest,
    bestState: meta.hasBestState ? meta.keys.map((_, i) => stateAt('best', i)) : undefined,
  };
}
