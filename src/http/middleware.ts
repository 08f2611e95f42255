import type { Context, Next } from 'koa'
import { ulid } from 'ulid'
import { AppError, isAppError, isBackendFailure, storageError } from '../errors.js'
import type { Logger } from '../logger.js'
import { isAwaitingContinue } from './node-server.js'

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * Query parameters that grant access: the HMAC of the gateway's own signed
 * URLs and the credentials of S3 presigned URLs (SigV4, and SigV2's Signature).
 */
const SECRET_QUERY_PARAMETERS = new Set([
  'signature',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'awsaccesskeyid',
])

/** Returns a query string with the values of signature parameters replaced by `[redacted]`. */
export function redactQuery(querystring: string): string | undefined {
  if (!querystring) {
    return undefined
  }

  return querystring
    .split('&')
    .map((pair) => {
      const name = pair.split('=')[0]
      let decoded = name
      try {
        decoded = decodeURIComponent(name)
      } catch {
        // A malformed escape is compared as written.
      }

      return SECRET_QUERY_PARAMETERS.has(decoded.toLowerCase()) ? `${name}=[redacted]` : pair
    })
    .join('&')
}

/** Takes the caller's request id when it is safe to echo, otherwise makes one. */
export function requestId(header: string) {
  return async (ctx: Context, next: Next) => {
    const incoming = ctx.get(header)
    ctx.state.reqId = SAFE_REQUEST_ID.test(incoming) ? incoming : ulid()
    ctx.set('X-Request-Id', ctx.state.reqId)
    await next()
  }
}

/**
 * Writes one log line per request when it ends: info below 400, warn for 4xx,
 * error for 5xx. A request whose client went away first is logged as aborted.
 * The error a request failed with is logged here, once, with its cause.
 */
export function requestLog(logger: Logger) {
  return async (ctx: Context, next: Next) => {
    const startedAt = process.hrtime.bigint()
    // Requests on one keep-alive socket run one after another, so the difference is this response's.
    const socket = ctx.req.socket
    const bytesWrittenBefore = socket.bytesWritten
    const write = () => {
      const durationMs = Number(process.hrtime.bigint() - startedAt) / 1e6
      const status = ctx.res.statusCode
      const isAborted = !ctx.res.writableFinished
      const error = ctx.state.error as AppError | undefined
      const line = {
        type: 'request',
        reqId: ctx.state.reqId,
        method: ctx.method,
        path: ctx.path,
        query: redactQuery(ctx.querystring),
        route: ctx.state.route ?? ctx._matchedRoute,
        // A request whose client left first has no real status, only Koa's default 404.
        status: isAborted ? undefined : status,
        aborted: isAborted || undefined,
        durationMs: Math.round(durationMs * 10) / 10,
        // File bytes the request delivered, where a route counted them.
        bytesIn: ctx.state.bytesIn,
        // Bytes sent to the client, status line and headers included.
        bytesOut: socket.bytesWritten - bytesWrittenBefore,
        projectId: ctx.state.projectId,
        uploadId: ctx.state.uploadId,
        fileId: ctx.state.fileId,
        errorCode: error?.code,
        // A client error is described by its message; a server error needs its cause and stack.
        err: error && error.isServerError ? (error.cause ?? error) : undefined,
        errorMessage: error && !error.isServerError ? error.message : undefined,
      }
      if (isAborted) {
        logger.warn(line, 'request aborted')
      } else if (status >= 500) {
        logger.error(line, 'request failed')
      } else if (status >= 400) {
        logger.warn(line, 'request rejected')
      } else {
        logger.info(line, 'request completed')
      }
    }
    ctx.res.once('close', write)
    await next()
  }
}

/** Turns any thrown error into the JSON error envelope, hiding details of 5xx. */
export function errorEnvelope() {
  return async (ctx: Context, next: Next) => {
    try {
      await next()
    } catch (thrown) {
      const error = toAppError(thrown)
      ctx.state.error = error
      ctx.status = error.status
      ctx.set(error.headers)
      ctx.body = error.toEnvelope()
    }
  }
}

/**
 * Maps anything thrown to an AppError: a failing database or object store is
 * a retryable 503, and any other unknown error is a bug, so 500.
 */
export function toAppError(thrown: unknown): AppError {
  if (isAppError(thrown)) {
    return thrown
  }
  if (isBackendFailure(thrown)) {
    return storageError('The database or object storage failed. Retry the request later.', thrown)
  }

  return new AppError('internal', 'Internal server error.', { cause: thrown })
}

/** Headers rejected when repeated, because Node keeps only the first and a proxy in front may have read another. */
const SINGLE_HEADERS = ['host', 'content-type']

/** Counts the lines of one header in the request as received. */
export function countHeaderLines(rawHeaders: readonly string[], name: string): number {
  let count = 0
  for (let index = 0; index < rawHeaders.length; index += 2) {
    if (rawHeaders[index].toLowerCase() === name) {
      count += 1
    }
  }

  return count
}

/** Rejects an HTTP/1.1 request without Host, and a request that repeats Host or Content-Type. */
export function rejectMalformedHeaders() {
  return async (ctx: Context, next: Next) => {
    if (ctx.req.httpVersion === '1.1' && ctx.req.headers.host === undefined) {
      throw new AppError('bad_request', 'The request has no Host header.')
    }
    for (const name of SINGLE_HEADERS) {
      if (countHeaderLines(ctx.req.rawHeaders, name) > 1) {
        throw new AppError('bad_request', `The request has more than one ${name} header; send it once.`)
      }
    }

    await next()
  }
}

/** Bytes of an unread request body read and dropped after an early response, at most. */
export const DISCARD_MAX_BYTES = 64 * 1024 * 1024
/** Time spent reading and dropping an unread request body after an early response, at most. */
export const DISCARD_MAX_MS = 30_000

/**
 * Sends `Connection: close` on the response to a request whose body was not
 * read to its end (an early error, such as a 413), then reads and drops the
 * rest of the body before closing. A client that is still sending gets to finish and read
 * the response instead of a connection reset. The body is read for at most
 * DISCARD_MAX_BYTES and DISCARD_MAX_MS, then the connection is closed anyway.
 * A request still waiting for `100 Continue` never sent its body, so it is
 * only closed.
 */
export function discardUnreadBody(logger: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next()
    } finally {
      const req = ctx.req
      if (!req.complete && !req.destroyed) {
        ctx.set('Connection', 'close')
        if (!isAwaitingContinue(req)) {
          discardBody(ctx, logger)
        }
      }
    }
  }
}

