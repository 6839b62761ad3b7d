import { ERROR_CODES, type ErrorCode } from './codes';

/** One field-level problem, located by a JSON Pointer (RFC 6901) into the request. */
export interface FieldError {
  pointer: string;
  detail: string;
  code?: string;
}

export interface AppErrorOptions {
  cause?: unknown;
  details?: Record<string, unknown>;
  errors?: FieldError[];
  /** Overrides the table's status (e.g. a 422 policy refusal that reuses a code). */
  status?: number;
}

/**
 * The one error base. `code` is stable; `message` becomes the problem's `detail` and must not
 * leak secrets or help an attacker (crypto failures stay generic).
 */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details?: Record<string, unknown>;
  readonly errors?: FieldError[];
  /** Status for a code missing from the table: each subclass knows its family. */
  static defaultStatus = 500;

  constructor(code: ErrorCode | string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    const entry = (ERROR_CODES as Record<string, { status: number }>)[code];
    this.status = options.status ?? entry?.status ?? (new.target as typeof AppError).defaultStatus;
    this.details = options.details;
    this.errors = options.errors;
  }
}

export class ValidationError extends AppError {
  static override defaultStatus = 400;
  constructor(message: string, errors: FieldError[] = [], code: string = 'VALIDATION_FAILED', options: AppErrorOptions = {}) {
    super(code, message, { ...options, errors });
  }
}

export class ParseError extends AppError {
  static override defaultStatus = 400;
  constructor(message: string, code: string = 'PARSE_ERROR', options: AppErrorOptions = {}) {
    super(code, message, options);
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, options: AppErrorOptions = {}) {
    super('NOT_FOUND', `${what} was not found`, options);
  }
}

export class ConflictError extends AppError {
  static override defaultStatus = 409;
  constructor(message: string, code: string = 'CONFLICT', options: AppErrorOptions = {}) {
    super(code, message, options);
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'A valid API key is required') {
    super('UNAUTHENTICATED', message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string, code: 'FORBIDDEN_ROLE' | 'FORBIDDEN_AGENCY' = 'FORBIDDEN_ROLE') {
    super(code, message);
  }
}

export class UpstreamError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super('UPSTREAM_FAILED', message, options);
  }
}

export class StoreUnavailableError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super('STORE_UNAVAILABLE', message, options);
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
