/**
 * Keeping a ReFT projection R orthonormal through training.
 *
 * Layout: R is stored as `rotate_layer` with shape [d, r] (pyreft's layout, which is Rᵀ in the
 * paper's notation): its COLUMNS are orthonormal, RᵀR = I_r.
 *
 * Method: retraction after every optimiser step. The optimiser (AdamW) updates the [d, r] matrix
 * freely; `afterStep()` then replaces it by its polar factor, the nearest matrix with orthonormal
 * columns in the Frobenius norm:
 *
 *     R ← R (RᵀR)^{-1/2}
 *
 * computed in float64 in plain JavaScript from an eigendecomposition (cyclic Jacobi) of the small
 * r×r Gram matrix. The cost is O(d·r²) plus one read and one write of the d·r values, trivial next
 * to a forward pass; it needs no kernel, so it behaves identically on cpu, wasm, webgl and
 * tfjs-node. (tf.linalg.qr does work on cpu and wasm, but tfjs builds the full d×d Householder Q
 * before slicing it, which is 16M entries per step for d = 4096; and its result is float32.)
 * Because the factor is computed in float64, a retracted matrix satisfies |RᵀR − I| at the level
 * of float32 rounding (~1e-7), and the error does not accumulate over steps.
 * The polar factor (rather than a QR/Gram–Schmidt step) treats the columns symmetrically, leaves
 * an already-orthonormal R unchanged, and is a second-order retraction on the Stiefel manifold,
 * so small steps are perturbed only at second order. If R has collapsed (a near-zero singular
 * value, which a sane learning rate never produces), a Gram–Schmidt pass that fills dead
 * directions deterministically takes over.
 *
 * Reference (pyreft): `torch.nn.utils.parametrizations.orthogonal` on a [d, r] weight, which for a
 * non-square matrix uses the Householder map: the trained tensor is an unconstrained [d, r]
 * `original`, and R = base · householder_product(original) is orthonormal by construction, so the
 * gradient flows through the map. The two methods constrain R to the same set and agree on the
 * forward pass for equal R; their training trajectories differ (gradient in the Householder
 * coordinates vs a Euclidean step on R followed by projection back to the manifold).
 */
import { SubspaceError } from '../errors.js';
import * as tf from '../tf.js';

/** max |RᵀR − I| for a row-major [rows, cols] matrix (column orthonormality). */
export function orthonormalityError(data: ArrayLike<number>, rows: number, cols: number): number {
  const g = gram(data, rows, cols);
  let m = 0;
  for (let i = 0; i < cols; i++) {
    for (let j = 0; j < cols; j++) m = Math.max(m, Math.abs(g[i * cols + j] - (i === j ? 1 : 0)));
  }
  return m;
}

/**
 * The nearest matrix with orthonormal columns (polar factor) of a row-major [rows, cols] matrix,
 * rows ≥ cols, computed in float64.
 */
export function orthonormalize(data: ArrayLike<number>, rows: number, cols: number): Float64Array {
  checkShape(data, rows, cols);
  const g = gram(data, rows, cols);
  const { values, vectors } = symmetricEigen(g, cols);
  const maxEig = Math.max(...values);
  const minEig = Math.min(...values);
  if (!(maxEig > 0) || !(minEig > maxEig * 1e-12) || !Number.isFinite(maxEig)) return gramSchmidt(data, rows, cols);
  // S = V diag(λ^{-1/2}) Vᵀ (r×r), then R S.
  const s = new Float64Array(cols * cols);
  for (let i = 0; i < cols; i++) {
    for (let j = 0; j < cols; j++) {
      let acc = 0;
      for (let k = 0; k < cols; k++) acc += (vectors[i * cols + k] * vectors[j * cols + k]) / Math.sqrt(values[k]);
      s[i * cols + j] = acc;
    }
  }
  const out = new Float64Array(rows * cols);
  for (let a = 0; a < rows; a++) {
    for (let j = 0; j < cols; j++) {
      let acc = 0;
      for (let k = 0; k < cols; k++) acc += data[a * cols + k] * s[k * cols + j];
      out[a * cols + j] = acc;
    }
  }
  return out;
}

