/**
 * RepE — representation engineering's reading vector (Zou et al. 2023), the learning-free baseline
 * of the LoFIT paper next to ITI, fitted on the same training split.
 *
 * 1. Representations: the site's value (block output by default) at the last token of
 *    "prompt ⧺ answer", for the correct completion and the first wrong answer of every example.
 * 2. Pairs in a seeded random order (the reference shuffles each pair, so the differences do not
 *    all point one way and recentring keeps the contrast), differences of each pair, recentred by
 *    their mean; the reading vector is the first principal component (power iteration on the
 *    covariance), unit length.
 * 3. Sign: the one under which the correct answer projects above the wrong one in most pairs
 *    (the reference's `get_signs`); that fraction is reported as the reading accuracy.
 * 4. Control: c·v added at the layer's site at the prompt positions (or every position), c ≥ 0;
 *    c and the layer are chosen on the dev split from a grid (`tuneRepe`).
 * Parameters: d per layer (fitted, not trained by gradient).
 */
import * as tf from '../../tf.js';
import { SubspaceError } from '../../errors.js';
import type { SubspaceTokenizer } from '../../io/tokenizer.js';
import type { SiteEdit, Transformer } from '../../model/transformer.js';
import type { TaskExample } from '../../tasks/schema.js';
import { seededRandom } from '../../random.js';
import { evaluateExamples, type EvalResult } from '../../eval/evaluate.js';
import { encodePair } from '../../eval/score.js';
import { gaussianArray } from '../heads.js';

export const REPE_SITES = ['block_output', 'block_input', 'attention_output', 'mlp_output'] as const;
export type RepeSite = (typeof REPE_SITES)[number];
export type RepePositions = 'prompt' | 'all';

export interface PrincipalComponent {
  /** Unit vector, width d; its sign is arbitrary (power iteration's). */
  vector: Float32Array;
  /** Its eigenvalue of the covariance (population: divided by n). */
  eigenvalue: number;
  /** eigenvalue / trace of the covariance. */
  explained: number;
  iterations: number;
}

/**
 * The first principal component of the rows of X [n, d] (recentred here by their mean) by power
 * iteration on the covariance, applied as Xᵀ(X v) so the d × d matrix is never formed.
 */
export function firstPrincipalComponent(X: ArrayLike<number>, n: number, d: number, opts: { maxIter?: number; tol?: number; seed?: number } = {}): PrincipalComponent {
  if (!Number.isInteger(n) || n < 2) throw new SubspaceError('BAD_ARGUMENT', `a principal component needs at least 2 rows (got ${n})`, 'X');
  if (X.length !== n * d) throw new SubspaceError('SHAPE_MISMATCH', `X has ${X.length} values, expected n·d = ${n}·${d}`, 'X');
  const maxIter = opts.maxIter ?? 1000;
  const tol = opts.tol ?? 1e-10;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += X[i * d + j] / n;
  const Z = new Float64Array(n * d);
  let trace = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const z = X[i * d + j] - mean[j];
      Z[i * d + j] = z;
      trace += (z * z) / n;
    }
  }
  const cov = (v: Float64Array) => {
    const proj = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += Z[i * d + j] * v[j];
      proj[i] = s;
    }
    const out = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) out[j] += (Z[i * d + j] * proj[i]) / n;
    return out;
  };
  const norm = (v: Float64Array) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  let v = Float64Array.from(gaussianArray(d, 1, opts.seed ?? 7));
  let nv = norm(v);
  v = v.map((x) => x / nv);
  let lambda = 0;
  let iterations = 0;
  for (; iterations < maxIter; iterations++) {
    const w = cov(v);
    lambda = norm(w);
    if (lambda === 0) break; // every row equal: no direction of variance
    const next = w.map((x) => x / lambda);
    // Converged when the direction stops moving (up to sign: v and −v are one component).
    let diff = 0;
    for (let j = 0; j < d; j++) diff += (next[j] - v[j]) ** 2;
    v = next;
    if (diff < tol) {
      iterations++;
      break;
    }
  }
  nv = norm(v);
  const w = cov(v);
  const eigenvalue = v.reduce((a, x, j) => a + x * w[j], 0) / (nv * nv);
  return { vector: Float32Array.from(v, (x) => x / nv), eigenvalue, explained: trace > 0 ? eigenvalue / trace : 0, iterations };
}

export interface RepeReading {
  site: RepeSite;
  layer: number;
  /** Unit reading vector, signed so the correct answer projects higher. */
  direction: Float32Array;
  /** Fraction of training pairs whose correct answer projects above the wrong one along `direction`. */
  readingAccuracy: number;
  explained: number;
  pairs: number;
}

