import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { formatBackendReport } from '../../engine/backend/index.js';
import { readModelSpec } from '../../engine/io/model-folder.js';
import { parameterCount, type ModelSpec } from '../../engine/model/config.js';
import { builtinModelsDir } from '../../engine/paths.js';
import { listCachedModels, resolveModelRef } from '../../engine/io/hf-cache.js';
import { errorMessage } from '../../engine/errors.js';
import { printJson } from '../output.js';
import { startBackend } from '../backend.js';
import { APP_VERSION } from '../../engine/version.js';

interface ModelEntry {
  name: string;
  source: string;
  folder: string;
  modelType?: string;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  width?: number;
  parameters?: number;
  error?: string;
}

function describe(name: string, source: string, folder: string): ModelEntry {
  try {
    const { spec } = readModelSpec(folder);
    return summary(name, source, folder, spec);
  } catch (e) {
    return { name, source, folder, error: errorMessage(e) };
  }
}

function summary(name: string, source: string, folder: string, s: ModelSpec): ModelEntry {
  return { name, source, folder, modelType: s.modelType, layers: s.nLayers, heads: s.nHeads, kvHeads: s.nKvHeads, width: s.dModel, parameters: parameterCount(s) };
}

export function listModels(extra: string[]): ModelEntry[] {
  const out: ModelEntry[] = [];
  const dir = builtinModelsDir();
  if (existsSync(dir)) {
    for (const n of readdirSync(dir).sort()) {
      if (existsSync(join(dir, n, 'config.json'))) out.push(describe(n, 'built-in', join(dir, n)));
    }
  }
  for (const c of listCachedModels()) out.push(describe(c.name, 'hf-cache', c.folder));
  for (const ref of extra) {
    try {
      const r = resolveModelRef(ref, dir);
      out.push(describe(r.name, r.source, r.folder));
    } catch (e) {
      out.push({ name: ref, source: 'argument', folder: ref, error: errorMessage(e) });
    }
  }
  return out;
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('version, tensor backend (and why), and the models Subspace can open')
    .option('--model <ref...>', 'also describe these folders or names')
    .option('--json', 'machine-readable output')
    .action(async (o: { model?: string[]; json?: boolean }) => {
      const report = await startBackend(program);
      const models = listModels(o.model ?? []);
      if (o.json) {
        printJson({ version: APP_VERSION, node: process.version, backend: report, models });
        return;
      }
      console.log(`Subspace ${APP_VERSION} (Node ${process.version})`);
      console.log(formatBackendReport(report));
      console.log('Models:');
      if (models.length === 0) console.log('  (none found)');
      for (const m of models) {
        if (m.error) console.log(`  ${m.name} [${m.source}] ${m.folder}: ${m.error}`);
        else console.log(`  ${m.name} [${m.source}] ${m.modelType}, ${m.layers} layers × ${m.heads} heads (${m.kvHeads} kv), width ${m.width}, ${(m.parameters! / 1e6).toFixed(2)}M parameters`);
      }
    });
}
