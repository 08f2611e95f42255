import type { IncomingMessage } from 'node:http'
import type { Context, Next } from 'koa'
import type { TokenRepository } from '../db/token-repo.js'
import { AppError } from '../errors.js'
import { parseToken } from '../tokens.js'
import type { Principal } from '../uploads/ports.js'
import { countHeaderLines } from './middleware.js'

/** Tokens are 40 characters; anything far longer is rejected before it is hashed. */
const MAX_AUTHORIZATION_LENGTH = 512

function unauthorized(message: string, isInvalidToken: boolean): AppError {
  const challenge = isInvalidToken ? 'Bearer error="invalid_token"' : 'Bearer'

  return new AppError('unauthorized', message, { headers: { 'WWW-Authenticate': challenge } })
}

/**
 * Returns the request's one Authorization header. Node keeps only the first
 * of several, while a proxy in front may have checked another, so a request
 * with more than one is rejected.
 */
export function readAuthorization(req: IncomingMessage): string | undefined {
  if (countHeaderLines(req.rawHeaders, 'authorization') > 1) {
    throw unauthorized('The request has more than one Authorization header; send one.', true)
  }

  return req.headers.authorization || undefined
}

/** Resolves the bearer token of a request to its principal, or throws 401. */
export async function authenticateRequest(
  tokens: TokenRepository,
  authorization: string | undefined,
): Promise<Principal> {
  if (!authorization) {
    throw unauthorized('Missing bearer token. Send "Authorization: Bearer <token>".', false)
  }
  if (authorization.length > MAX_AUTHORIZATION_LENGTH) {
    throw unauthorized('Malformed Authorization header.', true)
  }

  const match = /^Bearer +(\S+) *$/i.exec(authorization)
  if (!match) {
    throw unauthorized('Malformed Authorization header: use the Bearer scheme.', true)
  }
  if (!parseToken(match[1])) {
    throw unauthorized('Malformed token: tokens start with so_live_ or so_test_.', true)
  }

  const principal = await tokens.authenticate(match[1])
  if (!principal) {
    throw unauthorized('Unknown or revoked token.', true)
  }

  return principal
}

/** Koa middleware: authenticates and requires one scope (403 with `required_scope` when missing). */
export function requireScope(tokens: TokenRepository, scope: string) {
  return async (ctx: Context, next: Next) => {
    const principal = await authenticateRequest(tokens, readAuthorization(ctx.req))
    ctx.state.principal = principal
    ctx.state.projectId = principal.projectId
    if (!principal.scopes.includes(scope)) {
      throw new AppError('forbidden', `This token lacks the ${scope} scope.`, {
        details: { required_scope: scope },
      })
    }

    await next()
  }
}
