/**
 * Export to (and import from) the folder pyreft / pyvene write with `IntervenableModel.save` and
 * read with `IntervenableModel.load` / `ReftModel.load`.
 *
 * The folder (pyvene ≥ 0.1.7, `intervenable_base.py`):
 * - `config.json`: the IntervenableConfig as transformers' `PretrainedConfig.save_pretrained` writes
 *   it (keys sorted, indent 2): `representations` (one JSON array per intervention, the fields of
 *   pyvene's `RepresentationConfig` namedtuple in order: layer, component, unit,
 *   max_number_of_units, low_rank_dimension, intervention_type, intervention, subspace_partition,
 *   group_key, intervention_link_key, moe_key, source_representation,
 *   hidden_source_representation, latent_dim; `save` blanks intervention_type, intervention and
 *   source_representation), `intervention_types` (`str(type(intervention))`, e.g.
 *   "<class 'pyreft.interventions.LoreftIntervention'>"), `intervention_dimensions` (each
 *   intervention's interchange_dim: the site width), `intervention_constant_sources` (true for
 *   pyreft's classes: they are SourcelessInterventions), `sorted_keys`, `mode: "parallel"`,
 *   `transformers_version`. Older pyvene releases have a 13-field RepresentationConfig (no
 *   latent_dim); the reader accepts both.
 * - `intkey_<key>.bin` per intervention: `torch.save(intervention.state_dict())`, where `<key>` is
 *   pyvene's `layer_{layer}_comp_{component}_unit_{unit with '.'→'_'}_nunit_{n}#{k}`, k counting
 *   earlier representations with the same prefix. pyreft lists the interventions of a layer for
 *   its position groups as `layers += layers` (all layers for the first group, then all layers for
 *   the second), so #k is the position group.
 *
 * State dicts (pyreft/interventions.py): LoReFT overrides `state_dict()` to `weight` [r,d],
 * `bias` [r] (its learned_source Linear) and `rotate_layer` [d,r] (the evaluated R). The other
 * classes use torch's default `state_dict()`: pyvene's buffers `embed_dim` and `interchange_dim`
 * (int64 scalars = d), their own parameters, and for an orthogonal R the parametrization's
 * `rotate_layer.parametrizations.weight.original` and `…weight.0.base`. For a tall [d, r] weight
 * torch uses the Householder map with a `base`: weight = base @ (householder(original) · sign),
 * and `right_inverse` stores original = −I(d×r) and base = an orthogonal completion [R | N]
 * (d×d), which evaluates to exactly R. We write the same (N from a Householder QR of R), and the
 * reader evaluates any `original` (the Householder map, or the matrix exponential when r = d).
 *
 * What pyvene cannot record: an activation on W h + b (pyreft's `act_fn` comes from code, not the
 * config, and a config-built intervention is linear), the positions (they live in pyreft's data
 * collator), and which head a head-level intervention edits (pyvene's `head_attention_value_output`
 * component takes the head from `unit_locations` at call time). So the export refuses a
 * non-identity activation unless asked, and keeps all three in a `subspace` block of config.json,
 * which pyvene passes through as an unused attribute; the importer reads it back.
 *
 * pyvene limits worth knowing: `IntervenableModel.load` builds each intervention from its
 * representation alone, and pyreft's NoReFT/NodiReFT constructors need an `add_bias` argument the
 * representation has no field for, so those two load only into interventions built in code (then
 * `load_intervention`); LoReFT/DiReFT/ConsReFT/LobiReFT load from the folder as is (pyreft builds
 * learned_source in bfloat16 unless given a dtype).
 *
 * Component names: block_input/block_output/attention_input/attention_output/mlp_input/mlp_output
 * are pyvene's names for the same tensors; mlp_hidden is pyvene's `mlp_activation` for GPT-2 only
 * (for gated MLPs pyvene's `mlp_activation` is act(gate) without the up projection);
 * head_output.<h> is `head_attention_value_output` with unit `h.pos`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SubspaceError } from '../errors.js';
import { readJsonFile } from '../io/model-folder.js';
import { interventionGroupCount, parsePositions } from '../interventions/positions.js';
import { pyreftClassName, ReftIntervention, REFT_TYPES, type ReftType } from '../interventions/reft.js';
import { createIntervention, resolveInterventionType, type Intervention, type TensorState } from '../interventions/registry.js';
import { REFT_DEFAULTS, resolveComponent, type PlacedIntervention, type ReftConfig } from '../methods/reft.js';
import type { ModelSpec } from '../model/config.js';
import { readTorchStateDict, writeFileAtomic, writeTorchStateDict, type TorchTensor, type TorchTensorToWrite } from './pytorch-zip.js';

/** Recorded as the config's `transformers_version` (informational: transformers only reports it). */
export const PYVENE_TRANSFORMERS_VERSION = '4.45.2';

