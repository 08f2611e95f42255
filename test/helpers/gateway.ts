/**
 * A gateway for integration tests, on whatever the environment configures:
 * the embedded default (in-memory PGlite and a temporary data folder) when
 * DATABASE_URL and S3_* are unset, Postgres and S3 when they are set. One
 * gateway serves the whole run; each test makes its own project, so runs and
 * tests never see each other's files.
 */
import type { Server } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, sep } from 'node:path'
import type { AddressInfo } from 'node:net'
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { ulid } from 'ulid'
import { type Config, loadConfig } from '../../src/config.js'
import { type Gateway, createGateway } from '../../src/gateway.js'
import { createHttpServer } from '../../src/http/node-server.js'
import { createLogger } from '../../src/logger.js'
import type { DestinationStream } from 'pino'
import { listFiles } from '../../src/storage/local-object-store.js'
import { S3ObjectStore } from '../../src/storage/s3.js'
import type { Mode } from '../../src/uploads/ports.js'

export interface TestGateway {
  url: string
  config: Config
  gateway: Gateway
  server: Server
  dataDir: string
  isS3: boolean
  isPostgres: boolean
}

let shared: Promise<TestGateway> | null = null

/**
 * Starts a gateway on the environment's backends, with settings overridden for
 * one test. Its logs go to `logDestination` when given, otherwise to stdout.
 */
export async function startGateway(
  overrides: Record<string, string> = {},
  logDestination?: DestinationStream,
): Promise<TestGateway> {
  const dataDir = await mkdtemp(join(tmpdir(), 'media-gateway-test-'))
  // Listen first, so file URLs of the embedded default can name the real port.
  let handler: ReturnType<Gateway['app']['callback']> | null = null
  const logLevel = overrides.LOG_LEVEL ?? process.env.TEST_LOG_LEVEL ?? 'silent'
  const logger = createLogger(logLevel, logDestination)
  const server = createHttpServer((req, res) => handler?.(req, res), logger)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const settings: Record<string, string> = {
    DATA_DIR: dataDir,
    LOG_LEVEL: logLevel,
    CLEANUP_INTERVAL_MS: '0',
    RECONCILE_INTERVAL_MS: '0',
  }
  if (!(overrides.S3_ENDPOINT ?? process.env.S3_ENDPOINT)) {
    settings.PUBLIC_MEDIA_URL = `http://127.0.0.1:${port}/files`
  }
  const config = loadConfig({ ...settings, ...overrides })
  const gateway = await createGateway(config, logger, { isDatabaseInMemory: !config.databaseUrl })
  handler = gateway.app.callback()

  return {
    url: `http://127.0.0.1:${port}`,
    config,
    gateway,
    server,
    dataDir,
    isS3: config.s3 !== null,
    isPostgres: config.databaseUrl !== null,
  }
}

export function getGateway(): Promise<TestGateway> {
  shared ??= startGateway()

  return shared
}

export async function closeSharedGateway() {
  if (!shared) {
    return
  }

  const test = await shared
  shared = null
  await stopGateway(test)
}

/** Stops a gateway from startGateway and removes its data folder. */
export async function stopGateway(test: TestGateway) {
  test.server.closeAllConnections()
  await new Promise((resolve) => test.server.close(resolve))
  await test.gateway.close()
  await rm(test.dataDir, { recursive: true, force: true })
}

export interface TestTenant {
  token: string
  projectName: string
  projectId: string
  mode: Mode
  auth: { Authorization: string }
}

/** Creates a fresh project with a token of the given scopes. */
export async function createTenant(
  scopes: string[] = ['media:read', 'media:write'],
  mode: Mode = 'live',
  projectName = `test-${ulid()}`,
  target?: TestGateway,
): Promise<TestTenant> {
  const { gateway } = target ?? (await getGateway())
  const project = await gateway.tokens.findOrCreateProject(projectName)
  const { token } = await gateway.tokens.createToken(project.id, mode, scopes)

  return { token, projectName, projectId: project.id, mode, auth: { Authorization: `Bearer ${token}` } }
}

/** Sets the committed storage usage of a tenant, to bring it near its quota. */
export async function setStorageUsed(tenant: TestTenant, usedBytes: number, target?: TestGateway) {
  const { gateway } = target ?? (await getGateway())
  await gateway.database.knex('usage').insert({
    project_id: tenant.projectId,
    mode: tenant.mode,
    metric: 'storage_bytes',
    used: usedBytes,
  })
}

/** Everything a project has in the database and in storage, to prove a failure left nothing. */
export async function findLeftovers(projectId: string, target?: TestGateway) {
  const test = target ?? (await getGateway())
  const knex = test.gateway.database.knex
  const files = await knex('files').where({ project_id: projectId }).count({ count: '*' }).first()
  const openUploads = await knex('uploads')
    .where({ project_id: projectId, status: 'open' })
    .count({ count: '*' })
    .first()
  const reservations = await knex('quota_reservations')
    .where({ project_id: projectId })
    .count({ count: '*' })
    .first()
  // The S3 upload store's state rows, keyed by the upload's object key.
  const tusStates = await knex('tus_s3_uploads')
    .where('key', 'like', `${projectId}/%`)
    .count({ count: '*' })
    .first()

  return {
    files: Number(files?.count ?? 0),
    openUploads: Number(openUploads?.count ?? 0),
    reservations: Number(reservations?.count ?? 0),
    tusStates: Number(tusStates?.count ?? 0),
    objects: await listStoredObjects(test, projectId),
    multipartUploads: await listMultipartUploads(test, projectId),
  }
}

export const NOTHING_LEFT = {
  files: 0,
  openUploads: 0,
  reservations: 0,
  tusStates: 0,
  objects: [] as string[],
  multipartUploads: [] as string[],
}

async function listStoredObjects(test: TestGateway, projectId: string): Promise<string[]> {
  if (!test.isS3) {
    const files = await listFiles(join(test.dataDir, 'objects', projectId))

    return files.map((path) => `${projectId}/${path.split(sep).join('/')}`)
  }

  const store = test.gateway.objects as S3ObjectStore
  const response = await store.client.send(
    new ListObjectsV2Command({ Bucket: store.bucket, Prefix: `${projectId}/` }),
  )

  return (response.Contents ?? []).map((object) => object.Key as string).sort()
}

async function listMultipartUploads(test: TestGateway, projectId: string): Promise<string[]> {
  if (!test.isS3) {
    return []
  }

  const store = test.gateway.objects as S3ObjectStore
  const response = await store.client.send(
    new ListMultipartUploadsCommand({ Bucket: store.bucket, Prefix: `${projectId}/` }),
  )

  return (response.Uploads ?? []).map((upload) => upload.Key as string).sort()
}
