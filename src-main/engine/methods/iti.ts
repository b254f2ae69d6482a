/**
 * ITI — inference-time intervention (Li et al. 2023).
 *
 * 1. Activations: each head's output z (before the output projection) at the last token of
 *    "prompt ⧺ answer" for every labelled answer: true for the completion and the `correct` list,
 *    false for the `wrong` list.
 * 2. One L2-regularised logistic-regression probe per head, fitted on a training split and scored
 *    on a held-out validation split (split by example, so the answers of one question never sit
 *    on both sides); heads ranked by validation accuracy, top K kept.
 * 3. Per selected head the mass-mean direction (mean of true − mean of false, over train and
 *    validation rows, as the reference does), normalised; the shift is α·σ·direction, σ = the
 *    standard deviation of the activations projected on the direction.
 * 4. `itiEdits` adds the shift at the last prompt position (generation) or at every position that
 *    predicts an answer token (multiple-choice scoring).
 *
 * Defaults: α 15 (the paper's), validation fraction 0.2 and L2 weight 1 (the reference's
 * scikit-learn LogisticRegression default C = 1 on raw activations), K 10% of all heads (the paper's
 * 48 of 1,024 ≈ 5% would keep one head on a 4 × 4-head model), seed 42.
 */
import * as tf from '../tf.js';
import { SubspaceError } from '../errors.js';
import type { SubspaceTokenizer } from '../io/tokenizer.js';
import type { SiteEdit, Transformer } from '../model/transformer.js';
import { seededRandom, shuffleInPlace } from '../random.js';
import type { TaskExample } from '../tasks/schema.js';
import { evaluateExamples, type EvalResult } from '../eval/evaluate.js';
import { encodePair } from '../eval/score.js';
import { ProgressClock, type RunHooks } from './progress.js';
import { rankHeads, resolveK, type HeadRef, type KSpec } from './heads.js';

// ---- logistic regression ---------------------------------------------------------------------

export interface LogisticOptions {
  /** Weight of (1/2)‖w‖² added to the summed log-loss (scikit-learn's 1/C); the bias is not penalised. Must be > 0. */
  l2?: number;
  maxIter?: number;
  /** Converged when the largest parameter change falls below tol·(1 + max|θ|). */
  tol?: number;
}

export interface LogisticModel {
  w: Float64Array;
  b: number;
  iterations: number;
  converged: boolean;
}

function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Solves A x = g for a symmetric positive-definite A (m × m, row-major) by Cholesky; null if not PD. */
function choleskySolve(A: Float64Array, g: Float64Array, m: number): Float64Array | null {
  const Lm = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * m + j];
      for (let k = 0; k < j; k++) s -= Lm[i * m + k] * Lm[j * m + k];
      if (i === j) {
        if (!(s > 0)) return null;
        Lm[i * m + i] = Math.sqrt(s);
      } else {
        Lm[i * m + j] = s / Lm[j * m + j];
      }
    }
  }
  const y = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = g[i];
    for (let k = 0; k < i; k++) s -= Lm[i * m + k] * y[k];
    y[i] = s / Lm[i * m + i];
  }
  const x = new Float64Array(m);
  for (let i = m - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < m; k++) s -= Lm[k * m + i] * x[k];
    x[i] = s / Lm[i * m + i];
  }
  return x;
}

/**
 * Fits p(y=1|x) = σ(w·x + b) minimising Σ log-loss + (l2/2)‖w‖² by Newton's method with a
 * backtracking line search (the objective is strictly convex in w, so the minimum is unique and
 * the fit deterministic). X is [n, d] row-major, y holds 0/1.
 */
