/** Small helpers for learned directions: short names and cosine similarities. */

/** "layer_2_comp_block_output_group_0/R[1]" → "L2 R[1]": the layer and which row of R or W. */
export function shortLabel(d: { label: string; layer: number }): string {
  const tail = d.label.includes('/') ? d.label.slice(d.label.lastIndexOf('/') + 1) : d.label;
  return `L${d.layer} ${tail}`;
}

/** Cosine similarity of every pair (rows: a, columns: b); NaN where the widths differ or a vector is zero. */
export function cosineMatrix(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number[][] {
  const norm = (v: readonly number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const na = a.map(norm);
  const nb = b.map(norm);
  return a.map((x, i) =>
    b.map((y, j) => {
      if (x.length !== y.length || na[i] === 0 || nb[j] === 0) return NaN;
      let dot = 0;
      for (let k = 0; k < x.length; k++) dot += x[k] * y[k];
      return Math.max(-1, Math.min(1, dot / (na[i] * nb[j])));
    }),
  );
}
