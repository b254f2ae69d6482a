/**
 * The registry of trainable interventions: one interface, one factory, the list of types.
 * An intervention maps d-wide vectors (the last axis of a site's value) to d-wide vectors; the
 * runtime (`SiteEdit.apply`) hands it the values at the selected positions, [B, P, d].
 */
import { SubspaceError } from '../errors.js';
import type * as tf from '../tf.js';
import { REFT_TYPES, ReftIntervention, reftParameterCount } from './reft.js';
import type { ReftType } from './reft.js';

export type TensorState = Record<string, { shape: number[]; data: Float32Array }>;

export interface ApplyOptions {
  /** Training mode turns dropout on (default false). */
  training?: boolean;
  /** Seed of this call's dropout mask, combined with the intervention's own seed; default: that seed and a call counter. */
  seed?: number;
}

export interface Intervention {
  readonly type: string;
  readonly width: number;
  readonly rank: number;
  /** Trainable parameters; their names are `<prefix>/<state key>` and unique in the tfjs engine. */
  readonly variables: tf.Variable[];
  /** d-wide values [..., d] → same shape. */
  apply(h: tf.Tensor, opts?: ApplyOptions): tf.Tensor;
  /** Number of scalars in `variables`. */
  parameterCount(): number;
  /** Called after each optimiser step (e.g. re-orthonormalise R). */
  afterStep?(): void;
  /** Parameter values keyed by the reference library's state-dict names (see reft.ts). */
  state(): TensorState;
  load(state: TensorState): void;
  dispose(): void;
}

export interface InterventionConfig {
  /** d: the width of the edited vectors. */
  width: number;
  /** r: the low-rank dimension, 1 ≤ r ≤ d. */
  rank: number;
  /** On W h + b: identity (default; alias linear), relu, tanh, gelu. */
  activation?: string;
  /** Dropout probability on the edit, in [0, 1); training mode only. Default 0. */
  dropout?: number;
  /** Seeds the initial values and the dropout masks. Default 0: give distinct interventions distinct seeds. */
  seed?: number;
  /** Prefix of the tfjs variable names; default a fresh `reft<n>_<type>`. */
  name?: string;
  /** NoReFT / NodiReFT only: give the projection P a bias (pyreft's `add_bias`). Default false. */
  addBias?: boolean;
}

export const INTERVENTION_TYPES: readonly string[] = REFT_TYPES;

/** Accepts the canonical names, any case, and pyreft's class names (`LoreftIntervention`). */
export function resolveInterventionType(type: string): string {
  const key = String(type).trim().toLowerCase().replace(/intervention$/, '');
  const found = INTERVENTION_TYPES.find((t) => t.toLowerCase() === key);
  if (!found) {
    throw new SubspaceError('BAD_ARGUMENT', `unknown intervention type '${type}' (known: ${INTERVENTION_TYPES.join(', ')})`, 'type');
  }
  return found;
}

export function createIntervention(type: string, cfg: InterventionConfig): Intervention {
  return new ReftIntervention(resolveInterventionType(type) as ReftType, cfg);
}

/** The parameter count of an intervention without allocating it (e.g. LoReFT: 2·d·r + r). */
export function interventionParameterCount(type: string, cfg: Pick<InterventionConfig, 'width' | 'rank' | 'addBias'>): number {
  return reftParameterCount(resolveInterventionType(type), cfg.width, cfg.rank, cfg.addBias ?? false);
}