export function fitLogistic(X: ArrayLike<number>, y: ArrayLike<number>, n: number, d: number, opts: LogisticOptions = {}): LogisticModel {
  const l2 = opts.l2 ?? 1;
  const maxIter = opts.maxIter ?? 100;
  const tol = opts.tol ?? 1e-8;
  if (!(l2 > 0) || !Number.isFinite(l2)) throw new SubspaceError('BAD_ARGUMENT', `the probe's L2 weight must be positive (got ${l2})`, 'l2');
  if (!Number.isInteger(maxIter) || maxIter < 1) throw new SubspaceError('BAD_ARGUMENT', `maxIter must be a whole number ≥ 1 (got ${maxIter})`, 'maxIter');
  if (n < 1) throw new SubspaceError('BAD_ARGUMENT', 'no rows to fit the probe on', 'X');
  if (X.length !== n * d) throw new SubspaceError('SHAPE_MISMATCH', `X has ${X.length} values, expected n·d = ${n}·${d}`, 'X');
  if (y.length !== n) throw new SubspaceError('SHAPE_MISMATCH', `y has ${y.length} labels for ${n} rows`, 'y');
  const m = d + 1;
  const theta = new Float64Array(m); // w then b
  const z = new Float64Array(n);
  const margins = (th: Float64Array, out: Float64Array) => {
    for (let i = 0; i < n; i++) {
      let s = th[d];
      for (let j = 0; j < d; j++) s += th[j] * X[i * d + j];
      out[i] = s;
    }
  };
  const objective = (th: Float64Array, zz: Float64Array) => {
    let J = 0;
    for (let i = 0; i < n; i++) J += softplus(zz[i]) - y[i] * zz[i];
    let r = 0;
    for (let j = 0; j < d; j++) r += th[j] * th[j];
    return J + 0.5 * l2 * r;
  };
  margins(theta, z);
  let J = objective(theta, z);
  let iterations = 0;
  let converged = false;
  const g = new Float64Array(m);
  const Hm = new Float64Array(m * m);
  const trial = new Float64Array(m);
  const zt = new Float64Array(n);
  while (iterations < maxIter) {
    iterations++;
    g.fill(0);
    Hm.fill(0);
    for (let i = 0; i < n; i++) {
      const p = sigmoid(z[i]);
      const r = p - y[i];
      const s = p * (1 - p);
      const row = i * d;
      for (let a = 0; a < d; a++) {
        const xa = X[row + a];
        g[a] += r * xa;
        const sx = s * xa;
        for (let c = 0; c <= a; c++) Hm[a * m + c] += sx * X[row + c];
        Hm[d * m + a] += sx;
      }
      g[d] += r;
      Hm[d * m + d] += s;
    }
    for (let a = 0; a < d; a++) {
      g[a] += l2 * theta[a];
      Hm[a * m + a] += l2;
    }
    // Symmetrise (only the lower triangle was accumulated) and keep the bias row positive.
    for (let a = 0; a < m; a++) for (let c = a + 1; c < m; c++) Hm[a * m + c] = Hm[c * m + a];
    Hm[d * m + d] += 1e-10;
    let step = choleskySolve(Hm, g, m);
    for (let jitter = 1e-8; !step && jitter < 1e4; jitter *= 100) {
      const Hj = Hm.slice();
      for (let a = 0; a < m; a++) Hj[a * m + a] += jitter;
      step = choleskySolve(Hj, g, m);
    }
    if (!step) break;
    let slope = 0;
    for (let a = 0; a < m; a++) slope += g[a] * step[a];
    let t = 1;
    let Jt = Infinity;
    for (let ls = 0; ls < 40; ls++) {
      for (let a = 0; a < m; a++) trial[a] = theta[a] - t * step[a];
      margins(trial, zt);
      Jt = objective(trial, zt);
      if (Jt <= J - 1e-4 * t * slope) break;
      t /= 2;
    }
    if (!(Jt <= J)) {
      converged = true; // no descent left at float precision
      break;
    }
    let change = 0;
    let size = 0;
    for (let a = 0; a < m; a++) {
      change = Math.max(change, Math.abs(trial[a] - theta[a]));
      size = Math.max(size, Math.abs(trial[a]));
    }
    theta.set(trial);
    z.set(zt);
    J = Jt;
    if (change <= tol * (1 + size)) {
      converged = true;
      break;
    }
  }
  return { w: theta.slice(0, d), b: theta[d], iterations, converged };
}

/** p(y=1|x) per row of X [n, d]. */
export function logisticPredict(model: LogisticModel, X: ArrayLike<number>, n: number): Float64Array {
  const d = model.w.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = model.b;
    for (let j = 0; j < d; j++) s += model.w[j] * X[i * d + j];
    out[i] = sigmoid(s);
  }
  return out;
}

/** Fraction of rows whose thresholded prediction (p ≥ 0.5) matches y. */
export function logisticAccuracy(model: LogisticModel, X: ArrayLike<number>, y: ArrayLike<number>, n: number): number {
  if (n === 0) return NaN;
  const p = logisticPredict(model, X, n);
  let ok = 0;
  for (let i = 0; i < n; i++) ok += (p[i] >= 0.5 ? 1 : 0) === (y[i] ? 1 : 0) ? 1 : 0;
  return ok / n;
}

