import { SubspaceError } from '../errors.js';
import type { ModelSpec } from '../model/config.js';
import { checkFitsModel, loadArtifact, modelIdentity, saveArtifact, type ArtifactTensor, type Manifest } from '../artifacts/native.js';
import { createIntervention } from '../interventions/registry.js';
import { REFT_DEFAULTS, resolveComponent, type PlacedIntervention, type ReftConfig } from './reft.js';

/** Writes trained ReFT interventions in the native format (safetensors + manifest). */
export function saveReft(dir: string, modelName: string, spec: ModelSpec, cfg: ReftConfig, placed: PlacedIntervention[], metrics: Record<string, unknown>): Manifest {
  const tensors: Record<string, ArtifactTensor> = {};
  for (const p of placed) {
    for (const [name, t] of Object.entries(p.intervention.state())) tensors[`${p.key}.${name}`] = { shape: t.shape, data: t.data };
  }
  const site = resolveComponent(spec, cfg.component);
  return saveArtifact(
    dir,
    {
      method: 'reft',
      model: modelIdentity(modelName, spec),
      config: cfg as unknown as Record<string, unknown>,
      sites: placed.map((p) => ({ key: p.key, site: site.site, head: site.head, layer: p.layer, group: p.group, type: cfg.type, rank: cfg.rank, width: site.width })),
      metrics,
    },
    tensors,
  );
}

/** Reads a native ReFT export back, refusing one made for a model of another shape. */
export function loadReft(dir: string, spec: ModelSpec): { config: ReftConfig; placed: PlacedIntervention[]; manifest: Manifest } {
  const { manifest, tensors } = loadArtifact(dir);
  if (manifest.method !== 'reft') throw new SubspaceError('BAD_ARGUMENT', `${dir} holds a ${manifest.method} export, not a ReFT intervention`, dir);
  checkFitsModel(manifest.model, spec);
  const config = { ...REFT_DEFAULTS, ...(manifest.config as Partial<ReftConfig>) } as ReftConfig;
  const site = resolveComponent(spec, config.component);
  const placed: PlacedIntervention[] = manifest.sites.map((s) => {
    const key = String(s.key);
    const intervention = createIntervention(config.type, { width: site.width, rank: config.rank, activation: config.activation, dropout: config.dropout, seed: 0 });
    const state: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [name, t] of tensors) if (name.startsWith(`${key}.`)) state[name.slice(key.length + 1)] = t;
    intervention.load(state);
    return { key, layer: Number(s.layer), group: Number(s.group), intervention };
  });
  return { config, placed, manifest };
}
