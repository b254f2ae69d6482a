/**
 * A model folder's files without loading the model: config.json as a ModelSpec
 * and the map from tensor names to safetensors files. Free of tfjs, so the main
 * process can summarise and hash models without loading the tensor runtime.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SubspaceError } from '../errors.js';
import { parseModelConfig, type ModelSpec } from '../model/config.js';
import { readSafetensorsHeader } from './safetensors.js';

export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SubspaceError('NOT_FOUND', `${path}: cannot be read (${(e as Error).message})`, path);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SubspaceError('BAD_FILE', `${path}: not valid JSON (${(e as Error).message})`, path);
  }
}

export function readModelSpec(folder: string): { spec: ModelSpec; config: Record<string, unknown> } {
  const file = join(folder, 'config.json');
  if (!existsSync(file)) {
    throw new SubspaceError('NOT_FOUND', `${folder}: no config.json; a model folder needs config.json, model.safetensors and tokenizer.json`, folder);
  }
  const config = readJsonFile(file);
  return { spec: parseModelConfig(config, file), config: config as Record<string, unknown> };
}

/** Maps each tensor name to its file: one model.safetensors, or shards listed in the index. */
export function weightIndex(folder: string): Map<string, string> {
  const single = join(folder, 'model.safetensors');
  const indexFile = join(folder, 'model.safetensors.index.json');
  const index = new Map<string, string>();
  if (existsSync(indexFile)) {
    const raw = readJsonFile(indexFile) as { weight_map?: Record<string, unknown> };
    if (!raw || typeof raw !== 'object' || typeof raw.weight_map !== 'object' || raw.weight_map === null) {
      throw new SubspaceError('BAD_FILE', `${indexFile}: missing 'weight_map'`, indexFile);
    }
    for (const [name, shard] of Object.entries(raw.weight_map)) {
      if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\')) {
        throw new SubspaceError('BAD_FILE', `${indexFile}: tensor '${name}' maps to an invalid shard name`, indexFile);
      }
      const path = join(folder, shard);
      if (!existsSync(path)) throw new SubspaceError('NOT_FOUND', `${indexFile}: shard '${shard}' (holding '${name}') is missing`, path);
      index.set(name, path);
    }
    // Every listed tensor must really be in its shard.
    const byFile = new Map<string, string[]>();
    for (const [name, path] of index) byFile.set(path, [...(byFile.get(path) ?? []), name]);
    for (const [path, names] of byFile) {
      const header = readSafetensorsHeader(path);
      for (const n of names) {
        if (!(n in header.tensors)) throw new SubspaceError('BAD_FILE', `${path}: tensor '${n}' is listed in the index but not in the shard`, n);
      }
    }
    return index;
  }
  if (existsSync(single)) {
    const header = readSafetensorsHeader(single);
    for (const name of Object.keys(header.tensors)) index.set(name, single);
    return index;
  }
  throw new SubspaceError(
    'NOT_FOUND',
    `${folder}: no model.safetensors or model.safetensors.index.json (PyTorch .bin checkpoints are not read: convert them to safetensors)`,
    folder,
  );
}
