/** Pool task: one model and one set of pairs per worker; each job sweeps some layers. */
import { loadModelFolder, type LoadedModel } from '../io/model-folder.js';
import { patchSweepPairs, type PatchPair, type SweepOptions, type SweepResult } from '../patching/index.js';

export interface SweepInit {
  folder: string;
  pairs: PatchPair[];
}

export interface SweepJob {
  opts: SweepOptions;
  layers: number[];
}

let model: LoadedModel | undefined;
let pairs: PatchPair[] = [];

export async function setup(init: SweepInit): Promise<void> {
  model = await loadModelFolder(init.folder, { requireTokenizer: false });
  pairs = init.pairs;
}

export function run(job: SweepJob): SweepResult {
  return patchSweepPairs(model!.model, pairs, { ...job.opts, layers: job.layers });
}
