/**
 * Errors are values with a message a person can act on. Every failure the engine
 * can foresee (bad files, bad configs, bad arguments) is a SubspaceError with a
 * stable code, so the CLI, the API and the UI can show it without a stack trace.
 */
export type ErrorCode =
  | 'BAD_FILE'
  | 'BAD_CONFIG'
  | 'BAD_ARGUMENT'
  | 'NOT_FOUND'
  | 'UNSUPPORTED'
  | 'SHAPE_MISMATCH'
  | 'BACKEND'
  | 'INTERNAL';

export class SubspaceError extends Error {
  readonly code: ErrorCode;
  /** What the error is about: a file path, a tensor name, an argument name. */
  readonly subject?: string;

  constructor(code: ErrorCode, message: string, subject?: string) {
    super(message);
    this.name = 'SubspaceError';
    this.code = code;
    this.subject = subject;
  }
}

export function isSubspaceError(e: unknown): e is SubspaceError {
  return e instanceof SubspaceError;
}

/** A one-line message for any thrown value. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
