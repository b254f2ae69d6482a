import { SubspaceError } from '../errors.js';
import type { ModelSpec } from './config.js';

/**
 * The named places inside a transformer that methods read and edit. Layer sites
 * take a layer index; `head_output` and `attention_pattern` may take a head.
 */
export const SITE_NAMES = [
  'embeddings',
  'block_input',
  'attention_input',
  'attention_pattern',
  'head_output',
  'attention_output',
  'mlp_input',
  'mlp_hidden',
  'mlp_output',
  'block_output',
  'final_norm',
  'logits',
] as const;

export type SiteName = (typeof SITE_NAMES)[number];

const LAYERLESS = new Set<SiteName>(['embeddings', 'final_norm', 'logits']);
const HEADED = new Set<SiteName>(['head_output', 'attention_pattern']);

export const SITE_DESCRIPTIONS: Record<SiteName, string> = {
  embeddings: 'token (+ position) embeddings [B,T,d]',
  block_input: 'residual stream entering the layer [B,T,d]',
  attention_input: 'normalised residual fed to attention [B,T,d]',
  attention_pattern: 'attention probabilities [B,H,T,S] (one head: [B,T,S])',
  head_output: 'per-head attention outputs z before the output projection [B,T,H,dh] (one head: [B,T,dh])',
  attention_output: 'attention block output after the output projection [B,T,d]',
  mlp_input: 'normalised residual fed to the MLP [B,T,d]',
  mlp_hidden: 'MLP neurons after the activation (gated: act(gate)·up) [B,T,m]',
  mlp_output: 'MLP output before the residual add [B,T,d]',
  block_output: 'residual stream leaving the layer [B,T,d]',
  final_norm: 'residual after the final norm [B,T,d]',
  logits: 'next-token logits [B,T,V]',
};

export interface SiteRef {
  site: SiteName;
  layer?: number;
  head?: number;
}

export function isLayerSite(site: SiteName): boolean {
  return !LAYERLESS.has(site);
}

/** `block_output:3`, `head_output:2.5`, `embeddings`. */
export function siteKey(ref: SiteRef): string {
  if (!isLayerSite(ref.site)) return ref.site;
  return ref.head === undefined ? `${ref.site}:${ref.layer}` : `${ref.site}:${ref.layer}.${ref.head}`;
}

/** Parses `site[:layer[.head]]` and checks it against the model. */
export function parseSiteKey(text: string, spec?: ModelSpec): SiteRef {
  const m = /^([a-z_]+)(?::(-?\d+)(?:\.(-?\d+))?)?$/.exec(text.trim());
  if (!m) {
    throw new SubspaceError('BAD_ARGUMENT', `site '${text}' does not parse: expected site[:layer[.head]], e.g. block_output:3 or head_output:2.5`, text);
  }
  const ref: SiteRef = { site: m[1] as SiteName };
  if (m[2] !== undefined) ref.layer = Number(m[2]);
  if (m[3] !== undefined) ref.head = Number(m[3]);
  validateSite(ref, spec);
  return ref;
}

export function parseSiteList(text: string, spec?: ModelSpec): SiteRef[] {
  const parts = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new SubspaceError('BAD_ARGUMENT', 'no sites given', 'sites');
  return parts.map((p) => parseSiteKey(p, spec));
}

/** Throws a BAD_ARGUMENT error naming the problem when the ref is not valid for the model. */
export function validateSite(ref: SiteRef, spec?: ModelSpec): void {
  if (!(SITE_NAMES as readonly string[]).includes(ref.site)) {
    throw new SubspaceError('BAD_ARGUMENT', `unknown site '${ref.site}' (known: ${SITE_NAMES.join(', ')})`, ref.site);
  }
  if (!isLayerSite(ref.site)) {
    if (ref.layer !== undefined || ref.head !== undefined) {
      throw new SubspaceError('BAD_ARGUMENT', `site '${ref.site}' takes no layer or head`, ref.site);
    }
    return;
  }
  if (ref.layer === undefined) {
    throw new SubspaceError('BAD_ARGUMENT', `site '${ref.site}' needs a layer, e.g. ${ref.site}:0`, ref.site);
  }
  if (ref.head !== undefined && !HEADED.has(ref.site)) {
    throw new SubspaceError('BAD_ARGUMENT', `site '${ref.site}' has no heads (only head_output and attention_pattern do)`, ref.site);
  }
  if (!spec) return;
  if (!Number.isInteger(ref.layer) || ref.layer < 0 || ref.layer >= spec.nLayers) {
    throw new SubspaceError('BAD_ARGUMENT', `layer ${ref.layer} is out of range: the model has layers 0..${spec.nLayers - 1}`, 'layer');
  }
  if (ref.head !== undefined && (!Number.isInteger(ref.head) || ref.head < 0 || ref.head >= spec.nHeads)) {
    throw new SubspaceError('BAD_ARGUMENT', `head ${ref.head} is out of range: the model has heads 0..${spec.nHeads - 1}`, 'head');
  }
}
