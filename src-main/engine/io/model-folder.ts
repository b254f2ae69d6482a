import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SubspaceError } from '../errors.js';
import { parseModelConfig, type ModelSpec } from '../model/config.js';
import { mapWeights } from '../model/families/index.js';
import { Transformer } from '../model/transformer.js';
import type { RawTensor, WeightSource } from '../model/weights.js';
import { readSafetensors, readSafetensorsHeader } from './safetensors.js';
import { loadTokenizer, type SubspaceTokenizer } from './tokenizer.js';

export interface LoadedModel {
  /** A name for people: the built-in name, the hub name or the folder's name. */
  name: string;
  folder: string;
  spec: ModelSpec;
  model: Transformer;
  tokenizer?: SubspaceTokenizer;
  /** The checkpoint files the weights came from. */
  weightFiles: string[];
  /** The raw config.json, for summaries and exports. */
  config: Record<string, unknown>;
}

export interface LoadOptions {
  name?: string;
  /** Text commands need a tokenizer; tensor-only tests may do without. Default true. */
  requireTokenizer?: boolean;
}

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

/** Reads tensors lazily, one file at a time, converting half precision to float32. */
export function folderWeightSource(folder: string): WeightSource & { files: string[] } {
  const index = weightIndex(folder);
  const loaded = new Map<string, Map<string, RawTensor>>();
  const files = [...new Set(index.values())];
  return {
    label: folder,
    files,
    has: (name) => index.has(name),
    get: (name) => {
      const file = index.get(name);
      if (!file) throw new SubspaceError('SHAPE_MISMATCH', `${folder}: tensor '${name}' is missing`, name);
      let tensors = loaded.get(file);
      if (!tensors) {
        tensors = new Map();
        const names = [...index].filter(([, f]) => f === file).map(([n]) => n);
        const read = readSafetensors(file, { names });
        for (const [n, t] of read.tensors) {
          if (!(t.data instanceof Float32Array)) {
            throw new SubspaceError('BAD_FILE', `${file}: tensor '${n}' has dtype ${t.dtype}; weights must be F32, F16 or BF16`, n);
          }
          tensors.set(n, { shape: t.shape, data: t.data });
        }
        loaded.set(file, tensors);
      }
      return tensors.get(name)!;
    },
  };
}

export async function loadModelFolder(folderIn: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const folder = resolve(folderIn);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new SubspaceError('NOT_FOUND', `${folder}: not a folder`, folder);
  }
  const { spec, config } = readModelSpec(folder);
  let tokenizer: SubspaceTokenizer | undefined;
  if (opts.requireTokenizer ?? true) tokenizer = await loadTokenizer(folder);
  else if (existsSync(join(folder, 'tokenizer.json'))) tokenizer = await loadTokenizer(folder);
  const src = folderWeightSource(folder);
  const weights = mapWeights(spec, src);
  if (tokenizer?.eosTokenIds.length && spec.eosTokenIds.length === 0) spec.eosTokenIds = [...tokenizer.eosTokenIds];
  return {
    name: opts.name ?? folder.split(/[\\/]/).pop() ?? folder,
    folder,
    spec,
    model: new Transformer(spec, weights),
    tokenizer,
    weightFiles: src.files,
    config,
  };
}
