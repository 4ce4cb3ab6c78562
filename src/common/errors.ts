/**
 * The one error vocabulary of the API (CONTRACT.md, "Errors"). Services throw
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
}

export interface FieldProblem {
  field: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: { fields?: FieldProblem[]; retryAfterSeconds?: number },
  ) {
    super(message);
    this.name = 'AppError';
  }

  static badInput(fields: FieldProblem[]): AppError {
    const msg = fields.map((f) => `${f.field}: ${f.message}`).join('; ');
    return new AppError(ErrorCode.BAD_USER_INPUT, `Invalid input. ${msg}`, { fields });
  }

  static unauthenticated(message = 'Not authenticated'): AppError {
    return new AppError(ErrorCode.UNAUTHENTICATED, message);
  }

  static forbidden(message = 'Forbidden'): AppError {
    return new AppError(ErrorCode.FORBIDDEN, message);
  }

  static tooManyRequests(retryAfterSeconds?: number): AppError {
    return new AppError(ErrorCode.TOO_MANY_REQUESTS, 'Too many requests, try again later', {
      retryAfterSeconds,
    });
  }
}

/** The message for a wrong email OR a wrong password: the same for both. */
export const INVALID_CREDENTIALS = 'Invalid email or password';
