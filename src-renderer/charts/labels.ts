/** Text shown for cells, tokens and values, shared by every chart so labels read the same everywhere. */

/** Per-head cell name, as users write it in papers: layer 3, head 5 → "L3H5". */
export function headLabel(layer: number, head: number): string {
  return `L${layer}H${head}`;
}

/**
 * A token made visible: newlines and tabs become symbols, a token of spaces becomes "␣", and the
 * leading space of word tokens (" Mary") is dropped because SVG text would swallow it anyway.
 */
export function displayToken(token: string): string {
  const shown = token.replace(/\r\n|\n|\r/g, '↵').replace(/\t/g, '⇥');
  const trimmed = shown.trim();
  return trimmed === '' ? '␣'.repeat(Math.max(1, shown.length)) : trimmed;
}

/** Position label "tok (i)": the index keeps repeated tokens apart. */
export function positionLabel(token: string, index: number): string {
  return `${displayToken(token)} (${index})`;
}

export function positionLabels(tokens: readonly string[]): string[] {
  return tokens.map((t, i) => positionLabel(t, i));
}

/** Shortens long labels for axes; the full label stays in tooltips and exports. */
export function truncateLabel(label: string, maxChars = 24): string {
  return label.length <= maxChars ? label : `${label.slice(0, maxChars - 1)}…`;
}

/** Exact enough to read off a hover: six significant digits, no trailing zeros. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'no value';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '−∞';
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e6)) return value.toExponential(4).replace(/\.?0+e/, 'e');
  return String(Number(value.toPrecision(6)));
}

/** File-name stem from a chart title. */
export function slug(text: string): string {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return s === '' ? 'chart' : s.slice(0, 60);
}