/** Replaces a [d, r] variable by its polar factor in place. */
export function retractToStiefel(v: tf.Variable): void {
  if (v.rank !== 2) throw new SubspaceError('SHAPE_MISMATCH', `variable '${v.name}' must be a matrix to be orthonormalised`, v.name);
  const [rows, cols] = v.shape as [number, number];
  const q = orthonormalize(v.dataSync(), rows, cols);
  tf.tidy(() => v.assign(tf.tensor2d(Float32Array.from(q), [rows, cols])));
}

/**
 * torch.nn.init.orthogonal_ for a [rows, cols] matrix with rows ≥ cols: QR of a Gaussian matrix,
 * columns signed so that R's diagonal is positive. `gauss` draws N(0, 1).
 */
export function orthogonalInit(rows: number, cols: number, gauss: () => number): Float64Array {
  if (cols > rows) throw new SubspaceError('BAD_ARGUMENT', `an orthogonal [${rows}, ${cols}] init needs rows ≥ cols`, 'rank');
  const a = new Float64Array(rows * cols);
  for (let i = 0; i < a.length; i++) a[i] = gauss();
  // Modified Gram–Schmidt, twice (numerically a QR with positive diagonal).
  return gramSchmidt(a, rows, cols);
}

function checkShape(data: ArrayLike<number>, rows: number, cols: number): void {
  if (data.length !== rows * cols) throw new SubspaceError('SHAPE_MISMATCH', `expected ${rows}×${cols} values, got ${data.length}`);
  if (cols > rows) throw new SubspaceError('BAD_ARGUMENT', `a [${rows}, ${cols}] matrix cannot have orthonormal columns (needs rows ≥ cols)`);
}

function gram(data: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const g = new Float64Array(cols * cols);
  for (let a = 0; a < rows; a++) {
    const o = a * cols;
    for (let i = 0; i < cols; i++) {
      const x = data[o + i];
      for (let j = i; j < cols; j++) g[i * cols + j] += x * data[o + j];
    }
  }
  for (let i = 0; i < cols; i++) for (let j = 0; j < i; j++) g[i * cols + j] = g[j * cols + i];
  return g;
}

/** Cyclic Jacobi eigendecomposition of a symmetric n×n matrix: A = V diag(values) Vᵀ (V row-major, eigenvectors in columns). */
function symmetricEigen(m: Float64Array, n: number): { values: number[]; vectors: Float64Array } {
  const a = Float64Array.from(m);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 64; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += a[i * n + i] * a[i * n + i];
      for (let j = i + 1; j < n; j++) off += a[i * n + j] * a[i * n + j];
    }
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values: number[] = [];
  for (let i = 0; i < n; i++) values.push(a[i * n + i]);
  return { values, vectors: v };
}

/**
 * Modified Gram–Schmidt with re-orthogonalisation, float64. A column that is (numerically) in the
 * span of the earlier ones is replaced by the standard basis vector with the largest residual, so
 * the result always has orthonormal columns.
 */
function gramSchmidt(data: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const q = new Float64Array(rows * cols);
  const col = new Float64Array(rows);
  const project = (j: number) => {
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        let dot = 0;
        for (let a = 0; a < rows; a++) dot += q[a * cols + k] * col[a];
        for (let a = 0; a < rows; a++) col[a] -= dot * q[a * cols + k];
      }
    }
    let n2 = 0;
    for (let a = 0; a < rows; a++) n2 += col[a] * col[a];
    return Math.sqrt(n2);
  };
  for (let j = 0; j < cols; j++) {
    let scale = 0;
    for (let a = 0; a < rows; a++) {
      col[a] = Number.isFinite(data[a * cols + j]) ? data[a * cols + j] : 0;
      scale = Math.max(scale, Math.abs(col[a]));
    }
    let norm = project(j);
    if (!(norm > 1e-10 * Math.max(scale, 1e-30)) || scale === 0) {
      // Dead direction: take the basis vector least covered by the columns so far.
      let best = 0;
      let bestResidual = -1;
      for (let e = 0; e < rows; e++) {
        let covered = 0;
        for (let k = 0; k < j; k++) covered += q[e * cols + k] * q[e * cols + k];
        if (1 - covered > bestResidual) {
          bestResidual = 1 - covered;
          best = e;
        }
      }
      col.fill(0);
      col[best] = 1;
      norm = project(j);
    }
    for (let a = 0; a < rows; a++) q[a * cols + j] = col[a] / norm;
  }
  return q;
}
