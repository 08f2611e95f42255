import { resolve } from 'node:path'
import * as assert from 'uvu/assert'
import { suite } from 'uvu'
import { ConfigError, loadConfig } from '../../src/config.js'

/** Every variable loadConfig reads. Blanking them keeps the developer's environment out of the tests. */
const VARIABLES = [
  'PORT',
  'HOST',
  'LOG_LEVEL',
  'DATA_DIR',
  'DATABASE_URL',
  'PUBLIC_MEDIA_URL',
  'S3_ENDPOINT',
  'S3_REGION',
  'S3_BUCKET',
  'S3_ACCESS_KEY_ID',
  'S3_SECRET_ACCESS_KEY',
  'S3_FORCE_PATH_STYLE',
  'S3_PART_SIZE_BYTES',
  'TUS_EXPIRATION_MS',
  'CLEANUP_INTERVAL_MS',
  'QUOTA_STORAGE_BYTES',
  'TRUST_PROXY',
  'REQUEST_ID_HEADER',
]

const S3 = {
  S3_ENDPOINT: 'http://127.0.0.1:9000/',
  S3_BUCKET: 'media',
  S3_ACCESS_KEY_ID: 'test-access-key',
  S3_SECRET_ACCESS_KEY: 'test-secret-key',
}

function load(overrides: Record<string, string> = {}) {
  const blank = Object.fromEntries(VARIABLES.map((name) => [name, '']))

  return loadConfig({ ...blank, ...overrides })
}

/** Loads the configuration and returns the ConfigError it throws, failing the test when it throws none. */
function loadError(overrides: Record<string, string>, label = JSON.stringify(overrides)): ConfigError {
  let caught: unknown = null
  try {
    load(overrides)
  } catch (error) {
    caught = error
  }

  assert.instance(caught, ConfigError, `${label}: expected a ConfigError`)

  return caught as ConfigError
}

const configSuite = suite('loadConfig')

configSuite('applies defaults', () => {
  const config = load()

  assert.is(config.port, 8080)
  assert.is(config.host, '127.0.0.1')
  assert.is(config.logLevel, 'info')
  assert.is(config.dataDir, resolve('./data'))
  assert.is(config.databaseUrl, null)
  assert.is(config.s3, null)
  assert.is(config.publicMediaUrl, 'http://127.0.0.1:8080/files')
  assert.is(config.tusExpirationMs, 24 * 60 * 60 * 1000)
  assert.is(config.cleanupIntervalMs, 15 * 60 * 1000)
  assert.is(config.quotaStorageBytes, 10 * 1024 ** 3)
  assert.is(config.trustProxy, false)
  assert.is(config.requestIdHeader, 'x-request-id')
})

configSuite('returns frozen object', () => {
  assert.ok(Object.isFrozen(load()))
})

configSuite('reads given values', () => {
  const config = load({
    PORT: '9000',
    HOST: 'localhost',
    LOG_LEVEL: 'debug',
    DATA_DIR: '/var/lib/media-gateway',
    DATABASE_URL: 'postgres://gateway@127.0.0.1:5432/media',
    TUS_EXPIRATION_MS: '60000',
    CLEANUP_INTERVAL_MS: '0',
    QUOTA_STORAGE_BYTES: '1000',
    REQUEST_ID_HEADER: 'X-Correlation-ID',
  })

  assert.is(config.port, 9000)
  assert.is(config.host, 'localhost')
  assert.is(config.logLevel, 'debug')
  assert.is(config.dataDir, '/var/lib/media-gateway')
  assert.is(config.databaseUrl, 'postgres://gateway@127.0.0.1:5432/media')
  assert.is(config.publicMediaUrl, 'http://localhost:9000/files')
  assert.is(config.tusExpirationMs, 60000)
  assert.is(config.cleanupIntervalMs, 0)
  assert.is(config.quotaStorageBytes, 1000)
  assert.is(config.requestIdHeader, 'x-correlation-id')
})

configSuite('prefers overrides to environment', () => {
  const otherNames = VARIABLES.filter((name) => name !== 'LOG_LEVEL')
  const others = Object.fromEntries(otherNames.map((name) => [name, '']))
  const previous = process.env.LOG_LEVEL
  process.env.LOG_LEVEL = 'warn'
  try {
    assert.is(loadConfig(others).logLevel, 'warn')
    assert.is(loadConfig({ ...others, LOG_LEVEL: 'error' }).logLevel, 'error')
    assert.is(loadConfig({ ...others, LOG_LEVEL: undefined }).logLevel, 'info')
  } finally {
    if (previous === undefined) {
      delete process.env.LOG_LEVEL
    } else {
      process.env.LOG_LEVEL = previous
    }
  }
})

configSuite('names invalid PORT', () => {
  for (const port of ['abc', '70000', '-1', '80.5']) {
    const error = loadError({ PORT: port })

    assert.match(error.message, /PORT/, port)
    assert.ok(error.message.includes(`"${port}"`), `the message omits the value ${port}`)
    assert.is(error.name, 'ConfigError', port)
  }
})

configSuite('rejects whitespace-only PORT', () => {
  // Number(' ') is 0, which would make the server listen on a random port.
  const error = loadError({ PORT: ' ' }, 'PORT=" " was read as port 0')

  assert.match(error.message, /PORT/)
})

