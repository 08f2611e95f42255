import type { Context, Next } from 'koa'
import { ulid } from 'ulid'
import { AppError, isAppError } from '../errors.js'
import type { Logger } from '../logger.js'

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

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
        route: ctx.state.route ?? ctx._matchedRoute,
        // A request whose client left first has no real status, only Koa's default 404.
        status: isAborted ? undefined : status,
        durationMs: Math.round(durationMs * 10) / 10,
        // File bytes the request delivered, where a route counted them.
        bytesIn: ctx.state.bytesIn,
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

/** Maps anything thrown to an AppError; an unknown error is a bug, so 500. */
export function toAppError(thrown: unknown): AppError {
  if (isAppError(thrown)) {
    return thrown
  }

  return new AppError('internal', 'Internal server error.', { cause: thrown })
}