/** The fields of pyvene's RepresentationConfig, in order. */
export const REPRESENTATION_FIELDS = [
  'layer',
  'component',
  'unit',
  'max_number_of_units',
  'low_rank_dimension',
  'intervention_type',
  'intervention',
  'subspace_partition',
  'group_key',
  'intervention_link_key',
  'moe_key',
  'source_representation',
  'hidden_source_representation',
  'latent_dim',
] as const;

const SAME_NAME = ['block_input', 'block_output', 'attention_input', 'attention_output', 'mlp_input', 'mlp_output'];
const HEAD_COMPONENT = 'head_attention_value_output';

export interface PyveneSite {
  component: string;
  unit: string;
  head?: number;
}

/** pyvene's component and unit for one of our components, or a refusal naming why. */
export function pyveneSite(spec: ModelSpec, component: string): PyveneSite {
  const site = resolveComponent(spec, component);
  if (site.site === 'head_output') {
    if (spec.dHead * spec.nHeads !== spec.dModel) {
      throw new SubspaceError(
        'UNSUPPORTED',
        `pyvene sizes head interventions as hidden_size / num_attention_heads (${spec.dModel / spec.nHeads}), but this model's heads are ${spec.dHead} wide`,
        'component',
      );
    }
    return { component: HEAD_COMPONENT, unit: 'h.pos', head: site.head };
  }
  if (SAME_NAME.includes(site.site)) return { component: site.site, unit: 'pos' };
  if (site.site === 'mlp_hidden') {
    if (spec.mlp === 'plain') return { component: 'mlp_activation', unit: 'pos' };
    throw new SubspaceError(
      'UNSUPPORTED',
      `pyvene has no component for a gated MLP's hidden units act(gate)·up (its mlp_activation is act(gate) alone); export a residual or head component instead`,
      'component',
    );
  }
  throw new SubspaceError('UNSUPPORTED', `component '${component}' has no pyvene equivalent`, 'component');
}

/** pyvene's key prefix for a representation (`_get_representation_key` before the #k). */
export function pyveneKeyPrefix(layer: number, component: string, unit: string, nUnits = 1): string {
  if (component.includes('.')) return `comp_${component.replaceAll('.', '_')}_unit_${unit.replaceAll('.', '_')}_nunit_${nUnits}`;
  return `layer_${layer}_comp_${component}_unit_${unit.replaceAll('.', '_')}_nunit_${nUnits}`;
}

/** pyvene's keys for a list of representations, with its collision counter. */
export function pyveneKeys(reps: readonly { layer: number; component: string; unit: string; nUnits?: number }[]): string[] {
  const counter = new Map<string, number>();
  return reps.map((r) => {
    const prefix = pyveneKeyPrefix(r.layer, r.component, r.unit, r.nUnits ?? 1);
    const k = counter.has(prefix) ? counter.get(prefix)! + 1 : 0;
    counter.set(prefix, k);
    return `${prefix}#${k}`;
  });
}

/* ------------------------------------------------------------------- orthogonal parametrization */

const PARAM_ORIGINAL = 'rotate_layer.parametrizations.weight.original';
const PARAM_BASE = 'rotate_layer.parametrizations.weight.0.base';

/** y ← (I − τ v vᵀ) y for v supported on [from, d). */
function reflect(y: Float64Array, v: Float64Array, tau: number, from: number): void {
  let dot = 0;
  for (let i = from; i < v.length; i++) dot += v[i] * y[i];
  const s = tau * dot;
  if (s === 0) return;
  for (let i = from; i < v.length; i++) y[i] -= s * v[i];
}

/**
 * A d×d orthogonal matrix whose first r columns are R (row-major [d, r] with orthonormal columns):
 * the remaining columns come from a Householder QR of R, so they span R's orthogonal complement.
 * O(r·d²) rather than a full d×d factorisation.
 */