/** Each example's site value at the last token of prompt ⧺ correct and prompt ⧺ first wrong answer: [n, 2, d]. */
export function collectPairRepresentations(model: Transformer, tok: SubspaceTokenizer, examples: TaskExample[], site: RepeSite, layer: number, batchSize = 32): { n: number; d: number; values: Float32Array } {
  const spec = model.spec;
  const d = spec.dModel;
  const rows: number[][] = [];
  examples.forEach((ex) => {
    if (!ex.completion || ex.wrong.length === 0) throw new SubspaceError('BAD_ARGUMENT', `example ${ex.id} needs a completion and a wrong answer for the RepE pairs`, 'task');
    for (const a of [ex.completion, ex.wrong[0]]) {
      const p = encodePair(tok, ex.prompt, a);
      rows.push([...p.prompt, ...p.continuation]);
    }
  });
  const pad = spec.padTokenId ?? spec.eosTokenIds[0] ?? 0;
  const values = new Float32Array(rows.length * d);
  for (let s = 0; s < rows.length; s += batchSize) {
    const chunk = rows.slice(s, s + batchSize);
    const T = Math.max(...chunk.map((r) => r.length));
    const ids = chunk.map((r) => [...r, ...new Array(T - r.length).fill(pad)]);
    const mask = chunk.map((r) => [...r.map(() => 1), ...new Array(T - r.length).fill(0)]);
    const res = model.forward({ inputIds: ids, attentionMask: mask }, { read: [{ site, layer }], logits: 'none', stopBefore: layer + 1 });
    const key = `${site}:${layer}`;
    const picked = tf.tidy(() => tf.gatherND(res.sites[key], tf.tensor2d(chunk.map((r, b) => [b, r.length - 1]), [chunk.length, 2], 'int32')));
    values.set(picked.dataSync() as Float32Array, s * d);
    tf.dispose([picked, ...Object.values(res.sites), res.residual]);
  }
  return { n: examples.length, d, values };
}

function checkSite(site: string): RepeSite {
  if (!(REPE_SITES as readonly string[]).includes(site)) throw new SubspaceError('BAD_ARGUMENT', `RepE reads one of ${REPE_SITES.join(', ')} (got '${site}')`, 'site');
  return site as RepeSite;
}

/** The reading vector of one layer from paired representations [n, 2, d] (correct first in each pair). */
export function readingVector(pairs: { n: number; d: number; values: Float32Array }, seed = 42): { direction: Float32Array; readingAccuracy: number; explained: number } {
  const { n, d, values } = pairs;
  if (n < 2) throw new SubspaceError('BAD_ARGUMENT', `RepE needs at least 2 example pairs (got ${n})`, 'examples');
  const rand = seededRandom(Math.trunc(seed) >>> 0);
  const diffs = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const flip = rand() < 0.5;
    for (let j = 0; j < d; j++) {
      const c = values[(2 * i) * d + j];
      const w = values[(2 * i + 1) * d + j];
      diffs[i * d + j] = flip ? w - c : c - w;
    }
  }
  const pc = firstPrincipalComponent(diffs, n, d, { seed });
  let above = 0;
  for (let i = 0; i < n; i++) {
    let pc0 = 0;
    let pw = 0;
    for (let j = 0; j < d; j++) {
      pc0 += pc.vector[j] * values[(2 * i) * d + j];
      pw += pc.vector[j] * values[(2 * i + 1) * d + j];
    }
    if (pc0 > pw) above++;
  }
  const flip = above < n - above;
  const direction = flip ? pc.vector.map((x) => -x) : pc.vector;
  return { direction, readingAccuracy: (flip ? n - above : above) / n, explained: pc.explained };
}

export function fitRepe(model: Transformer, tok: SubspaceTokenizer, examples: TaskExample[], opts: { layer: number; site?: RepeSite; seed?: number; batchSize?: number }): RepeReading {
  const site = checkSite(opts.site ?? 'block_output');
  const L = model.spec.nLayers;
  if (!Number.isInteger(opts.layer) || opts.layer < 0 || opts.layer >= L) throw new SubspaceError('BAD_ARGUMENT', `RepE layer ${opts.layer} is out of range: the model has layers 0..${L - 1}`, 'layer');
  const pairs = collectPairRepresentations(model, tok, examples, site, opts.layer, opts.batchSize);
  const r = readingVector(pairs, opts.seed ?? 42);
  return { site, layer: opts.layer, ...r, pairs: pairs.n };
}