/**
 * The mass-mean direction mean(X | y=1) − mean(X | y=0), normalised, with `sigma` = the
 * (population) standard deviation of X projected on it and `norm` = the length before normalising.
 */
export function massMeanDirection(X: ArrayLike<number>, y: ArrayLike<number>, n: number, d: number): { direction: Float32Array; sigma: number; norm: number } {
  const mt = new Float64Array(d);
  const mf = new Float64Array(d);
  let nt = 0;
  let nf = 0;
  for (let i = 0; i < n; i++) {
    const target = y[i] ? mt : mf;
    if (y[i]) nt++;
    else nf++;
    for (let j = 0; j < d; j++) target[j] += X[i * d + j];
  }
  if (nt === 0 || nf === 0) throw new SubspaceError('BAD_ARGUMENT', `the mass-mean direction needs both true and false rows (got ${nt} true, ${nf} false)`, 'labels');
  const dir = new Float64Array(d);
  let norm = 0;
  for (let j = 0; j < d; j++) {
    dir[j] = mt[j] / nt - mf[j] / nf;
    norm += dir[j] * dir[j];
  }
  norm = Math.sqrt(norm);
  const unit = Float32Array.from(dir, (v) => (norm > 0 ? v / norm : 0));
  let mean = 0;
  const proj = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += unit[j] * X[i * d + j];
    proj[i] = s;
    mean += s;
  }
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (proj[i] - mean) ** 2;
  return { direction: unit, sigma: Math.sqrt(v / n), norm };
}

// ---- activations -----------------------------------------------------------------------------

export interface HeadActivations {
  nLayers: number;
  nHeads: number;
  dHead: number;
  /** Number of labelled answers (rows). */
  n: number;
  /** 1 for a correct answer, 0 for a wrong one. */
  labels: Uint8Array;
  /** The example each row came from (index into the examples given). */
  example: Int32Array;
  /** Per layer, [n, H, dh] row-major: each head's output at the answer's last token. */
  layers: Float32Array[];
}

/** The labelled answers of one example: correct ones (completion + `correct`) then wrong ones. */
function labelledAnswers(ex: TaskExample): { text: string; label: 0 | 1 }[] {
  const truths = [...new Set([ex.completion, ...(ex.correct ?? [])])];
  const lies = [...new Set(ex.wrong)].filter((w) => !truths.includes(w));
  return [...truths.map((text) => ({ text, label: 1 as const })), ...lies.map((text) => ({ text, label: 0 as const }))];
}

/**
 * Runs "prompt ⧺ answer" for every labelled answer (batched, no logits) and keeps every head's
 * output at the answer's last token.
 */
export function collectHeadActivations(model: Transformer, tok: SubspaceTokenizer, examples: TaskExample[], opts: { batchSize?: number; hooks?: RunHooks } = {}): HeadActivations {
  const spec = model.spec;
  const { nLayers: L, nHeads: H, dHead: dh } = spec;
  if (examples.length === 0) throw new SubspaceError('BAD_ARGUMENT', 'no examples to collect activations from', 'examples');
  const bs = opts.batchSize ?? 32;
  if (!Number.isInteger(bs) || bs < 1) throw new SubspaceError('BAD_ARGUMENT', `batch size must be a whole number ≥ 1 (got ${bs})`, 'batchSize');
  const rows: { ids: number[]; label: 0 | 1; example: number }[] = [];
  examples.forEach((ex, e) => {
    for (const a of labelledAnswers(ex)) {
      const p = encodePair(tok, ex.prompt, a.text);
      rows.push({ ids: [...p.prompt, ...p.continuation], label: a.label, example: e });
    }
  });
  const n = rows.length;
  const layers = Array.from({ length: L }, () => new Float32Array(n * H * dh));
  const pad = spec.padTokenId ?? spec.eosTokenIds[0] ?? 0;
  const reads = Array.from({ length: L }, (_, l) => ({ site: 'head_output' as const, layer: l }));
  const clock = new ProgressClock(opts.hooks ?? {}, 'iti-collect', Math.ceil(n / bs));
  for (let s = 0, batch = 0; s < n; s += bs, batch++) {
    const chunk = rows.slice(s, s + bs);
    const T = Math.max(...chunk.map((r) => r.ids.length));
    const ids = chunk.map((r) => [...r.ids, ...new Array(T - r.ids.length).fill(pad)]);
    const mask = chunk.map((r) => [...r.ids.map(() => 1), ...new Array(T - r.ids.length).fill(0)]);
    const res = model.forward({ inputIds: ids, attentionMask: mask }, { read: reads, logits: 'none' });
    try {
      const idx = tf.tensor2d(chunk.map((r, b) => [b, r.ids.length - 1]), [chunk.length, 2], 'int32');
      for (let l = 0; l < L; l++) {
        const picked = tf.gatherND(res.sites[`head_output:${l}`], idx); // [B, H, dh]
        layers[l].set(picked.dataSync() as Float32Array, s * H * dh);
        picked.dispose();
      }
      idx.dispose();
    } finally {
      tf.dispose(Object.values(res.sites));
    }
    clock.tick(batch + 1);
  }
  return { nLayers: L, nHeads: H, dHead: dh, n, labels: Uint8Array.from(rows, (r) => r.label), example: Int32Array.from(rows, (r) => r.example), layers };
}

