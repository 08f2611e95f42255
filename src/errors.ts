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

/** Node's codes for a network peer that is down, unreachable, or went away. */
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])

/** Error names of the AWS SDK and knex for a request or connection that timed out. */
const TIMEOUT_ERROR_NAMES = new Set(['TimeoutError', 'KnexTimeoutError', 'RequestTimeout'])

/**
 * Checks whether an error means a backend (the database or object storage)
 * is unreachable or failing, rather than a bug. Such errors are network
 * errors, timeouts, Postgres connection errors (SQLSTATE class 08, and 57P01
 * to 57P03 for a server shutting down) and 5xx responses from S3. The check
 * follows `cause` chains.
 */
export function isBackendFailure(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 5) {
    return false
  }

  const candidate = error as {
    code?: unknown
    name?: unknown
    message?: unknown
    cause?: unknown
    $metadata?: { httpStatusCode?: number }
  }
  const code = typeof candidate.code === 'string' ? candidate.code : ''
  if (NETWORK_ERROR_CODES.has(code) || code.startsWith('08') || /^57P0[123]$/.test(code)) {
    return true
  }
  if (typeof candidate.name === 'string' && TIMEOUT_ERROR_NAMES.has(candidate.name)) {
    return true
  }
  if ((candidate.$metadata?.httpStatusCode ?? 0) >= 500) {
    return true
  }
  // node-postgres reports a connection closed under a query with this message and no code.
  if (typeof candidate.message === 'string' && /Connection terminated|socket hang up/i.test(candidate.message)) {
    return true
  }

  return isBackendFailure(candidate.cause, depth + 1)
}
