import { loadModelFolder, type LoadedModel, type LoadOptions } from './io/model-folder.js';
import { resolveModelRef } from './io/hf-cache.js';
import { builtinModelsDir } from './paths.js';

/**
 * Opens a model by folder path, built-in name (`demo-gpt2`) or Hugging Face hub
 * name found in the local cache (`gpt2`, `Qwen/Qwen2.5-0.5B`).
 */
export async function openModel(ref: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const found = resolveModelRef(ref, builtinModelsDir());
  return loadModelFolder(found.folder, { name: found.name, ...opts });
}
