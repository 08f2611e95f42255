/**
 * The catalogue of errors a client can see. Each code maps to one HTTP status.
 * The message of a 4xx goes to the client. A 5xx gets a fixed safe message, and
 * its cause goes only to the log.
 */

export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  gone: 410,
  unsupported_version: 412,
  too_large: 413,
  unsupported_media_type: 415,
  expectation_failed: 417,
  quota_exceeded: 429,
  header_too_large: 431,
  internal: 500,
  storage_error: 503,
} as const

export type ErrorCode = keyof typeof ERROR_STATUS

const SAFE_MESSAGES: Partial<Record<ErrorCode, string>> = {
  internal: 'Internal server error.',
  storage_error: 'Object storage or the database is unavailable. Retry the request.',
}

export interface AppErrorOptions {
  /** Extra fields merged into the error envelope, such as `required_scope`. */
  details?: Record<string, unknown>
  /** Extra response headers, such as `WWW-Authenticate`. */
  headers?: Record<string, string>
  /** Status override for protocol statuses that share a code (tus 409, 412, 460). */
  status?: number
  cause?: unknown
}

export class AppError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly details: Record<string, unknown>
  readonly headers: Record<string, string>

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, { cause: options.cause })
    this.name = 'AppError'
    this.code = code
    this.status = options.status ?? ERROR_STATUS[code]
    this.details = options.details ?? {}
    this.headers = options.headers ?? {}
  }

  get isServerError(): boolean {
    return this.status >= 500
  }

  /** Builds the JSON body: `{"error": {"code", "message", ...details}}`. */
  toEnvelope(): { error: Record<string, unknown> } {
    const message = SAFE_MESSAGES[this.code] ?? this.message

    return { error: { code: this.code, message, ...this.details } }
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError
}

/** Wraps a failure of object storage or the database as a retryable 503. */
export function storageError(message: string, cause: unknown): AppError {
  return new AppError('storage_error', message, { cause })
}

/** Builds a 405 that lists the methods the path serves, in the envelope and in Allow. */
export function methodNotAllowed(method: string, path: string, allowed: readonly string[]): AppError {
  return new AppError('method_not_allowed', `${method} is not allowed on ${path}. Use ${allowed.join(', ')}.`, {
    headers: { Allow: allowed.join(', ') },
    details: { allowed_methods: allowed },
  })
}