export function orthogonalCompletion(R: ArrayLike<number>, d: number, r: number): Float64Array {
  const a = Float64Array.from(R);
  const vs: Float64Array[] = [];
  for (let j = 0; j < r; j++) {
    let norm = 0;
    for (let i = j; i < d; i++) norm += a[i * r + j] ** 2;
    norm = Math.sqrt(norm);
    const v = new Float64Array(d);
    const x0 = a[j * r + j];
    const alpha = x0 >= 0 ? -norm : norm;
    for (let i = j; i < d; i++) v[i] = a[i * r + j];
    v[j] -= alpha;
    let vn = 0;
    for (let i = j; i < d; i++) vn += v[i] * v[i];
    if (vn > 0) {
      const inv = 1 / Math.sqrt(vn);
      for (let i = j; i < d; i++) v[i] *= inv;
      // Apply H_j = I − 2 v vᵀ to the remaining columns.
      for (let c = j + 1; c < r; c++) {
        let dot = 0;
        for (let i = j; i < d; i++) dot += v[i] * a[i * r + c];
        for (let i = j; i < d; i++) a[i * r + c] -= 2 * dot * v[i];
      }
    }
    vs.push(v);
  }
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let c = 0; c < r; c++) out[i * d + c] = R[i * r + c];
  const col = new Float64Array(d);
  for (let c = r; c < d; c++) {
    col.fill(0);
    col[c] = 1;
    for (let j = r - 1; j >= 0; j--) reflect(col, vs[j], 2, j);
    for (let i = 0; i < d; i++) out[i * d + c] = col[i];
  }
  return out;
}

/** exp(A) for a square matrix (scaling and squaring with a Taylor series), float64. */
function matrixExp(A: Float64Array, n: number): Float64Array {
  let norm = 0;
  for (let i = 0; i < n; i++) {
    let row = 0;
    for (let j = 0; j < n; j++) row += Math.abs(A[i * n + j]);
    norm = Math.max(norm, row);
  }
  const s = norm > 0.5 ? Math.ceil(Math.log2(norm / 0.5)) : 0;
  const scale = 2 ** -s;
  const X = A.map((v) => v * scale);
  const mul = (P: Float64Array, Q: Float64Array) => {
    const out = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < n; k++) {
        const p = P[i * n + k];
        if (p === 0) continue;
        for (let j = 0; j < n; j++) out[i * n + j] += p * Q[k * n + j];
      }
    }
    return out;
  };
  let result = new Float64Array(n * n);
  for (let i = 0; i < n; i++) result[i * n + i] = 1;
  let term = Float64Array.from(result);
  for (let k = 1; k <= 20; k++) {
    term = mul(term, X).map((v) => v / k);
    for (let i = 0; i < term.length; i++) result[i] += term[i];
  }
  for (let i = 0; i < s; i++) result = mul(result, result);
  return result;
}

/**
 * What torch's orthogonal parametrization evaluates to for a [d, r] weight (d ≥ r) stored as
 * `original` (and `base` when trivialised): the Householder map for d > r
 * (Q = H_0 ⋯ H_{r−1} I[:, :r] with H_j = I − τ_j v_j v_jᵀ, v_j = e_j + the strictly-lower part of
 * column j, τ_j = 2 / (1 + ‖that part‖²), each column j then scaled by int(original[j, j])), the
 * matrix exponential of tril(X) − tril(X)ᵀ for d = r; then base @ Q.
 */
export function evaluateOrthogonalParametrization(original: ArrayLike<number>, base: ArrayLike<number> | undefined, d: number, r: number): Float64Array {
  let Q: Float64Array;
  if (d > r) {
    const vs: { v: Float64Array; tau: number }[] = [];
    for (let j = 0; j < r; j++) {
      const v = new Float64Array(d);
      v[j] = 1;
      let ss = 0;
      for (let i = j + 1; i < d; i++) {
        v[i] = original[i * r + j];
        ss += v[i] * v[i];
      }
      vs.push({ v, tau: 2 / (1 + ss) });
    }
    Q = new Float64Array(d * r);
    const col = new Float64Array(d);
    for (let c = 0; c < r; c++) {
      col.fill(0);
      col[c] = 1;
      for (let j = r - 1; j >= 0; j--) reflect(col, vs[j].v, vs[j].tau, j);
      const sign = Math.trunc(original[c * r + c]);
      for (let i = 0; i < d; i++) Q[i * r + c] = col[i] * sign;
    }
  } else {
    if (d > 1024) {
      throw new SubspaceError('UNSUPPORTED', `a full-rank (r = d = ${d}) orthogonal parametrization is too large to evaluate here; store the evaluated weight instead`, PARAM_ORIGINAL);
    }
    const A = new Float64Array(d * d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j <= i; j++) {
        A[i * d + j] += original[i * d + j];
        A[j * d + i] -= original[i * d + j];
      }
    }
    Q = matrixExp(A, d);
  }
  if (!base) return Q;
  const out = new Float64Array(d * r);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const b = base[i * d + k];
      if (b === 0) continue;
      for (let c = 0; c < r; c++) out[i * r + c] += b * Q[k * r + c];
    }
  }
  return out;
}

/* ---------------------------------------------------------------------------- state dicts */


