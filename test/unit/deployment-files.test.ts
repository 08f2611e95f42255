import { readFileSync } from 'node:fs'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { parse } from 'yaml'
import { ENV_SCHEMA } from '../../src/config.js'

const ROOT = new URL('../../', import.meta.url)

/** Reads `.env.example` into its variables and values, skipping comments. */
function readEnvExample(): Map<string, string> {
  const entries = new Map<string, string>()
  for (const line of readFileSync(new URL('.env.example', ROOT), 'utf8').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim())
    if (match) {
      entries.set(match[1], match[2])
    }
  }

  return entries
}

/** Returns the default of a configuration variable as .env.example writes it: empty when it has none. */
function defaultOf(name: keyof typeof ENV_SCHEMA.shape): string {
  const value = ENV_SCHEMA.shape[name].parse(undefined)

  return value === undefined ? '' : String(value)
}

const EnvExample = suite('.env.example')

EnvExample('lists every variable with its default', () => {
  const example = readEnvExample()
  for (const name of Object.keys(ENV_SCHEMA.shape) as (keyof typeof ENV_SCHEMA.shape)[]) {
    assert.ok(example.has(name), `${name} is missing from .env.example`)
    assert.is(example.get(name), defaultOf(name), name)
  }
})

EnvExample('lists no unknown variable', () => {
  const known = new Set(Object.keys(ENV_SCHEMA.shape))
  for (const name of readEnvExample().keys()) {
    assert.ok(known.has(name), `${name} is in .env.example but not in src/config.ts`)
  }
})

EnvExample.run()

const Compose = suite('docker-compose.yml')

const compose = parse(readFileSync(new URL('docker-compose.yml', ROOT), 'utf8'))

Compose('builds the gateway from the Dockerfile', () => {
  const gateway = compose.services.gateway
  const build = typeof gateway.build === 'string' ? { context: gateway.build } : gateway.build

  assert.is(build.context, '.')
  assert.ok(readFileSync(new URL(build.dockerfile ?? 'Dockerfile', ROOT), 'utf8').includes('ENTRYPOINT'))
  assert.ok(gateway.ports.includes('8080:8080'))
  assert.ok(gateway.healthcheck.test.join(' ').includes('/readyz'))
})

Compose('starts the gateway after healthy backends', () => {
  const dependsOn = compose.services.gateway.depends_on

  assert.is(dependsOn.postgres.condition, 'service_healthy')
  assert.is(dependsOn['create-bucket'].condition, 'service_completed_successfully')
  assert.ok(compose.services.postgres.healthcheck, 'postgres has a health check')
  assert.ok(compose.services.minio.healthcheck, 'minio has a health check')
  assert.is(compose.services['create-bucket'].depends_on.minio.condition, 'service_healthy')
})

Compose('wires the gateway to its backends', () => {
  const environment = compose.services.gateway.environment
  const postgres = compose.services.postgres.environment
  const minio = compose.services.minio.environment
  const known = new Set(Object.keys(ENV_SCHEMA.shape))

  for (const name of Object.keys(environment)) {
    assert.ok(known.has(name), `${name} is not a configuration variable`)
  }
  assert.is(
    environment.DATABASE_URL,
    `postgres://${postgres.POSTGRES_USER}:${postgres.POSTGRES_PASSWORD}@postgres:5432/${postgres.POSTGRES_DB}`,
  )
  assert.is(environment.S3_ENDPOINT, 'http://minio:9000')
  assert.is(environment.S3_ACCESS_KEY_ID, minio.MINIO_ROOT_USER)
  assert.is(environment.S3_SECRET_ACCESS_KEY, minio.MINIO_ROOT_PASSWORD)
  assert.is(environment.S3_FORCE_PATH_STYLE, 'true')
  assert.is(environment.HOST, '0.0.0.0')
  assert.ok(compose.services['create-bucket'].entrypoint.includes(`local/${environment.S3_BUCKET}`))
})

Compose.run()