function discardBody(ctx: Context, logger: Logger) {
  const { req, res } = ctx
  const socket = req.socket
  let discardedBytes = 0
  const close = (reason: string | null) => {
    clearTimeout(timer)
    if (reason) {
      logger.warn(
        { type: 'request', reqId: ctx.state.reqId, discardedBytes, reason },
        'closed a connection still sending an unread body',
      )
    }
    if (res.writableFinished) {
      socket.destroy()
    } else {
      res.once('close', () => socket.destroy())
    }
  }
  const timer = setTimeout(() => close('time limit'), DISCARD_MAX_MS)

  // The body's earlier reader, such as the multipart parser, gets no more of it.
  req.unpipe()
  req.removeAllListeners('data')
  req.on('data', (chunk: Buffer) => {
    discardedBytes += chunk.length
    if (discardedBytes > DISCARD_MAX_BYTES) {
      req.pause()
      close('byte limit')
    }
  })
  req.once('end', () => close(null))
  socket.once('close', () => clearTimeout(timer))
  // Node ends a `Connection: close` response with destroySoon(), which would close the socket
  // while the client is still sending and reset the connection before it reads the response.
  // NOTE: this relies on Node 20's server calling socket.destroySoon() once such a response ends.
  socket.destroySoon = () => socket.end()
  req.resume()
}
