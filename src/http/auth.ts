import type { Context, Next } from 'koa'
import type { TokenRepository } from '../db/token-repo.js'
import { AppError } from '../errors.js'
import { parseToken } from '../tokens.js'
import type { Principal } from '../uploads/ports.js'

/** Tokens are 40 characters; anything far longer is rejected before it is hashed. */
const MAX_AUTHORIZATION_LENGTH = 512

function unauthorized(message: string, isInvalidToken: boolean): AppError {
  const challenge = isInvalidToken ? 'Bearer error="invalid_token"' : 'Bearer'

  return new AppError('unauthorized', message, { headers: { 'WWW-Authenticate': challenge } })
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
    const principal = await authenticateRequest(tokens, ctx.get('authorization') || undefined)
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
