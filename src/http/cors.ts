import type { Context, Next } from 'koa'

/** Headers a browser may send: bearer auth, tus headers and our request id. */
const ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'Tus-Resumable',
  'Upload-Length',
  'Upload-Metadata',
  'Upload-Offset',
  'Upload-Defer-Length',
  'Upload-Concat',
  'X-HTTP-Method-Override',
  'X-Requested-With',
  'X-Request-Id',
]

/** Response headers a page may read: tus's, Location, and the request id of an error to report. */
export const EXPOSED_HEADERS = [
  'Location',
  'Tus-Resumable',
  'Tus-Version',
  'Tus-Extension',
  'Tus-Max-Size',
  'Upload-Offset',
  'Upload-Length',
  'Upload-Expires',
  'Upload-Metadata',
  'Upload-Defer-Length',
  'X-Request-Id',
]

const ALLOWED_METHODS = 'GET, POST, HEAD, PATCH, DELETE, OPTIONS'

/** Allowed origins: any (`*`), or an exact list. */
export type CorsOrigins = '*' | readonly string[]

/**
 * CORS for every route, errors included, so a page on another origin can read
 * a `quota_exceeded` body as well as a file object. Tokens travel in a header,
 * not in cookies, so credentials are never allowed. Every preflight is
 * handled here, the tus path's included, because @tus/server sends the first
 * allowed origin to a disallowed one instead of no CORS headers at all.
 */
export function cors(origins: CorsOrigins) {
  return async (ctx: Context, next: Next) => {
    const origin = ctx.get('origin')
    const isAllowed = origin !== '' && (origins === '*' || origins.includes(origin))
    // With a list of origins the CORS headers depend on Origin, so caches must key responses by it.
    if (origins !== '*') {
      ctx.vary('Origin')
    }
    if (isAllowed) {
      ctx.set('Access-Control-Allow-Origin', origins === '*' ? '*' : origin)
      ctx.set('Access-Control-Expose-Headers', EXPOSED_HEADERS.join(', '))
    }

    const isPreflight = ctx.method === 'OPTIONS' && ctx.get('access-control-request-method') !== ''
    if (isPreflight) {
      if (isAllowed) {
        ctx.set('Access-Control-Allow-Methods', ALLOWED_METHODS)
        ctx.set('Access-Control-Allow-Headers', ALLOWED_HEADERS.join(', '))
        ctx.set('Access-Control-Max-Age', '86400')
      }
      ctx.status = 204

      return
    }

    await next()
  }
}