configSuite('names every invalid variable', () => {
  const error = loadError({ PORT: 'abc', LOG_LEVEL: 'loud', DATABASE_URL: 'not a url' })

  assert.match(error.message, /PORT/)
  assert.match(error.message, /LOG_LEVEL/)
  assert.match(error.message, /DATABASE_URL/)
})

configSuite('enforces numeric minimums', () => {
  assert.match(loadError({ S3_PART_SIZE_BYTES: String(5 * 1024 ** 2 - 1) }).message, /S3_PART_SIZE_BYTES/)
  assert.match(loadError({ TUS_EXPIRATION_MS: '999' }).message, /TUS_EXPIRATION_MS/)
  assert.match(loadError({ QUOTA_STORAGE_BYTES: '-1' }).message, /QUOTA_STORAGE_BYTES/)
})

configSuite('treats empty strings as unset', () => {
  const config = load({ PORT: '', HOST: '', DATABASE_URL: '', S3_BUCKET: '', TRUST_PROXY: '' })

  assert.is(config.port, 8080)
  assert.is(config.host, '127.0.0.1')
  assert.is(config.databaseUrl, null)
  assert.is(config.s3, null)
  assert.is(config.trustProxy, false)
})

configSuite('rejects partial S3 settings', () => {
  const error = loadError({ S3_BUCKET: 'media' })

  assert.match(error.message, /S3_ENDPOINT/)
  assert.match(error.message, /S3_ACCESS_KEY_ID/)
  assert.match(error.message, /S3_SECRET_ACCESS_KEY/)
  assert.match(error.message, /when S3_BUCKET is set/)
})

configSuite('names the one missing S3 variable', () => {
  const error = loadError({ ...S3, S3_SECRET_ACCESS_KEY: '' })

  assert.match(error.message, /^S3_SECRET_ACCESS_KEY must be set/)
  assert.not.match(error.message, /S3_SECRET_ACCESS_KEY is set/)
})

configSuite('builds S3 settings', () => {
  const config = load(S3)

  assert.equal(config.s3, {
    endpoint: 'http://127.0.0.1:9000/',
    region: 'us-east-1',
    bucket: 'media',
    accessKeyId: 'test-access-key',
    secretAccessKey: 'test-secret-key',
    forcePathStyle: false,
    partSizeBytes: 8 * 1024 ** 2,
  })
  assert.is(config.publicMediaUrl, 'http://127.0.0.1:9000/media')
})

configSuite('parses booleans', () => {
  const truthy = ['true', '1']
  const falsy = ['false', '0']
  for (const value of truthy) {
    assert.is(load({ TRUST_PROXY: value }).trustProxy, true, value)
    assert.is(load({ ...S3, S3_FORCE_PATH_STYLE: value }).s3?.forcePathStyle, true, value)
  }
  for (const value of falsy) {
    assert.is(load({ TRUST_PROXY: value }).trustProxy, false, value)
    assert.is(load({ ...S3, S3_FORCE_PATH_STYLE: value }).s3?.forcePathStyle, false, value)
  }
})

configSuite('rejects other boolean spellings', () => {
  for (const value of ['yes', 'TRUE', 'on', '2']) {
    assert.match(loadError({ TRUST_PROXY: value }).message, /TRUST_PROXY/, value)
    assert.match(loadError({ S3_FORCE_PATH_STYLE: value }).message, /S3_FORCE_PATH_STYLE/, value)
  }
})

configSuite('uses localhost for wildcard hosts', () => {
  assert.is(load({ HOST: '0.0.0.0' }).publicMediaUrl, 'http://localhost:8080/files')
  assert.is(load({ HOST: '::' }).publicMediaUrl, 'http://localhost:8080/files')
})

configSuite('brackets IPv6 host in media URL', () => {
  const url = load({ HOST: '::1' }).publicMediaUrl

  assert.is(url, 'http://[::1]:8080/files')
  assert.not.throws(() => new URL(url))
})

configSuite('strips trailing slashes from media URL', () => {
  const config = load({ PUBLIC_MEDIA_URL: 'https://cdn.example.com/media///' })

  assert.is(config.publicMediaUrl, 'https://cdn.example.com/media')
})

configSuite('validates CORS origins', () => {
  assert.is(loadConfig({ CORS_ALLOWED_ORIGINS: '*' }).corsAllowedOrigins, '*')
  assert.equal(loadConfig({ CORS_ALLOWED_ORIGINS: 'https://a.example, http://127.0.0.1:5173' }).corsAllowedOrigins, [
    'https://a.example',
    'http://127.0.0.1:5173',
  ])
  assert.match(loadError({ CORS_ALLOWED_ORIGINS: 'https://a.example/path' }).message, /CORS_ALLOWED_ORIGINS/)
  assert.match(loadError({ CORS_ALLOWED_ORIGINS: 'not a url' }).message, /CORS_ALLOWED_ORIGINS/)
})

configSuite('takes file URLs from request by default', () => {
  assert.is(load({}).isPublicMediaUrlFromRequest, true)
  assert.is(load({ PUBLIC_MEDIA_URL: 'https://cdn.example.com/media' }).isPublicMediaUrlFromRequest, false)
  assert.is(load({ ...S3 }).isPublicMediaUrlFromRequest, false)
})

configSuite.run()
