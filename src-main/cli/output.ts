import { errorMessage, isSubspaceError } from '../engine/errors.js';

/** Writes one JSON document to stdout: the stable machine-readable output of a command. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Progress and notes go to stderr so `--json` stdout stays parseable. */
export function note(text: string): void {
  process.stderr.write(text + '\n');
}

/** One line, non-zero exit: 2 for bad input the user can fix, 1 for anything else. */
export function fail(e: unknown): never {
  const msg = errorMessage(e).split('\n')[0];
  process.stderr.write(`error: ${msg}\n`);
  if (process.env.SUBSPACE_DEBUG && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
  process.exit(isSubspaceError(e) ? 2 : 1);
}

export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n');
}
