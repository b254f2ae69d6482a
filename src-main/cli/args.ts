import { SubspaceError } from '../engine/errors.js';

/** Parses a numeric option, naming the option when it is not a number in range. */
export function num(name: string, opts: { int?: boolean; min?: number; max?: number } = {}) {
  return (value: string): number => {
    const v = Number(value);
    const bad =
      value.trim() === '' ||
      !Number.isFinite(v) ||
      (opts.int && !Number.isInteger(v)) ||
      (opts.min !== undefined && v < opts.min) ||
      (opts.max !== undefined && v > opts.max);
    if (bad) {
      const kind = opts.int ? 'a whole number' : 'a number';
      const range = [opts.min !== undefined ? `≥ ${opts.min}` : '', opts.max !== undefined ? `≤ ${opts.max}` : ''].filter(Boolean).join(' and ');
      throw new SubspaceError('BAD_ARGUMENT', `--${name} must be ${kind}${range ? ' ' + range : ''} (got '${value}')`, name);
    }
    return v;
  };
}
