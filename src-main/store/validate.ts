import { z } from 'zod';
import { SubspaceError } from '../engine/errors.js';

/**
 * Checks at the store boundary. Everything that reaches SQL has been through
 * one of these, and a failure names the field (`createRun: kind: ...`).
 */

/** Ids double as folder names (`runs/<runId>/`), so they must be safe path segments everywhere. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export const RUN_KINDS = ['reft', 'lofit', 'iti', 'patch', 'das', 'eval', 'transfer', 'baseline', 'ablate'] as const;
export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export const TERMINAL_STATUSES = ['succeeded', 'failed', 'cancelled'] as const;

export const idSchema = z
  .string()
  .regex(ID_PATTERN, 'must be 1-128 characters of letters, digits, "_", "-" or "." and start with a letter or digit');
export const nameSchema = z.string().trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters');
export const textSchema = z.string().max(100_000, 'must be at most 100,000 characters');
export const pathSchema = z.string().min(1, 'must not be empty').max(4096, 'must be at most 4096 characters');
export const timestampSchema = z.number().int('must be an integer (ms since the epoch)').nonnegative().max(Number.MAX_SAFE_INTEGER);
export const countSchema = z.number().int('must be an integer').nonnegative('must be >= 0').max(Number.MAX_SAFE_INTEGER);
export const hashSchema = z.string().trim().min(1, 'must not be empty').max(200);
export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');
export const runKindSchema = z.enum(RUN_KINDS);
export const runStatusSchema = z.enum(RUN_STATUSES);
/** A JSON object (the parsed form of a config). */
export const jsonObjectSchema = z.record(z.string(), z.unknown());

function issueField(i: z.core.$ZodIssue): string {
  const path = i.path.map(String);
  // An unknown key (a typo such as `projectID`) is named itself.
  if (i.code === 'unrecognized_keys' && i.keys.length > 0) path.push(i.keys.join(', '));
  return path.length ? path.join('.') : '(input)';
}

function describe(e: z.ZodError): { text: string; field: string } {
  const text = e.issues.map((i) => `${issueField(i)}: ${i.message}`).join('; ');
  return { text, field: e.issues.length ? issueField(e.issues[0]) : '(input)' };
}

/** Parse `value` with `schema`, or throw BAD_ARGUMENT naming the operation and field. */
export function check<S extends z.ZodType>(schema: S, value: unknown, op: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const { text, field } = describe(r.error);
  throw new SubspaceError('BAD_ARGUMENT', `${op}: ${text}`, field);
}

/** Check one field that is passed as its own argument (an id, a name). */
export function checkField<S extends z.ZodType>(schema: S, value: unknown, op: string, field: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const message = r.error.issues.map((i) => i.message).join('; ');
  throw new SubspaceError('BAD_ARGUMENT', `${op}: ${field}: ${message}`, field);
}

/** JSON text for a value, or BAD_ARGUMENT naming the field when it cannot be serialised. */
export function toJson(value: unknown, op: string, field: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw new SubspaceError('BAD_ARGUMENT', `${op}: ${field}: not JSON-serialisable (${(e as Error).message})`, field);
  }
  if (text === undefined) throw new SubspaceError('BAD_ARGUMENT', `${op}: ${field}: not JSON-serialisable`, field);
  return text;
}
