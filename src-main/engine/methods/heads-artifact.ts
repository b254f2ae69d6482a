import { SubspaceError } from '../errors.js';
import type { ModelSpec } from '../model/config.js';
import { checkFitsModel, loadArtifact, modelIdentity, saveArtifact, type ArtifactTensor, type Manifest } from '../artifacts/native.js';
import { validateHeads, type HeadRef } from './heads.js';
import type { LofitSelectResult, LofitTuneResult } from './lofit.js';
import type { ItiResult, ItiShift } from './iti.js';

/**
 * Native exports of the head-level methods. LoFIT: the score matrix, the ranked
 * list, the selection and one offset per selected head. ITI: the probe-accuracy
 * matrix and each selected head's direction and σ.
 */
function matrix(rows: number[][]): ArtifactTensor {
  return { shape: [rows.length, rows[0]?.length ?? 0], data: Float32Array.from(rows.flat()) };
}

function unmatrix(t: ArtifactTensor | undefined, name: string): number[][] {
  if (!t || t.shape.length !== 2) throw new SubspaceError('BAD_FILE', `export has no ${name} matrix`, name);
  const [L, H] = t.shape;
  return Array.from({ length: L }, (_, l) => Array.from(t.data.subarray(l * H, (l + 1) * H)));
}

export function saveLofit(dir: string, modelName: string, spec: ModelSpec, select: LofitSelectResult, tune: LofitTuneResult, metrics: Record<string, unknown>): Manifest {
  const tensors: Record<string, ArtifactTensor> = { scores: matrix(select.scores) };
  tune.offsets.forEach((v, i) => (tensors[`offset.${tune.heads[i][0]}.${tune.heads[i][1]}`] = { shape: [v.length], data: Float32Array.from(v) }));
  return saveArtifact(
    dir,
    {
      method: 'lofit',
      model: modelIdentity(modelName, spec),
      config: { select: select.config, tune: tune.config, k: select.k, ranked: select.ranked, selected: select.selected, tuned: tune.heads },
      sites: tune.heads.map(([layer, head]) => ({ site: 'head_output', layer, head, edit: 'z + v' })),
      metrics,
    },
    tensors,
  );
}

export interface LoadedHeads {
  manifest: Manifest;
  method: 'lofit' | 'iti';
  scores: number[][];
  ranked: HeadRef[];
  selected: HeadRef[];
  /** LoFIT: the tuned offsets, in the order of `selected`. */
  offsets?: Float32Array[];
  /** ITI: the shift, ready for itiEdits. */
  iti?: ItiShift;
}

export function saveIti(dir: string, modelName: string, spec: ModelSpec, r: ItiResult, metrics: Record<string, unknown>): Manifest {
  const tensors: Record<string, ArtifactTensor> = { accuracy: matrix(r.accuracy), train_accuracy: matrix(r.trainAccuracy) };
  for (const h of r.heads) tensors[`direction.${h.layer}.${h.head}`] = { shape: [h.direction.length], data: h.direction };
  return saveArtifact(
    dir,
    {
      method: 'iti',
      model: modelIdentity(modelName, spec),
      config: { ...r.config, k: r.k, alpha: r.alpha, ranked: r.ranked, selected: r.selected, sigma: r.heads.map((h) => h.sigma), valAccuracy: r.heads.map((h) => h.valAccuracy), counts: r.counts },
      sites: r.heads.map((h) => ({ site: 'head_output', layer: h.layer, head: h.head, edit: 'z + α·σ·d' })),
      metrics,
    },
    tensors,
  );
}

/** Reads a LoFIT or ITI export, refusing one made for a model of another shape. */
export function loadHeads(dir: string, spec: ModelSpec): LoadedHeads {
  const { manifest, tensors } = loadArtifact(dir);
  if (manifest.method !== 'lofit' && manifest.method !== 'iti') {
    throw new SubspaceError('BAD_ARGUMENT', `${dir} holds a ${manifest.method} export, not LoFIT or ITI heads`, dir);
  }
  checkFitsModel(manifest.model, spec, `the ${manifest.method} head list`);
  const cfg = manifest.config as { ranked: HeadRef[]; selected: HeadRef[]; tuned?: HeadRef[]; alpha?: number; sigma?: number[]; valAccuracy?: number[] };
  const selected = manifest.method === 'lofit' ? (cfg.tuned ?? cfg.selected) : cfg.selected;
  validateHeads(selected, spec);
  if (manifest.method === 'lofit') {
    const offsets = selected.map(([l, h]) => {
      const t = tensors.get(`offset.${l}.${h}`);
      if (!t) throw new SubspaceError('BAD_FILE', `${dir}: no offset for head L${l}H${h}`, dir);
      return t.data;
    });
    return { manifest, method: 'lofit', scores: unmatrix(tensors.get('scores'), 'scores'), ranked: cfg.ranked, selected, offsets };
  }
  const heads = selected.map(([layer, head], i) => {
    const t = tensors.get(`direction.${layer}.${head}`);
    if (!t) throw new SubspaceError('BAD_FILE', `${dir}: no direction for head L${layer}H${head}`, dir);
    return { layer, head, direction: t.data, sigma: cfg.sigma?.[i] ?? 1, valAccuracy: cfg.valAccuracy?.[i] ?? 0 };
  });
  return { manifest, method: 'iti', scores: unmatrix(tensors.get('accuracy'), 'accuracy'), ranked: cfg.ranked, selected, iti: { heads, alpha: cfg.alpha ?? 15, nHeads: spec.nHeads, dHead: spec.dHead } };
}