function f32(shape: number[], data: ArrayLike<number>): TorchTensorToWrite {
  return { shape, data: Float32Array.from(data) };
}

function int64Scalar(v: number): TorchTensorToWrite {
  return { shape: [], data: BigInt64Array.from([BigInt(v)]) };
}

/**
 * One intervention's state as pyreft's `state_dict()` has it, in its order: LoReFT's override, or
 * torch's default (own parameters, own buffers, then submodules).
 */
export function toPyreftStateDict(type: ReftType, state: TensorState, width: number, rank: number): Map<string, TorchTensorToWrite> {
  const out = new Map<string, TorchTensorToWrite>();
  const take = (k: string) => {
    const t = state[k];
    if (!t) throw new SubspaceError('BAD_ARGUMENT', `${type} state lacks '${k}'`, k);
    return f32(t.shape, t.data);
  };
  const rotation = () => {
    const R = state.rotate_layer;
    if (!R) throw new SubspaceError('BAD_ARGUMENT', `${type} state lacks 'rotate_layer'`, 'rotate_layer');
    const negId = new Float32Array(width * rank);
    for (let i = 0; i < rank; i++) negId[i * rank + i] = -1;
    out.set(PARAM_ORIGINAL, { shape: [width, rank], data: negId });
    out.set(PARAM_BASE, f32([width, width], orthogonalCompletion(R.data, width, rank)));
  };
  const buffers = () => {
    out.set('embed_dim', int64Scalar(width));
    out.set('interchange_dim', int64Scalar(width));
  };
  switch (type) {
    case 'LoReFT':
      out.set('weight', take('weight'));
      out.set('bias', take('bias'));
      out.set('rotate_layer', take('rotate_layer'));
      break;
    case 'NoReFT':
    case 'NodiReFT':
      buffers();
      out.set('proj_layer.weight', take('proj_layer.weight'));
      if (state['proj_layer.bias']) out.set('proj_layer.bias', take('proj_layer.bias'));
      out.set('learned_source.weight', take('learned_source.weight'));
      out.set('learned_source.bias', take('learned_source.bias'));
      break;
    case 'DiReFT':
      buffers();
      rotation();
      out.set('learned_source.weight', take('learned_source.weight'));
      out.set('learned_source.bias', take('learned_source.bias'));
      break;
    case 'ConsReFT':
    case 'LobiReFT':
      out.set('learned_source', take('learned_source'));
      buffers();
      rotation();
      break;
  }
  return out;
}

/** Our state from a pyreft state dict (either LoReFT's override or torch's default layout). */
export function fromPyreftStateDict(type: ReftType, sd: ReadonlyMap<string, TorchTensor>, width: number, label: string): TensorState {
  const state: TensorState = {};
  const float = (k: string): { shape: number[]; data: Float32Array } => {
    const t = sd.get(k)!;
    if (!(t.data instanceof Float32Array)) throw new SubspaceError('BAD_FILE', `${label}: '${k}' has dtype ${t.dtype}, expected a floating tensor`, k);
    return { shape: t.shape.slice(), data: t.data };
  };
  for (const k of ['embed_dim', 'interchange_dim']) {
    const t = sd.get(k);
    if (!t) continue;
    const v = t.data.length === 1 ? Number(t.data[0]) : NaN;
    if (v !== width) {
      throw new SubspaceError('SHAPE_MISMATCH', `${label}: '${k}' is ${t.data.length === 1 ? v : `[${t.shape.join(', ')}]`}, but this model's site is ${width} wide`, k);
    }
  }
  for (const k of sd.keys()) {
    if (k === 'embed_dim' || k === 'interchange_dim' || k === PARAM_ORIGINAL || k === PARAM_BASE) continue;
    let ours = k;
    if (type === 'LoReFT' && k === 'learned_source.weight') ours = 'weight';
    if (type === 'LoReFT' && k === 'learned_source.bias') ours = 'bias';
    state[ours] = float(k);
  }
  if (sd.has(PARAM_ORIGINAL)) {
    const original = float(PARAM_ORIGINAL);
    if (original.shape.length !== 2 || original.shape[0] !== width || original.shape[1] > width) {
      throw new SubspaceError('SHAPE_MISMATCH', `${label}: '${PARAM_ORIGINAL}' has shape [${original.shape.join(', ')}], expected [${width}, r ≤ ${width}]`, PARAM_ORIGINAL);
    }
    const r = original.shape[1];
    let base: Float32Array | undefined;
    if (sd.has(PARAM_BASE)) {
      const b = float(PARAM_BASE);
      if (b.shape.length !== 2 || b.shape[0] !== width || b.shape[1] !== width) {
        throw new SubspaceError('SHAPE_MISMATCH', `${label}: '${PARAM_BASE}' has shape [${b.shape.join(', ')}], expected [${width}, ${width}]`, PARAM_BASE);
      }
      base = b.data;
    }
    state.rotate_layer = { shape: [width, r], data: Float32Array.from(evaluateOrthogonalParametrization(original.data, base, width, r)) };
  }
  return state;
}