export function validateCoefficient(c: number): void {
  if (typeof c !== 'number' || !Number.isFinite(c) || c < 0) {
    throw new SubspaceError('BAD_ARGUMENT', `the RepE coefficient must be a number ≥ 0 (got ${c}); the reading vector's sign already points toward the correct answers`, 'coefficient');
  }
}

/** The edit adding c·v at the reading's site, at each sequence's prompt positions (right-padded batches) or everywhere. */
export function repeEdits(reading: Pick<RepeReading, 'site' | 'layer' | 'direction'>, coefficient: number, opts: { positions: RepePositions; promptLengths?: number[] }): SiteEdit[] {
  validateCoefficient(coefficient);
  const shift = Float32Array.from(reading.direction, (x) => x * coefficient);
  let positions: number[][] | undefined;
  if (opts.positions === 'prompt') {
    if (!opts.promptLengths) throw new SubspaceError('BAD_ARGUMENT', 'RepE at the prompt positions needs the prompt lengths', 'positions');
    const P = Math.max(...opts.promptLengths);
    positions = opts.promptLengths.map((len) => Array.from({ length: P }, (_, j) => (j < len ? j : -1)));
  } else if (opts.positions !== 'all') {
    throw new SubspaceError('BAD_ARGUMENT', `RepE positions must be 'prompt' or 'all' (got '${String(opts.positions)}')`, 'positions');
  }
  return [{ site: reading.site, layer: reading.layer, positions, apply: (h: tf.Tensor) => tf.add(h, tf.tensor1d(shift)) }];
}

export function evaluateRepe(model: Transformer, tok: SubspaceTokenizer, examples: TaskExample[], reading: Pick<RepeReading, 'site' | 'layer' | 'direction'>, coefficient: number, opts: { positions?: RepePositions; multipleChoice?: boolean } = {}): EvalResult {
  const positions = opts.positions ?? 'prompt';
  return evaluateExamples(model, tok, examples, { multipleChoice: opts.multipleChoice, edits: (promptLengths) => repeEdits(reading, coefficient, { positions, promptLengths }) });
}

export interface RepeConfig {
  /** Layers to try (one reading vector each); default every layer. */
  layers?: number[];
  /** Coefficients to try on the dev split. */
  coefficients: number[];
  site: RepeSite;
  positions: RepePositions;
  seed: number;
  multipleChoice: boolean;
}

export const REPE_DEFAULTS: RepeConfig = { coefficients: [1, 2, 4, 8, 16], site: 'block_output', positions: 'prompt', seed: 42, multipleChoice: false };

export interface RepeResult {
  reading: RepeReading;
  coefficient: number;
  /** Every (layer, coefficient) tried with its dev accuracy. */
  grid: { layer: number; coefficient: number; dev: number; readingAccuracy: number }[];
  /** d: the reading vector's width. */
  parameters: number;
  config: RepeConfig;
}

/** Fits a reading vector per candidate layer on the training split and keeps the (layer, c) best on dev. */
export function tuneRepe(model: Transformer, tok: SubspaceTokenizer, data: { train: TaskExample[]; dev: TaskExample[] }, cfgIn: Partial<RepeConfig> = {}): RepeResult {
  const cfg: RepeConfig = { ...REPE_DEFAULTS, ...cfgIn };
  if (!Array.isArray(cfg.coefficients) || cfg.coefficients.length === 0) throw new SubspaceError('BAD_ARGUMENT', 'no RepE coefficients to try', 'coefficients');
  cfg.coefficients.forEach(validateCoefficient);
  if (data.dev.length === 0) throw new SubspaceError('BAD_ARGUMENT', 'RepE chooses its layer and coefficient on a dev split, and the task has none', 'task');
  const L = model.spec.nLayers;
  const layers = cfg.layers ?? Array.from({ length: L }, (_, l) => l);
  const grid: RepeResult['grid'] = [];
  let best: { reading: RepeReading; coefficient: number; dev: number } | undefined;
  for (const layer of layers) {
    const reading = fitRepe(model, tok, data.train, { layer, site: cfg.site, seed: cfg.seed });
    for (const c of cfg.coefficients) {
      const r = evaluateRepe(model, tok, data.dev, reading, c, { positions: cfg.positions, multipleChoice: cfg.multipleChoice });
      const dev = cfg.multipleChoice ? r.preferCorrect : r.accuracy;
      grid.push({ layer, coefficient: c, dev, readingAccuracy: reading.readingAccuracy });
      if (!best || dev > best.dev) best = { reading, coefficient: c, dev };
    }
  }
  return { reading: best!.reading, coefficient: best!.coefficient, grid, parameters: model.spec.dModel, config: { ...cfg, layers } };
}
