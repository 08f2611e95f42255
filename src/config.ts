import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { z } from 'zod'
import { DEFAULT_TIER, type Tiers, createDefaultTiers, createTiers } from './uploads/tiers.js'

const GIB = 1024 ** 3
const MIB = 1024 ** 2

const booleanString = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1')

/** A decimal integer: no spaces, signs, exponents or hex, which z.coerce would let through. */
const integer = (minimum: number) =>
  z
    .string()
    .regex(/^\d+$/, 'expected a decimal integer')
    .transform((value) => Number.parseInt(value, 10))
    .pipe(z.number().int().min(minimum))

/** Every environment variable the gateway reads, with its type and default. */
export const ENV_SCHEMA = z.object({
  PORT: integer(0).pipe(z.number().max(65535)).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z.string().url().optional(),
  PUBLIC_MEDIA_URL: z.string().url().optional(),
  S3_ENDPOINT: z.string().url().optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_BUCKET: z.string().min(1).optional(),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: booleanString.default(false),
  S3_PART_SIZE_BYTES: integer(5 * MIB).default(8 * MIB),
  TUS_EXPIRATION_MS: integer(1000).default(24 * 60 * 60 * 1000),
  CLEANUP_INTERVAL_MS: integer(0).default(15 * 60 * 1000),
  RECONCILE_INTERVAL_MS: integer(0).default(60 * 60 * 1000),
  RECONCILE_MIN_AGE_MS: integer(0).default(6 * 60 * 60 * 1000),
  SHUTDOWN_GRACE_MS: integer(0).default(10_000),
  TUS_LOCK_TIMEOUT_MS: integer(100).default(30_000),
  TUS_LOCK_CONNECTIONS: integer(1).default(32),
  QUOTA_STORAGE_BYTES: integer(0).default(10 * GIB),
  QUOTA_UPLOAD_BYTES_PER_MONTH: integer(0).default(100 * GIB),
  TIERS_FILE: z.string().min(1).optional(),
  MAX_FILE_BYTES: integer(1).optional(),
  SIGNED_URL_TTL_SECONDS: integer(1).pipe(z.number().max(7 * 24 * 60 * 60)).default(3600),
  SIGNING_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  TRUST_PROXY: booleanString.default(false),
  CORS_ALLOWED_ORIGINS: z.string().min(1).default('*'),
  REQUEST_ID_HEADER: z.string().min(1).default('x-request-id'),
})

type Env = z.infer<typeof ENV_SCHEMA>

export interface S3Config {
  endpoint: string
  region: string
  bucket: string
  accessKeyId: string
  secretAccessKey: string
  forcePathStyle: boolean
  partSizeBytes: number
}

export interface Config {
  port: number
  host: string
  logLevel: Env['LOG_LEVEL']
  dataDir: string
  /** Postgres when set; otherwise PGlite in `dataDir`. */
  databaseUrl: string | null
  /** S3 when set; otherwise objects live under `dataDir`. */
  s3: S3Config | null
  /** Base URL that file URLs are built from: `publicMediaUrl + '/' + key`. */
  publicMediaUrl: string
  /**
   * True when PUBLIC_MEDIA_URL is unset on the embedded default: file URLs then
   * use the origin of each request (`<origin>/files`), and `publicMediaUrl` is unused.
   */
  isPublicMediaUrlFromRequest: boolean
  tusExpirationMs: number
  cleanupIntervalMs: number
  /** How often `serve` reports leftovers; 0 turns it off. */
  reconcileIntervalMs: number
  /** Leftovers younger than this are taken for uploads in progress. */
  reconcileMinAgeMs: number
  /** How long requests in flight may run after SIGTERM before their connections are closed. */
  shutdownGraceMs: number
  /** Time a tus request waits for its upload's lock before it fails. */
  tusLockTimeoutMs: number
  /** Postgres connections that may hold tus locks at once, per instance. */
  tusLockConnections: number
  quotaStorageBytes: number
  quotaUploadBytesPerMonth: number
  /** Quota tiers by name, from TIERS_FILE or built from the QUOTA_* defaults. */
  tiers: Tiers
  /** A cap on every category's size limit, in bytes; null keeps the category limits. */
  maxFileBytes: number | null
  /** Lifetime of a signed URL for a private file. */
  signedUrlTtlSeconds: number
  /** Key for URLs the gateway signs itself; null means one kept in the data folder. */
  signingSecret: string | null
  trustProxy: boolean
  /** Origins that browsers may call from: any, or an exact list. */
  corsAllowedOrigins: '*' | readonly string[]
  requestIdHeader: string
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

const S3_REQUIRED = ['S3_ENDPOINT', 'S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'] as const

function readS3(env: Env): S3Config | null {
  const present = S3_REQUIRED.filter((name) => env[name] !== undefined)
  if (present.length === 0) {
    return null
  }
  if (present.length < S3_REQUIRED.length) {
    const missing = S3_REQUIRED.filter((name) => env[name] === undefined)
    throw new ConfigError(`${missing.join(', ')} must be set when ${present.join(', ')} is set.`)
  }

  return {
    endpoint: env.S3_ENDPOINT as string,
    region: env.S3_REGION,
    bucket: env.S3_BUCKET as string,
    accessKeyId: env.S3_ACCESS_KEY_ID as string,
    secretAccessKey: env.S3_SECRET_ACCESS_KEY as string,
    forcePathStyle: env.S3_FORCE_PATH_STYLE,
    partSizeBytes: env.S3_PART_SIZE_BYTES,
  }
}

const byteCount = z.number().int().min(0)
const TIERS_FILE_SCHEMA = z
  .record(z.string().regex(/^[a-z0-9_-]{1,40}$/), z.strictObject({ storage_bytes: byteCount, upload_bytes: byteCount }))
  .refine((tiers) => DEFAULT_TIER in tiers, `must define the "${DEFAULT_TIER}" tier`)

/** Reads a JSON file of tiers: `{"default": {"storage_bytes": N, "upload_bytes": N}, ...}`. */
function readTiersFile(path: string): Tiers {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new ConfigError(`TIERS_FILE: cannot read ${path} as JSON: ${(error as Error).message}`)
  }