/* -------------------------------------------------------------------------------------- export */

export interface PyreftExportOptions {
  /**
   * Export interventions with a non-identity activation anyway. pyvene's config cannot record it:
   * a config-built pyreft intervention is linear, so the user must construct it with `act_fn` in
   * code and load the weights into it.
   */
  allowActivation?: boolean;
}

export interface PyreftExport {
  dir: string;
  /** pyvene's intervention keys, in representation order. */
  keys: string[];
  /** The files written, relative to dir. */
  files: string[];
  config: Record<string, unknown>;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v as object)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

function activationOf(i: Intervention, cfg: ReftConfig): string {
  if (i instanceof ReftIntervention) return i.activation;
  const a = (cfg.activation ?? 'identity').trim().toLowerCase();
  return a === 'linear' ? 'identity' : a;
}

/**
 * Writes trained interventions as pyvene/pyreft save them: config.json and one
 * `intkey_<key>.bin` (a torch.save archive) per intervention.
 */
export function exportPyreft(dir: string, placed: readonly PlacedIntervention[], cfg: ReftConfig, spec: ModelSpec, modelName: string, opts: PyreftExportOptions = {}): PyreftExport {
  if (!Array.isArray(placed) || placed.length === 0) throw new SubspaceError('BAD_ARGUMENT', 'nothing to export: no interventions given', 'placed');
  const type = resolveInterventionType(cfg.type) as ReftType;
  const site = resolveComponent(spec, cfg.component);
  const pv = pyveneSite(spec, cfg.component);
  const seen = new Set<string>();
  const activations = new Set<string>();
  for (const p of placed) {
    const i = p.intervention;
    if (resolveInterventionType(i.type) !== type) throw new SubspaceError('BAD_ARGUMENT', `intervention '${p.key}' is ${i.type}, the config says ${type}`, p.key);
    if (i.width !== site.width) throw new SubspaceError('SHAPE_MISMATCH', `intervention '${p.key}' is ${i.width} wide, but ${cfg.component} is ${site.width} wide in this model`, p.key);
    if (i.rank !== cfg.rank) throw new SubspaceError('SHAPE_MISMATCH', `intervention '${p.key}' has rank ${i.rank}, the config says ${cfg.rank}`, p.key);
    if (!Number.isInteger(p.layer) || p.layer < 0 || p.layer >= spec.nLayers) {
      throw new SubspaceError('BAD_ARGUMENT', `intervention '${p.key}' sits at layer ${p.layer}, but the model has layers 0..${spec.nLayers - 1}`, p.key);
    }
    if (!Number.isInteger(p.group) || p.group < 0) throw new SubspaceError('BAD_ARGUMENT', `intervention '${p.key}' has an invalid group ${p.group}`, p.key);
    const id = `${p.layer}/${p.group}`;
    if (seen.has(id)) throw new SubspaceError('BAD_ARGUMENT', `two interventions sit at layer ${p.layer}, group ${p.group}`, p.key);
    seen.add(id);
    activations.add(activationOf(i, cfg));
  }
  if (activations.size > 1) throw new SubspaceError('BAD_ARGUMENT', `the interventions use different activations (${[...activations].join(', ')})`, 'activation');
  const activation = [...activations][0];
  if (activation !== 'identity' && !opts.allowActivation) {
    throw new SubspaceError(
      'UNSUPPORTED',
      `pyvene's config cannot record the activation '${activation}': pyreft would load these interventions as linear. ` +
        `Pass allowActivation to export anyway, then build the pyreft interventions with act_fn='${activation}' in code and load the weights into them`,
      'activation',
    );
  }
  // pyreft's order: all layers for group 0, then all layers for group 1 (`layers += layers`).
  const ordered = [...placed].sort((a, b) => a.group - b.group || a.layer - b.layer);
  const keys = pyveneKeys(ordered.map((p) => ({ layer: p.layer, component: pv.component, unit: pv.unit })));
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  ordered.forEach((p, i) => {
    const sd = toPyreftStateDict(type, p.intervention.state(), site.width, cfg.rank);
    const file = `intkey_${keys[i]}.bin`;
    writeTorchStateDict(join(dir, file), sd);
    files.push(file);
  });
  const addBias = ordered.some((p) => p.intervention instanceof ReftIntervention && p.intervention.addBias);
  const representations = ordered.map((p) => {
    const r: Record<(typeof REPRESENTATION_FIELDS)[number], unknown> = {
      layer: p.layer,
      component: pv.component,
      unit: pv.unit,
      max_number_of_units: 1,
      low_rank_dimension: cfg.rank,
      intervention_type: null,
      intervention: null,
      subspace_partition: null,
      group_key: null,
      intervention_link_key: null,
      moe_key: null,
      source_representation: null,
      hidden_source_representation: null,
      latent_dim: null,
    };
    return REPRESENTATION_FIELDS.map((f) => r[f]);
  });
  const config = sortKeys({
    representations,
    intervention_types: ordered.map(() => `<class 'pyreft.interventions.${pyreftClassName(type)}'>`),
    intervention_dimensions: ordered.map(() => site.width),
    intervention_constant_sources: ordered.map(() => true),
    sorted_keys: keys,
    mode: 'parallel',
    transformers_version: PYVENE_TRANSFORMERS_VERSION,
    subspace: {
      format: 1,
      model: modelName,
      model_type: spec.modelType,
      type,
      component: cfg.component,
      head: pv.head ?? null,
      rank: cfg.rank,
      activation,
      add_bias: addBias,
      positions: cfg.positions,
      share_weights: cfg.shareWeights,
      groups: ordered.map((p) => p.group),
      note:
        'Written by Subspace. pyvene ignores this block. pyvene does not record positions (set them in your data collator), ' +
        (pv.head !== undefined ? `nor the head: pass head ${pv.head} in unit_locations, ` : '') +
        (activation !== 'identity' ? `nor the activation: build the interventions with act_fn='${activation}', ` : '') +
        'the rest of this folder is what IntervenableModel.save writes.',
    },
  }) as Record<string, unknown>;
  writeFileAtomic(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  files.push('config.json');
  return { dir, keys, files, config };
}

/* -------------------------------------------------------------------------------------- import */

export interface PyreftImport {
  config: ReftConfig;
  placed: PlacedIntervention[];
  /** pyvene's keys, in representation order. */
  keys: string[];
  /** What had to be assumed (e.g. positions, when the folder does not come from Subspace). */
  notes: string[];
}

interface Representation {
  layer: number;
  component: string;
  unit: string;
  nUnits: number;
  rank: number | null;
}

function parseRepresentation(raw: unknown, i: number, label: string): Representation {
  let rec: Record<string, unknown>;
  if (Array.isArray(raw)) {
    if (raw.length < 4 || raw.length > REPRESENTATION_FIELDS.length) {
      throw new SubspaceError('BAD_CONFIG', `${label}: representation ${i} has ${raw.length} fields, expected up to ${REPRESENTATION_FIELDS.length}`, label);
    }
    rec = Object.fromEntries(raw.map((v, k) => [REPRESENTATION_FIELDS[k], v]));
  } else if (raw && typeof raw === 'object') {
    rec = raw as Record<string, unknown>;
  } else {
    throw new SubspaceError('BAD_CONFIG', `${label}: representation ${i} is neither a list nor an object`, label);
  }
  const layer = rec.layer ?? 0;
  const component = rec.component ?? 'block_output';
  const unit = rec.unit ?? 'pos';
  const nUnits = rec.max_number_of_units ?? 1;
  const rank = rec.low_rank_dimension ?? null;
  if (typeof layer !== 'number' || !Number.isInteger(layer) || typeof component !== 'string' || typeof unit !== 'string' || typeof nUnits !== 'number') {
    throw new SubspaceError('BAD_CONFIG', `${label}: representation ${i} has an invalid layer, component or unit`, label);
  }
  if (rank !== null && (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 1)) {
    throw new SubspaceError('BAD_CONFIG', `${label}: representation ${i} has an invalid low_rank_dimension ${JSON.stringify(rank)}`, label);
  }
  for (const f of ['intervention_link_key', 'moe_key', 'subspace_partition'] as const) {
    if (rec[f] !== null && rec[f] !== undefined) {
      throw new SubspaceError('UNSUPPORTED', `${label}: representation ${i} uses pyvene's ${f}, which Subspace cannot represent`, label);
    }
  }
  return { layer, component, unit, nUnits, rank: rank as number | null };
}

function reftTypeOf(typeString: unknown, i: number, label: string): ReftType {
  if (typeof typeString !== 'string') throw new SubspaceError('BAD_CONFIG', `${label}: intervention_types[${i}] is not a string`, label);
  const m = /^<class '([\w.]+)'>$/.exec(typeString.trim()) ?? /^([\w.]+)$/.exec(typeString.trim());
  const path = m ? m[1] : typeString;
  const cls = path.split('.').pop() ?? path;
  const known = REFT_TYPES.find((t) => pyreftClassName(t) === cls);
  if (!known) {
    throw new SubspaceError(
      'UNSUPPORTED',
      `${label}: intervention ${i} is a ${path}; Subspace reads pyreft's ${REFT_TYPES.map((t) => pyreftClassName(t)).join(', ')}`,
      label,
    );
  }
  return known;
}

/**
 * Reads a pyvene/pyreft intervention folder into interventions for this model, refusing when the
 * layers, components or widths do not fit it.
 */
export function importPyreft(dir: string, spec: ModelSpec): PyreftImport {
  const label = join(dir, 'config.json');
  const raw = readJsonFile(label) as Record<string, unknown>;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new SubspaceError('BAD_CONFIG', `${label}: expected a JSON object`, label);
  const repsRaw = raw.representations;
  if (!Array.isArray(repsRaw) || repsRaw.length === 0) throw new SubspaceError('BAD_CONFIG', `${label}: no 'representations' list (not a pyvene intervention folder?)`, label);
  const reps = repsRaw.map((r, i) => parseRepresentation(r, i, label));
  const typesRaw = Array.isArray(raw.intervention_types) ? raw.intervention_types : reps.map(() => raw.intervention_types);
  if (typesRaw.length !== reps.length) throw new SubspaceError('BAD_CONFIG', `${label}: ${typesRaw.length} intervention_types for ${reps.length} representations`, label);
  const types = typesRaw.map((t, i) => reftTypeOf(t, i, label));
  if (new Set(types).size > 1) throw new SubspaceError('UNSUPPORTED', `${label}: the folder mixes intervention types (${[...new Set(types)].join(', ')}); Subspace keeps one type per run`, label);
  const type = types[0];
  const sub = raw.subspace && typeof raw.subspace === 'object' ? (raw.subspace as Record<string, unknown>) : undefined;
  const notes: string[] = [];

  // The component, in our terms.
  const components = new Set(reps.map((r) => `${r.component}|${r.unit}|${r.nUnits}`));
  if (components.size > 1) throw new SubspaceError('UNSUPPORTED', `${label}: the interventions sit on different components (${[...components].join('; ')}); Subspace keeps one component per run`, label);
  const { component: pvComponent, unit, nUnits } = reps[0];
  if (nUnits !== 1) throw new SubspaceError('UNSUPPORTED', `${label}: max_number_of_units is ${nUnits}; Subspace reads single-unit interventions`, label);
  let component: string;
  if (pvComponent === HEAD_COMPONENT) {
    const head = sub?.head;
    if (typeof head !== 'number' || !Number.isInteger(head)) {
      throw new SubspaceError(
        'UNSUPPORTED',
        `${label}: a ${HEAD_COMPONENT} intervention takes its head from unit_locations at call time, and this folder does not say which head (no subspace.head)`,
        label,
      );
    }
    if (unit !== 'h.pos') throw new SubspaceError('UNSUPPORTED', `${label}: unit '${unit}' on ${HEAD_COMPONENT}; Subspace reads 'h.pos'`, label);
    component = `head_output.${head}`;
  } else {
    if (unit !== 'pos') throw new SubspaceError('UNSUPPORTED', `${label}: unit '${unit}'; Subspace reads interventions on token positions ('pos')`, label);
    if (SAME_NAME.includes(pvComponent)) component = pvComponent;
    else if (pvComponent === 'mlp_activation' && spec.mlp === 'plain') component = 'mlp_hidden';
    else throw new SubspaceError('UNSUPPORTED', `${label}: component '${pvComponent}' has no Subspace equivalent for this model`, label);
  }
  const site = resolveComponent(spec, component);

  // Layers and widths must fit this model.
  const dims = Array.isArray(raw.intervention_dimensions) ? raw.intervention_dimensions : [];
  reps.forEach((r, i) => {
    if (r.layer < 0 || r.layer >= spec.nLayers) {
      throw new SubspaceError('SHAPE_MISMATCH', `${label}: intervention ${i} sits at layer ${r.layer}, but this model has layers 0..${spec.nLayers - 1}`, label);
    }
    const dim = dims[i];
    if (typeof dim === 'number' && dim !== site.width) {
      throw new SubspaceError('SHAPE_MISMATCH', `${label}: intervention ${i} is ${dim} wide, but ${component} is ${site.width} wide in this model`, label);
    }
  });

  // Keys, and the position group of each intervention (#k).
  const keys = pyveneKeys(reps);
  if (Array.isArray(raw.sorted_keys)) {
    const listed = new Set(raw.sorted_keys.map(String));
    const missing = keys.filter((k) => !listed.has(k));
    if (missing.length > 0 || listed.size !== keys.length) notes.push(`sorted_keys differ from the keys pyvene derives from the representations; using the derived keys`);
  }
  const groups = keys.map((k) => Number(k.slice(k.lastIndexOf('#') + 1)));
  const layers = [...new Set(reps.map((r) => r.layer))].sort((a, b) => a - b);
  const nGroups = Math.max(...groups) + 1;
  for (let g = 0; g < nGroups; g++) {
    const at = reps.filter((_, i) => groups[i] === g).map((r) => r.layer);
    if (at.length !== layers.length) {
      throw new SubspaceError(
        'UNSUPPORTED',
        `${label}: position group ${g} has interventions at layers ${at.join(', ')} but the folder uses layers ${layers.join(', ')}; Subspace places one intervention per layer and group`,
        label,
      );
    }
  }

  // Positions, sharing and activation: recorded by Subspace, otherwise assumed.
  let positions = typeof sub?.positions === 'string' ? sub.positions : undefined;
  let shareWeights = typeof sub?.share_weights === 'boolean' ? sub.share_weights : undefined;
  if (positions === undefined || shareWeights === undefined) {
    positions = nGroups === 1 ? REFT_DEFAULTS.positions : 'f1+l1';
    shareWeights = nGroups === 1;
    notes.push(`pyvene does not record the intervened positions; assuming '${positions}'${nGroups > 1 ? ' without shared weights' : ''} (set positions to what the interventions were trained with)`);
  }
  if (interventionGroupCount(parsePositions(positions), shareWeights) !== nGroups) {
    throw new SubspaceError('BAD_CONFIG', `${label}: positions '${positions}' (share weights: ${shareWeights}) make ${interventionGroupCount(parsePositions(positions), shareWeights)} groups per layer, the folder has ${nGroups}`, label);
  }
  const activation = typeof sub?.activation === 'string' ? sub.activation : 'identity';
  if (!sub) notes.push('pyvene does not record an activation; assuming identity (pyreft\'s default act_fn)');

  // States.
  const states = keys.map((k) => {
    const file = join(dir, `intkey_${k}.bin`);
    if (!existsSync(file)) throw new SubspaceError('NOT_FOUND', `${file}: missing (config.json lists intervention '${k}')`, file);
    return fromPyreftStateDict(type, readTorchStateDict(file), site.width, file);
  });
  const rankOf = (s: TensorState, i: number): number => {
    const R = s.rotate_layer ?? s['proj_layer.weight'];
    const r = s.rotate_layer ? R?.shape[1] : R?.shape[0];
    const stated = reps[i].rank;
    if (r !== undefined && stated !== null && r !== stated) {
      throw new SubspaceError('SHAPE_MISMATCH', `${label}: intervention ${i} has low_rank_dimension ${stated} but its weights have rank ${r}`, label);
    }
    const rank = r ?? stated;
    if (rank === undefined || rank === null) throw new SubspaceError('BAD_FILE', `${label}: cannot tell the rank of intervention ${i}`, label);
    return rank;
  };
  const ranks = states.map(rankOf);
  if (new Set(ranks).size > 1) throw new SubspaceError('UNSUPPORTED', `${label}: the interventions have different ranks (${[...new Set(ranks)].join(', ')})`, label);
  const rank = ranks[0];
  if (rank > site.width) throw new SubspaceError('SHAPE_MISMATCH', `${label}: rank ${rank} exceeds the site width ${site.width}`, label);

  const config: ReftConfig = { ...REFT_DEFAULTS, type, layers, component, rank, positions, shareWeights, activation: activation === 'identity' ? undefined : activation };
  const placed: PlacedIntervention[] = [];
  try {
    states.forEach((state, i) => {
      const addBias = type === 'NoReFT' || type === 'NodiReFT' ? 'proj_layer.bias' in state : undefined;
      const intervention = createIntervention(type, { width: site.width, rank, activation, addBias });
      placed.push({ key: `layer_${reps[i].layer}_comp_${component}_group_${groups[i]}`, layer: reps[i].layer, group: groups[i], intervention });
      try {
        intervention.load(state);
      } catch (e) {
        if (e instanceof SubspaceError) throw new SubspaceError(e.code, `${join(dir, `intkey_${keys[i]}.bin`)}: ${e.message}`, e.subject);
        throw e;
      }
    });
  } catch (e) {
    for (const p of placed) p.intervention.dispose();
    throw e;
  }
  placed.sort((a, b) => a.layer - b.layer || a.group - b.group);
  return { config, placed, keys, notes };
}
