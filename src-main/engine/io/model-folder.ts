import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SubspaceError } from '../errors.js';
import type { ModelSpec } from '../model/config.js';
import { mapWeights } from '../model/families/index.js';
import { Transformer } from '../model/transformer.js';
import type { RawTensor, WeightSource } from '../model/weights.js';
import { readSafetensors } from './safetensors.js';
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

export { readJsonFile, readModelSpec, weightIndex } from './model-files.js';
import { readModelSpec, weightIndex } from './model-files.js';

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
