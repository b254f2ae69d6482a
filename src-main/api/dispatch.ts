/**
 * The one entry point both transports call: look the method up, validate the
 * request against the contract, run the handler, validate the response, and
 * turn any failure into `{ ok: false, error }`. Nothing a caller sends can make
 * it throw.
 */
import type { z } from 'zod';
import { errorMessage, isSubspaceError } from '../engine/errors.js';
import { methods, type ApiError, type ApiResult, type MethodName, type Methods, type ParsedRequest } from './contract.js';

/** A handler gets the parsed request (defaults filled in) and returns the response. */
export type Handler<M extends MethodName> = (req: ParsedRequest<M>) => Promise<z.input<Methods[M]['response']>> | z.input<Methods[M]['response']>;
/** Every method of the contract must have a handler: a missing one is a type error. */
export type Handlers = { [M in MethodName]: Handler<M> };

/** Thrown by handlers (or the dispatcher) for a failure with a code the UI understands. */
export class ApiFailure extends Error {
  readonly code: string;
  readonly field?: string;
  constructor(code: string, message: string, field?: string) {
    super(message);
    this.name = 'ApiFailure';
    this.code = code;
    this.field = field;
  }
}

function issueField(i: z.core.$ZodIssue): string {
  const path = i.path.map(String);
  if (i.code === 'unrecognized_keys' && i.keys.length > 0) path.push(i.keys.join(', '));
  return path.join('.');
}

/** The deepest issues of a union, so the message names the field that is wrong. */
function flatIssues(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const out: z.core.$ZodIssue[] = [];
  for (const i of issues) {
    if (i.code === 'invalid_union' && i.errors.length > 0) {
      const best = i.errors.reduce((a, b) => (b.length > 0 && (a.length === 0 || b.length < a.length) ? b : a), [] as z.core.$ZodIssue[]);
      out.push(...flatIssues(best.map((x) => ({ ...x, path: [...i.path, ...x.path] }))));
    } else out.push(i);
  }
  return out;
}

/** `method: field: problem; ...`, and the first bad field. */
export function describeIssues(method: string, error: z.ZodError): { message: string; field?: string } {
  const issues = flatIssues(error.issues);
  const parts = issues.slice(0, 5).map((i) => {
    const f = issueField(i);
    // zod says "expected string, received undefined" for a missing field; say it plainly.
    const missing = i.code === 'invalid_type' && /received undefined/.test(i.message);
    return `${f || '(request)'}: ${missing ? 'is required' : i.message}`;
  });
  const field = issues.length ? issueField(issues[0]) || undefined : undefined;
  return { message: `${method}: ${parts.join('; ')}`, field };
}

/** Any thrown value as the error that crosses the boundary. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiFailure) return { code: e.code, message: e.message, ...(e.field !== undefined && { field: e.field }) };
  if (isSubspaceError(e)) return { code: e.code, message: e.message, ...(e.subject !== undefined && { field: e.subject }) };
  if (e instanceof Error && e.name === 'CancelledError') return { code: 'CANCELLED', message: e.message || 'cancelled' };
  // A bug, not a bad request: keep the message, never the stack.
  return { code: 'INTERNAL', message: errorMessage(e) || 'an internal error' };
}

export function isMethodName(name: string): name is MethodName {
  return Object.prototype.hasOwnProperty.call(methods, name);
}

export interface Dispatcher {
  call(method: string, payload: unknown): Promise<ApiResult>;
}

export interface DispatcherOptions {
  /** Called with every failure that is not the caller's fault (INTERNAL), for the log. */
  onInternalError?: (method: string, error: ApiError, cause: unknown) => void;
}

export function createDispatcher(handlers: Handlers, opts: DispatcherOptions = {}): Dispatcher {
  return {
    async call(method, payload) {
      if (typeof method !== 'string' || !isMethodName(method)) {
        return { ok: false, error: { code: 'NOT_FOUND', message: `unknown API method ${JSON.stringify(method)}`, field: 'method' } };
      }
      const def = methods[method];
      const parsed = def.request.safeParse(payload ?? {});
      if (!parsed.success) {
        const { message, field } = describeIssues(method, parsed.error);
        return { ok: false, error: { code: 'BAD_ARGUMENT', message, ...(field !== undefined && { field }) } };
      }
      let out: unknown;
      try {
        out = await (handlers[method] as (req: unknown) => unknown)(parsed.data);
      } catch (e) {
        const error = toApiError(e);
        if (error.code === 'INTERNAL') opts.onInternalError?.(method, error, e);
        return { ok: false, error };
      }
      const checked = def.response.safeParse(out);
      if (!checked.success) {
        const { message } = describeIssues(`${method} response`, checked.error);
        const error = { code: 'INTERNAL', message: `the main process answered outside the contract (${message})` };
        opts.onInternalError?.(method, error, checked.error);
        return { ok: false, error };
      }
      return { ok: true, result: checked.data };
    },
  };
}
