import { interpolatePurples, interpolateRdBu, scaleDiverging, scaleSequential } from 'd3';

/**
 * Signed effects (patching, attribution, logit difference): red–white–blue centred at 0 with a
 * symmetric range. Positive values are blue, negative red; `positive` and `negative` say what each
 * sign means (e.g. "restores the clean answer") and appear in the legend and the hover.
 */
export interface DivergingScale {
  kind: 'diverging';
  positive: string;
  negative: string;
  /** Half-width of the range; default: the largest |value| in the data. */
  maxAbs?: number;
  /** Name of the quantity, e.g. "logit difference recovered". */
  label?: string;
}

/**
 * Unsigned quantities (IIA, probe accuracy, attention weight): one hue with fixed limits, 0..1 by
 * default, so two charts compare by eye. Values outside the limits are clamped.
 */
export interface SequentialScale {
  kind: 'sequential';
  label: string;
  min?: number;
  max?: number;
}

export type ColorScaleSpec = DivergingScale | SequentialScale;

export interface ResolvedScale {
  spec: ColorScaleSpec;
  domain: [number, number];
  color: (value: number) => string;
  /** Values at which the legend puts ticks. */
  ticks: number[];
  /** What a value means, for the hover. */
  meaning: (value: number) => string;
}

/** Largest finite |value|, 0 when there is none. */
export function maxAbsFinite(values: readonly (readonly number[])[]): number {
  let m = 0;
  for (const row of values) for (const v of row) if (Number.isFinite(v) && Math.abs(v) > m) m = Math.abs(v);
  return m;
}

export function resolveColorScale(spec: ColorScaleSpec, values: readonly (readonly number[])[]): ResolvedScale {
  if (spec.kind === 'diverging') {
    const fromData = maxAbsFinite(values);
    const m = spec.maxAbs !== undefined && spec.maxAbs > 0 ? spec.maxAbs : fromData > 0 ? fromData : 1;
    // d3's RdBu runs red → blue, so the symmetric domain puts negatives red and positives blue.
    const scale = scaleDiverging<string>(interpolateRdBu).domain([-m, 0, m]).clamp(true);
    return {
      spec,
      domain: [-m, m],
      color: (v) => scale(v),
      ticks: [-m, 0, m],
      meaning: (v) => (Number.isNaN(v) ? 'no value' : v > 0 ? spec.positive : v < 0 ? spec.negative : 'no effect'),
    };
  }
  const lo = spec.min ?? 0;
  const hi = spec.max ?? 1;
  if (!(hi > lo)) throw new RangeError(`sequential scale: max (${hi}) must be greater than min (${lo})`);
  const scale = scaleSequential<string>(interpolatePurples).domain([lo, hi]).clamp(true);
  return {
    spec,
    domain: [lo, hi],
    color: (v) => scale(v),
    ticks: [lo, (lo + hi) / 2, hi],
    meaning: (v) => (Number.isNaN(v) ? 'no value' : spec.label),
  };
}
