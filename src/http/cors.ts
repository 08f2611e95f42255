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
 * not in cookies, so credentials are never allowed. Preflights outside the tus
 * path are answered here; tus answers its own with the same origins.
 */
export function cors(origins: CorsOrigins) {
  return async (ctx: Context, next: Next) => {
    const origin = ctx.get('origin')
    const isAllowed = origin !== '' && (origins === '*' || origins.includes(origin))
    if (isAllowed) {
      ctx.set('Access-Control-Allow-Origin', origins === '*' ? '*' : origin)
      ctx.set('Access-Control-Expose-Headers', EXPOSED_HEADERS.join(', '))
      if (origins !== '*') {
        ctx.vary('Origin')
      }
    }

    const isPreflight = ctx.method === 'OPTIONS' && ctx.get('access-control-request-method') !== ''
    if (isPreflight && !ctx.path.startsWith('/media/uploads')) {
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
