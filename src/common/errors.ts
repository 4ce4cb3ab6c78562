/**
 * The one error vocabulary of the API (docs/api.md, "Errors"). Services throw
 * AppError with one of these codes; src/graphql/error-mapping.ts turns every
 * error into a GraphQL error carrying `extensions.code`, in one place.
 */
export enum ErrorCode {
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  CONFLICT = 'CONFLICT',
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  TOO_MANY_REQUESTS = 'TOO_MANY_REQUESTS',
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
  /** `login` with the right password for an account with a second factor. */
  MFA_REQUIRED = 'MFA_REQUIRED',
}

export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * What an error may carry besides its code and message; each becomes an
 * `extensions` member of the GraphQL error (graphql/error-mapping.ts).
 */
export interface ErrorDetails {
  /** BAD_USER_INPUT: every field at fault (`extensions.fields`). */
  fields?: FieldProblem[];
  /** TOO_MANY_REQUESTS: seconds until the same call could succeed (`extensions.retryAfter`). */
  retryAfterSeconds?: number;
  /** TOO_MANY_REQUESTS: which limit was hit (`extensions.limit`), e.g. `ip`, `account`. */
  limit?: string;
  /** A machine-readable reason within the code (`extensions.reason`), e.g. `TOKEN_EXPIRED`. */
  reason?: string;
  /** MFA_REQUIRED: the token for verifyMfa (`extensions.mfaToken`). */
  mfaToken?: string;
}

/**
 * Runs `make` with no stack frames captured: for errors that are answers to
 * the caller (a refusal, a wrong input), not faults. Capturing and later
 * formatting a stack for each of them is most of what refusing a document of
 * 30 aliased calls costs (bench/profile.mjs changePassword), and nobody reads
 * those stacks.
 */
export function withoutStack<T>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** A coded error: what the caller is told, never a fault, so it carries no stack frames. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetails,
  ) {
    // withoutStack's rule, written out: super() cannot be called from a callback.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = 'AppError';
    // A plain string: reading it (graphql-js and Apollo copy the stack of each
    // error they wrap) formats nothing.
    this.stack = `AppError: ${message}`;
  }

  static badInput(fields: FieldProblem[]): AppError {
    const msg = fields.map((f) => `${f.field}: ${f.message}`).join('; ');
    return new AppError(ErrorCode.BAD_USER_INPUT, `Invalid input. ${msg}`, { fields });
  }

  static unauthenticated(message = 'Not authenticated', reason?: string): AppError {
    return new AppError(ErrorCode.UNAUTHENTICATED, message, reason ? { reason } : undefined);
  }

  static forbidden(message = 'Forbidden', reason?: string): AppError {
    return new AppError(ErrorCode.FORBIDDEN, message, reason ? { reason } : undefined);
  }

  static conflict(message: string): AppError {
    return new AppError(ErrorCode.CONFLICT, message);
  }

  /** `limit` names the limit that was hit; the message says it too. */
  static tooManyRequests(retryAfterSeconds?: number, limit?: string, message?: string): AppError {
    return new AppError(
      ErrorCode.TOO_MANY_REQUESTS,
      message ?? 'Too many requests, try again later',
      { retryAfterSeconds, limit },
    );
  }

  static mfaRequired(mfaToken: string): AppError {
    return new AppError(
      ErrorCode.MFA_REQUIRED,
      'A second factor is required: call verifyMfa with this mfaToken and a code',
      { mfaToken },
    );
  }
}

/** The message for a wrong email OR a wrong password: the same for both. */
export const INVALID_CREDENTIALS = 'Invalid email or password';
