import { SubspaceError } from '../errors.js';

/** Ranks 1..n, ties sharing their mean rank. */
export function ranks(xs: readonly number[]): number[] {
  const order = xs.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v);
  const out = new Array<number>(xs.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1].v === order[i].v) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k].i] = r;
    i = j + 1;
  }
  return out;
}

/** Spearman's rank correlation: Pearson's correlation of the ranks (ties averaged). NaN when either side is constant. */
export function spearman(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new SubspaceError('BAD_ARGUMENT', `spearman: ${a.length} values against ${b.length}`, 'values');
  const finite = a.map((_, i) => i).filter((i) => Number.isFinite(a[i]) && Number.isFinite(b[i]));
  if (finite.length < 2) return NaN;
  const ra = ranks(finite.map((i) => a[i]));
  const rb = ranks(finite.map((i) => b[i]));
  const n = finite.length;
  const ma = ra.reduce((x, y) => x + y, 0) / n;
  const mb = rb.reduce((x, y) => x + y, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) ** 2;
    sbb += (rb[i] - mb) ** 2;
  }
  return saa === 0 || sbb === 0 ? NaN : sab / Math.sqrt(saa * sbb);
}

/** Every number of nested arrays, in order (flattens a sweep's values). */
export function flatValues(values: unknown): number[] {
  return Array.isArray(values) ? values.flatMap(flatValues) : [values as number];
}