/** One head's activations for the given rows, [rows.length, dh] row-major. */
export function headMatrix(acts: HeadActivations, layer: number, head: number, rows?: ArrayLike<number>): Float32Array {
  const { nHeads: H, dHead: dh } = acts;
  const src = acts.layers[layer];
  const pick = rows ?? Array.from({ length: acts.n }, (_, i) => i);
  const out = new Float32Array(pick.length * dh);
  for (let r = 0; r < pick.length; r++) out.set(src.subarray((pick[r] * H + head) * dh, (pick[r] * H + head + 1) * dh), r * dh);
  return out;
}

// ---- ITI -------------------------------------------------------------------------------------

export interface ItiConfig {
  k: KSpec;
  /** Strength multiplier of the shift α·σ·direction. */
  alpha: number;
  /** Fraction of the examples held out for probe accuracy when no validation split is given. */
  valFraction: number;
  /** The probes' L2 weight (1/C). */
  l2: number;
  maxIter: number;
  seed: number;
  batchSize: number;
}

export const ITI_DEFAULTS: ItiConfig = { k: { percent: 10 }, alpha: 15, valFraction: 0.2, l2: 1, maxIter: 100, seed: 42, batchSize: 32 };

export interface ItiHead {
  layer: number;
  head: number;
  /** Unit mass-mean direction, width dh. */
  direction: Float32Array;
  /** Std of the activations projected on the direction. */
  sigma: number;
  valAccuracy: number;
}

export interface ItiResult {
  /** [L][H] held-out (validation) accuracy of each head's probe. */
  accuracy: number[][];
  /** [L][H] training accuracy, for spotting over-fitting probes. */
  trainAccuracy: number[][];
  ranked: HeadRef[];
  selected: HeadRef[];
  k: number;
  /** The selected heads with their directions, best first. */
  heads: ItiHead[];
  alpha: number;
  nHeads: number;
  dHead: number;
  config: ItiConfig;
  counts: { examples: number; rows: number; trainRows: number; valRows: number; positives: number; negatives: number };
}

export function validateItiConfig(cfg: ItiConfig): void {
  if (!Number.isFinite(cfg.alpha)) throw new SubspaceError('BAD_ARGUMENT', `alpha must be a finite number (got ${cfg.alpha})`, 'alpha');
  if (!(cfg.valFraction > 0 && cfg.valFraction < 1)) throw new SubspaceError('BAD_ARGUMENT', `validation fraction must be in (0, 1) (got ${cfg.valFraction})`, 'valFraction');
  if (!(cfg.l2 > 0) || !Number.isFinite(cfg.l2)) throw new SubspaceError('BAD_ARGUMENT', `the probes' L2 weight must be positive (got ${cfg.l2})`, 'l2');
  if (!Number.isInteger(cfg.maxIter) || cfg.maxIter < 1) throw new SubspaceError('BAD_ARGUMENT', `maxIter must be a whole number ≥ 1 (got ${cfg.maxIter})`, 'maxIter');
  if (!Number.isInteger(cfg.batchSize) || cfg.batchSize < 1) throw new SubspaceError('BAD_ARGUMENT', `batch size must be a whole number ≥ 1 (got ${cfg.batchSize})`, 'batchSize');
  if (!Number.isFinite(cfg.seed)) throw new SubspaceError('BAD_ARGUMENT', `seed must be a finite number (got ${cfg.seed})`, 'seed');
}

