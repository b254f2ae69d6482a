/**
 * A trained DAS intervention in the native export format (manifest + safetensors): method 'das',
 * one site entry with its layer, component, position role, variable, variant and dim, and the
 * tensors under pyvene's state-dict names prefixed by the site key.
 */
import { SubspaceError } from '../errors.js';
import type { ModelSpec } from '../model/config.js';
import { checkFitsModel, loadArtifact, modelIdentity, saveArtifact, type ArtifactTensor, type Manifest } from '../artifacts/native.js';
import { resolveComponent } from '../methods/reft.js';
import { DasIntervention, resolveVariant } from './interventions.js';
import { DAS_DEFAULTS, type DasConfig, type DasSite, type DasSummary } from './train.js';

export function dasSiteKey(site: Pick<DasSite, 'layer' | 'component' | 'position'>): string {
  return `layer_${site.layer}_comp_${site.component}_pos_${site.position}`;
}

/** Writes a trained DAS intervention; `metrics` defaults to the summary's test IIA, boundary and loss. */
export function saveDas(dir: string, modelName: string, spec: ModelSpec, summary: DasSummary, intervention: DasIntervention, metrics?: Record<string, unknown>): Manifest {
  const key = dasSiteKey(summary.site);
  const tensors: Record<string, ArtifactTensor> = {};
  for (const [name, t] of Object.entries(intervention.state())) tensors[`${key}.${name}`] = { shape: t.shape, data: t.data };
  const { site } = summary;
  return saveArtifact(
    dir,
    {
      method: 'das',
      model: modelIdentity(modelName, spec),
      config: summary.config as unknown as Record<string, unknown>,
      sites: [
        {
          key,
          site: site.site,
          head: site.head,
          layer: site.layer,
          component: site.component,
          position: site.position,
          variable: summary.variable,
          variant: summary.variant,
          pyveneClass: summary.pyveneClass,
          dim: summary.dim,
          width: site.width,
        },
      ],
      metrics: metrics ?? { task: summary.task, test: summary.test, boundary: summary.boundary, parameters: summary.parameters, loss: summary.loss },
    },
    tensors,
  );
}

/** Reads a DAS export back, refusing one made for a model of another shape. */
export function loadDas(dir: string, spec: ModelSpec): { config: DasConfig; site: DasSite; intervention: DasIntervention; manifest: Manifest } {
  const { manifest, tensors } = loadArtifact(dir);
  if (manifest.method !== 'das') throw new SubspaceError('BAD_ARGUMENT', `${dir} holds a ${manifest.method} export, not a DAS intervention`, dir);
  checkFitsModel(manifest.model, spec);
  const entry = manifest.sites[0];
  if (!entry || manifest.sites.length !== 1) throw new SubspaceError('BAD_FILE', `${dir}: a DAS export holds exactly one site (found ${manifest.sites.length})`, dir);
  const config = { ...DAS_DEFAULTS, ...(manifest.config as Partial<DasConfig>) } as DasConfig;
  config.variant = resolveVariant(String(entry.variant ?? config.variant));
  const s = resolveComponent(spec, String(entry.component ?? config.component));
  const site: DasSite = { layer: Number(entry.layer), component: String(entry.component ?? config.component), site: s.site, head: s.head, position: String(entry.position ?? config.position), width: s.width };
  const dim = Number(entry.dim ?? config.dim);
  const key = String(entry.key);
  const intervention = new DasIntervention(config.variant, { width: s.width, dim, seed: 0 });
  try {
    const state: Record<string, ArtifactTensor> = {};
    for (const [name, t] of tensors) if (name.startsWith(`${key}.`)) state[name.slice(key.length + 1)] = t;
    intervention.load(state);
  } catch (e) {
    intervention.dispose();
    throw e;
  }
  return { config: { ...config, layer: site.layer, position: site.position, component: site.component, dim, variable: String(entry.variable ?? config.variable) }, site, intervention, manifest };
}