  const result = TIERS_FILE_SCHEMA.safeParse(parsed)
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`)
    throw new ConfigError(`TIERS_FILE ${path} is invalid:\n  ${problems.join('\n  ')}`)
  }

  return createTiers(result.data)
}

/** Parses `*` or a comma-separated list of origins such as `https://app.example.com`. */
function parseOrigins(value: string): '*' | readonly string[] {
  if (value.trim() === '*') {
    return '*'
  }

  const origins = value.split(',').map((origin) => origin.trim()).filter(Boolean)
  for (const origin of origins) {
    let parsed: URL
    try {
      parsed = new URL(origin)
    } catch {
      throw new ConfigError(`CORS_ALLOWED_ORIGINS: "${origin}" is not an origin such as https://app.example.com.`)
    }
    if (parsed.origin !== origin) {
      throw new ConfigError(`CORS_ALLOWED_ORIGINS: "${origin}" is not an origin; use "${parsed.origin}".`)
    }
  }

  return Object.freeze(origins)
}

function defaultPublicMediaUrl(env: Env, s3: S3Config | null): string {
  if (s3) {
    return `${s3.endpoint.replace(/\/+$/, '')}/${s3.bucket}`
  }
  const isAnyAddress = env.HOST === '0.0.0.0' || env.HOST === '::'
  const host = isAnyAddress ? 'localhost' : env.HOST.includes(':') ? `[${env.HOST}]` : env.HOST

  return `http://${host}:${env.PORT}/files`
}

/**
 * Validates the environment and returns a frozen configuration. Throws a
 * ConfigError that names each invalid variable. Empty values count as unset.
 */
export function loadConfig(overrides: Record<string, string | undefined> = {}): Readonly<Config> {
  const source: Record<string, string | undefined> = { ...process.env, ...overrides }
  const relevant: Record<string, string> = {}
  for (const name of Object.keys(ENV_SCHEMA.shape)) {
    const value = source[name]
    if (value !== undefined && value !== '') {
      relevant[name] = value
    }
  }

  const parsed = ENV_SCHEMA.safeParse(relevant)
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.')}: ${issue.message} (got "${relevant[String(issue.path[0])] ?? ''}")`,
    )
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`)
  }

  const env = parsed.data
  const s3 = readS3(env)

  return Object.freeze({
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    dataDir: resolve(env.DATA_DIR),
    databaseUrl: env.DATABASE_URL ?? null,
    s3,
    publicMediaUrl: (env.PUBLIC_MEDIA_URL ?? defaultPublicMediaUrl(env, s3)).replace(/\/+$/, ''),
    isPublicMediaUrlFromRequest: env.PUBLIC_MEDIA_URL === undefined && s3 === null,
    tusExpirationMs: env.TUS_EXPIRATION_MS,
    cleanupIntervalMs: env.CLEANUP_INTERVAL_MS,
    reconcileIntervalMs: env.RECONCILE_INTERVAL_MS,
    reconcileMinAgeMs: env.RECONCILE_MIN_AGE_MS,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    tusLockTimeoutMs: env.TUS_LOCK_TIMEOUT_MS,
    tusLockConnections: env.TUS_LOCK_CONNECTIONS,
    quotaStorageBytes: env.QUOTA_STORAGE_BYTES,
    quotaUploadBytesPerMonth: env.QUOTA_UPLOAD_BYTES_PER_MONTH,
    tiers: env.TIERS_FILE
      ? readTiersFile(env.TIERS_FILE)
      : createDefaultTiers(env.QUOTA_STORAGE_BYTES, env.QUOTA_UPLOAD_BYTES_PER_MONTH),
    maxFileBytes: env.MAX_FILE_BYTES ?? null,
    signedUrlTtlSeconds: env.SIGNED_URL_TTL_SECONDS,
    signingSecret: env.SIGNING_SECRET ?? null,
    trustProxy: env.TRUST_PROXY,
    corsAllowedOrigins: parseOrigins(env.CORS_ALLOWED_ORIGINS),
    requestIdHeader: env.REQUEST_ID_HEADER.toLowerCase(),
  })
}
