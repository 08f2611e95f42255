import { createHash, randomBytes } from 'node:crypto'
import type { Mode } from './uploads/ports.js'

/** Every scope a token can carry. */
export const SCOPES = [
  'media:read',
  'media:write',
  'logs:read',
  'logs:write',
  'cases:read',
  'cases:write',
  'apps:read',
  'apps:write',
  'usage:read',
  'members:read',
  'members:write',
  'billing:read',
  'tokens:write',
] as const

export type Scope = (typeof SCOPES)[number]

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value)
}

const TOKEN_PATTERN = /^so_(live|test)_([0-9A-Za-z]{32})$/
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** Generates a secret: `so_<mode>_` and 32 base62 characters (about 190 random bits). */
export function generateToken(mode: Mode): string {
  const bytes = randomBytes(64)
  let body = ''
  for (const byte of bytes) {
    // 248 is the largest multiple of 62 below 256; skipping larger bytes keeps every character equally likely.
    if (byte < 248) {
      body += BASE62[byte % 62]
    }
    if (body.length === 32) {
      break
    }
  }
  if (body.length < 32) {
    return generateToken(mode)
  }

  return `so_${mode}_${body}`
}

/** Splits a token into its mode, or returns undefined when it is not a token of ours. */
export function parseToken(token: string): { mode: Mode } | undefined {
  const match = TOKEN_PATTERN.exec(token)

  return match ? { mode: match[1] as Mode } : undefined
}

/** Hashes a token for storage. Tokens are long and random, so a plain SHA-256 suffices. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** Returns the part of a token that is safe to show again: mode prefix and 4 characters. */
export function tokenPrefix(token: string): string {
  return token.slice(0, 'so_live_'.length + 4)
}