/** Seeded split of example indices 0..n-1 into train and validation, at least one in each. */
export function splitExamples(n: number, valFraction: number, seed: number): { train: number[]; val: number[] } {
  if (n < 2) throw new SubspaceError('BAD_ARGUMENT', `ITI needs at least 2 examples to hold some out for validation (got ${n})`, 'examples');
  const order = shuffleInPlace(
    Array.from({ length: n }, (_, i) => i),
    seededRandom(seed),
  );
  const nVal = Math.min(n - 1, Math.max(1, Math.round(n * valFraction)));
  return { val: order.slice(0, nVal).sort((a, b) => a - b), train: order.slice(nVal).sort((a, b) => a - b) };
}

/**
 * Probes every head, keeps the top K by validation accuracy, and computes their shifts.
 * `data.dev`, when non-empty, is the validation split; otherwise `valFraction` of the training
 * examples is held out (seeded).
 */
export function trainIti(model: Transformer, tok: SubspaceTokenizer, data: { train: TaskExample[]; dev?: TaskExample[] }, cfgIn: Partial<ItiConfig> = {}, hooks: RunHooks = {}): ItiResult {
  const cfg: ItiConfig = { ...ITI_DEFAULTS, ...cfgIn };
  validateItiConfig(cfg);
  const spec = model.spec;
  const k = resolveK(cfg.k, spec);
  if (data.train.length === 0) throw new SubspaceError('BAD_ARGUMENT', 'the training split has no examples to probe on', 'task');
  const dev = data.dev ?? [];
  const all = [...data.train, ...dev];
  const split = dev.length > 0 ? { train: data.train.map((_, i) => i), val: dev.map((_, i) => data.train.length + i) } : splitExamples(data.train.length, cfg.valFraction, cfg.seed);
  const acts = collectHeadActivations(model, tok, all, { batchSize: cfg.batchSize, hooks });
  const valSet = new Set(split.val);
  const trainRows: number[] = [];
  const valRows: number[] = [];
  for (let i = 0; i < acts.n; i++) (valSet.has(acts.example[i]) ? valRows : trainRows).push(i);
  const yTrain = Uint8Array.from(trainRows, (i) => acts.labels[i]);
  const yVal = Uint8Array.from(valRows, (i) => acts.labels[i]);
  const pos = yTrain.reduce((a, v) => a + v, 0);
  if (pos === 0 || pos === yTrain.length) {
    throw new SubspaceError('BAD_ARGUMENT', `the probes need both correct and wrong answers in the training split (got ${pos} correct, ${yTrain.length - pos} wrong)`, 'task');
  }
  const { nLayers: L, nHeads: H, dHead: dh } = spec;
  const accuracy: number[][] = [];
  const trainAccuracy: number[][] = [];
  const clock = new ProgressClock(hooks, 'iti-probes', L * H);
  for (let l = 0; l < L; l++) {
    accuracy.push([]);
    trainAccuracy.push([]);
    for (let h = 0; h < H; h++) {
      const Xt = headMatrix(acts, l, h, trainRows);
      const probe = fitLogistic(Xt, yTrain, trainRows.length, dh, { l2: cfg.l2, maxIter: cfg.maxIter });
      trainAccuracy[l].push(logisticAccuracy(probe, Xt, yTrain, trainRows.length));
      accuracy[l].push(logisticAccuracy(probe, headMatrix(acts, l, h, valRows), yVal, valRows.length));
      clock.tick(l * H + h + 1);
    }
  }
  const ranked = rankHeads(accuracy);
  const selected = ranked.slice(0, k);
  const heads = selected.map(([l, h]) => {
    const mm = massMeanDirection(headMatrix(acts, l, h), acts.labels, acts.n, dh);
    return { layer: l, head: h, direction: mm.direction, sigma: mm.sigma, valAccuracy: accuracy[l][h] };
  });
  const positives = acts.labels.reduce((a, v) => a + v, 0);
  return {
    accuracy,
    trainAccuracy,
    ranked,
    selected,
    k,
    heads,
    alpha: cfg.alpha,
    nHeads: H,
    dHead: dh,
    config: cfg,
    counts: { examples: all.length, rows: acts.n, trainRows: trainRows.length, valRows: valRows.length, positives, negatives: acts.n - positives },
  };
}

