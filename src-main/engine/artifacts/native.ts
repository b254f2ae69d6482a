import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { SubspaceError } from '../errors.js';
import type { ModelSpec } from '../model/config.js';
import { encodeSafetensors, parseSafetensors } from '../io/safetensors.js';
import { APP_VERSION } from '../version.js';

/**
 * Subspace's own export format: a folder with `manifest.json` (method, sites,
 * config, the model's identity, metrics, app version) and `weights.safetensors`.
 */
export const MANIFEST_FILE = 'manifest.json';

/** Whether a path names a native export's manifest (either separator: stores move between systems). */
export function isManifestPath(path: string): boolean {
  return path.endsWith(`/${MANIFEST_FILE}`) || path.endsWith(`\\${MANIFEST_FILE}`);
}
export const WEIGHTS_FILE = 'weights.safetensors';
export const FORMAT = 'subspace-intervention';
export const FORMAT_VERSION = 1;

export const modelIdentitySchema = z.object({
  name: z.string(),
  modelType: z.string(),
  layers: z.number().int(),
  heads: z.number().int(),
  kvHeads: z.number().int(),
  width: z.number().int(),
  headDim: z.number().int(),
  vocabSize: z.number().int(),
});
export type ModelIdentity = z.infer<typeof modelIdentitySchema>;

export const manifestSchema = z.object({
  format: z.literal(FORMAT),
  formatVersion: z.number().int(),
  method: z.string(),
  appVersion: z.string(),
  created: z.string(),
  model: modelIdentitySchema,
  config: z.record(z.string(), z.unknown()),
  sites: z.array(z.record(z.string(), z.unknown())),
  metrics: z.record(z.string(), z.unknown()).default({}),
  weights: z.object({ file: z.string(), sha256: z.string(), bytes: z.number().int() }),
});
export type Manifest = z.infer<typeof manifestSchema>;

export interface ArtifactTensor {
  shape: number[];
  data: Float32Array;
}

export function modelIdentity(name: string, s: ModelSpec): ModelIdentity {
  return { name, modelType: s.modelType, layers: s.nLayers, heads: s.nHeads, kvHeads: s.nKvHeads, width: s.dModel, headDim: s.dHead, vocabSize: s.vocabSize };
}

/** Refuses, with the reason, an artifact made for a model of another shape. */
export function checkFitsModel(m: ModelIdentity, s: ModelSpec, what = 'the intervention'): void {
  const problems: string[] = [];
  if (m.modelType !== s.modelType) problems.push(`architecture ${m.modelType} vs ${s.modelType}`);
  if (m.width !== s.dModel) problems.push(`width ${m.width} vs ${s.dModel}`);
  if (m.layers !== s.nLayers) problems.push(`${m.layers} layers vs ${s.nLayers}`);
  if (m.heads !== s.nHeads) problems.push(`${m.heads} heads vs ${s.nHeads}`);
  if (m.headDim !== s.dHead) problems.push(`head width ${m.headDim} vs ${s.dHead}`);
  if (problems.length) {
    throw new SubspaceError('SHAPE_MISMATCH', `${what} was made for ${m.name} (${m.modelType}) and does not fit this model: ${problems.join(', ')}`, 'model');
  }
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Writes the folder atomically: a temporary sibling renamed into place, never a half-written export. */
export function saveArtifact(dir: string, manifest: Omit<Manifest, 'format' | 'formatVersion' | 'appVersion' | 'created' | 'weights'>, tensors: Record<string, ArtifactTensor>): Manifest {
  const bytes = encodeSafetensors(
    Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, { dtype: 'F32' as const, shape: t.shape, data: t.data }])),
    { format: FORMAT },
  );
  const full: Manifest = {
    format: FORMAT,
    formatVersion: FORMAT_VERSION,
    appVersion: APP_VERSION,
    created: new Date().toISOString(),
    ...manifest,
    weights: { file: WEIGHTS_FILE, sha256: sha256(bytes), bytes: bytes.length },
  };
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, WEIGHTS_FILE), bytes);
  writeFileSync(join(tmp, MANIFEST_FILE), JSON.stringify(full, null, 2) + '\n');
  if (existsSync(dir)) {
    if (!existsSync(join(dir, MANIFEST_FILE))) {
      rmSync(tmp, { recursive: true, force: true });
      throw new SubspaceError('BAD_ARGUMENT', `${dir} exists and is not a Subspace export; choose another folder`, dir);
    }
    rmSync(dir, { recursive: true, force: true });
  }
  renameSync(tmp, dir);
  return full;
}

/** The manifest alone, validated (no weights read): enough to learn the method and the model. */
export function readManifest(dir: string): Manifest {
  const mf = join(dir, MANIFEST_FILE);
  if (!existsSync(mf)) throw new SubspaceError('NOT_FOUND', `${dir}: no ${MANIFEST_FILE}; not a Subspace export`, dir);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(mf, 'utf8'));
  } catch (e) {
    throw new SubspaceError('BAD_FILE', `${mf}: not valid JSON (${(e as Error).message})`, mf);
  }
  const fmt = (raw as { format?: unknown })?.format;
  if (fmt !== FORMAT) throw new SubspaceError('BAD_FILE', `${mf}: format is ${JSON.stringify(fmt)}, expected '${FORMAT}'`, mf);
  const version = (raw as { formatVersion?: unknown }).formatVersion;
  if (typeof version === 'number' && version > FORMAT_VERSION) {
    throw new SubspaceError('UNSUPPORTED', `${mf}: written by a newer Subspace (format version ${version}; this version reads up to ${FORMAT_VERSION})`, mf);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new SubspaceError('BAD_FILE', `${mf}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, mf);
  }
  return parsed.data;
}

export function loadArtifact(dir: string): { manifest: Manifest; tensors: Map<string, ArtifactTensor> } {
  const manifest = readManifest(dir);
  const wf = join(dir, manifest.weights.file);
  if (!existsSync(wf)) throw new SubspaceError('NOT_FOUND', `${dir}: ${manifest.weights.file} is missing`, wf);
  const bytes = readFileSync(wf);
  if (sha256(bytes) !== manifest.weights.sha256) {
    throw new SubspaceError('BAD_FILE', `${wf}: checksum mismatch (the file changed or is corrupt since it was exported)`, wf);
  }
  const st = parseSafetensors(bytes, wf);
  const tensors = new Map<string, ArtifactTensor>();
  for (const [k, t] of st.tensors) {
    if (!(t.data instanceof Float32Array)) throw new SubspaceError('BAD_FILE', `${wf}: tensor '${k}' is not float`, k);
    tensors.set(k, { shape: t.shape, data: t.data });
  }
  return { manifest, tensors };
}