export type ItiShift = Pick<ItiResult, 'heads' | 'alpha' | 'nHeads' | 'dHead'>;

export type ItiEditOptions =
  /** Generation: the last prompt token only. `offsets` = left padding per sequence (default 0). */
  | { mode: 'last'; promptLengths: number[]; offsets?: number[]; alpha?: number }
  /** Multiple-choice scoring (right-padded batches): the last prompt token and every answer token. */
  | { mode: 'answer'; promptLengths: number[]; totalLength: number; alpha?: number };

/**
 * The edits adding α·σ·direction to each selected head, one edit per layer. In 'answer' mode the
 * shift covers every position whose output predicts an answer token (the last prompt token on),
 * so every scored token sees it; positions past a sequence's end are padding and harmless.
 */
export function itiEdits(iti: ItiShift, opts: ItiEditOptions): SiteEdit[] {
  const alpha = opts.alpha ?? iti.alpha;
  if (!Number.isFinite(alpha)) throw new SubspaceError('BAD_ARGUMENT', `alpha must be a finite number (got ${alpha})`, 'alpha');
  const { nHeads: H, dHead: dh } = iti;
  let positions: number[][];
  if (opts.mode === 'last') {
    const off = opts.offsets ?? opts.promptLengths.map(() => 0);
    if (off.length !== opts.promptLengths.length) throw new SubspaceError('BAD_ARGUMENT', `${off.length} offsets for ${opts.promptLengths.length} prompts`, 'offsets');
    positions = opts.promptLengths.map((len, b) => [off[b] + len - 1]);
  } else if (opts.mode === 'answer') {
    const width = Math.max(...opts.promptLengths.map((len) => opts.totalLength - len + 1));
    positions = opts.promptLengths.map((len) => Array.from({ length: width }, (_, j) => (len - 1 + j < opts.totalLength ? len - 1 + j : -1)));
  } else {
    throw new SubspaceError('BAD_ARGUMENT', `unknown ITI mode '${String((opts as { mode: unknown }).mode)}' (known: last, answer)`, 'mode');
  }
  const byLayer = new Map<number, Float32Array>();
  for (const hd of iti.heads) {
    if (hd.direction.length !== dh) throw new SubspaceError('SHAPE_MISMATCH', `the direction of head [${hd.layer}, ${hd.head}] has width ${hd.direction.length}, expected ${dh}`, 'heads');
    const shift = byLayer.get(hd.layer) ?? new Float32Array(H * dh);
    for (let j = 0; j < dh; j++) shift[hd.head * dh + j] += alpha * hd.sigma * hd.direction[j];
    byLayer.set(hd.layer, shift);
  }
  return [...byLayer.entries()].map(([layer, shift]) => ({
    site: 'head_output',
    layer,
    positions,
    apply: (z: tf.Tensor) => tf.add(z, tf.tensor2d(shift, [H, dh])),
  }));
}

/** Edits for `generate(..., { promptEdits })`: its prompts are left-padded to one length, so the last prompt token is the last column. */
export function itiPromptEdits(iti: ItiShift, prompts: number[][], alpha?: number): SiteEdit[] {
  const T = Math.max(...prompts.map((p) => p.length));
  return itiEdits(iti, { mode: 'last', promptLengths: prompts.map((p) => p.length), offsets: prompts.map((p) => T - p.length), alpha });
}

/** Scores examples with the shift applied ('answer': on every answer position, the reference's multiple-choice setting). */
export function evaluateIti(model: Transformer, tok: SubspaceTokenizer, examples: TaskExample[], iti: ItiShift, opts: { mode?: 'last' | 'answer'; alpha?: number; multipleChoice?: boolean } = {}): EvalResult {
  const mode = opts.mode ?? 'answer';
  return evaluateExamples(model, tok, examples, {
    multipleChoice: opts.multipleChoice,
    edits: (promptLengths, totalLength) => (mode === 'last' ? itiEdits(iti, { mode, promptLengths, alpha: opts.alpha }) : itiEdits(iti, { mode, promptLengths, totalLength, alpha: opts.alpha })),
  });
}
