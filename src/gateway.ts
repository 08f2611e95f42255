/**
 * The composition root: picks the adapters from configuration (Postgres or
 * PGlite, S3 or the data folder), wires the pipeline to both doors, and owns
 * everything that must be closed.
 */
import { access, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { HeadBucketCommand } from '@aws-sdk/client-s3'
import { FileStore } from '@tus/file-store'
import { MemoryLocker } from '@tus/server'
import type { DataStore, Locker } from '@tus/utils'
import type Koa from 'koa'
import type { Config } from './config.js'
import { type DataDirLock, lockDataDir } from './db/data-dir-lock.js'
import { type Database, migrateLatest, openDatabase } from './db/database.js'
import { KnexMetadataRepository } from './db/metadata-repo.js'
import { PostgresLocker } from './db/postgres-locker.js'
import { S3UploadStateRepository } from './db/s3-upload-state.js'
import { ReconcileRepository } from './db/reconcile-repo.js'
import { TokenRepository } from './db/token-repo.js'
import { createApp } from './http/app.js'
import { findDemoPageDir } from './http/demo-page.js'
import { GatewayMetrics } from './http/metrics.js'
import { createTusServer } from './http/tus.js'
import type { Logger } from './logger.js'
import { IngestDataStore } from './storage/ingest-datastore.js'
import { LocalFileUrls, S3FileUrls, loadOrCreateSigningKey } from './storage/file-urls.js'
import { LocalObjectStore } from './storage/local-object-store.js'
import { type ReconcileOptions, type ReconcileReport, reconcile } from './reconcile.js'
import { S3ObjectStore } from './storage/s3.js'
import { S3UploadStore } from './storage/s3-upload-store.js'
import { IngestPipeline } from './uploads/pipeline.js'
import type { ObjectStore } from './uploads/ports.js'
import { ResumableUploads, type UploadLockRunner } from './uploads/resumable.js'

export interface Gateway {
  app: Koa
  database: Database
  metadata: KnexMetadataRepository
  tokens: TokenRepository
  objects: ObjectStore
  uploads: ResumableUploads
  /** Finds leftovers in storage and the database and, with `isFix`, repairs them. */
  reconcile(options: Omit<ReconcileOptions, 'now'>): Promise<ReconcileReport>
  /** Makes /readyz return 503 and responses close their connections, ahead of close(). */
  startDraining(): void
  close(): Promise<void>
}

export interface GatewayOptions {
  /** Keep PGlite in memory instead of the data folder; for tests. */
  isDatabaseInMemory?: boolean
}

/** Opens the database the configuration names, claiming the data folder for PGlite. */
export async function openConfiguredDatabase(config: Config, options: GatewayOptions = {}) {
  let lock: DataDirLock | null = null
  if (!config.databaseUrl && !options.isDatabaseInMemory) {
    lock = lockDataDir(config.dataDir)
  }

  try {
    const pgliteDir = options.isDatabaseInMemory ? null : join(config.dataDir, 'pglite')
    const database = openDatabase({ databaseUrl: config.databaseUrl, pgliteDir })
    await migrateLatest(database)

    return {
      database,
      close: async () => {
        await database.close()
        lock?.release()
      },
    }
  } catch (error) {
    lock?.release()
    throw error
  }
}

function createUploadStore(config: Config, database: Database, objects: ObjectStore): DataStore {
  if (config.s3) {
    // Upload state lives in the database that every instance shares, so no PATCH reads it from S3.
    return new S3UploadStore({
      client: (objects as S3ObjectStore).client,
      bucket: config.s3.bucket,
      partSizeBytes: config.s3.partSizeBytes,
      expirationMs: config.tusExpirationMs,
      states: new S3UploadStateRepository(database.knex),
    })
  }

  return new FileStore({
    directory: join(config.dataDir, 'objects'),
    expirationPeriodInMilliseconds: config.tusExpirationMs,
  })
}

/**
 * Creates the tus locker: shared through Postgres when instances share the
 * database, tus's in-process one for the single PGlite process. Cleanup takes
 * the same locks as requests do.
 */
async function createLocker(config: Config, logger: Logger): Promise<Locker & { close?: () => Promise<void> }> {
  if (!config.databaseUrl) {
    return new MemoryLocker({ acquireLockTimeout: config.tusLockTimeoutMs })
  }

  const locker = new PostgresLocker({
    databaseUrl: config.databaseUrl,
    maxConnections: config.tusLockConnections,
    acquireTimeoutMs: config.tusLockTimeoutMs,
    onError: (error) => logger.error({ type: 'lock', err: error }, 'tus locker connection failed'),
  })
  await locker.start()

  return locker
}

/** Runs work under an upload's lock, asking any request holding it to finish early. */
function lockRunner(locker: Locker): UploadLockRunner {
  return async (storeKey, work) => {
    const lock = locker.newLock(storeKey)
    await lock.lock(new AbortController().signal, () => {})
    try {
      return await work()
    } finally {
      await lock.unlock()
    }
  }
}

export async function createGateway(
  config: Config,
  logger: Logger,
  options: GatewayOptions = {},
): Promise<Gateway> {
  const opened = await openConfiguredDatabase(config, options)
  const { database } = opened
  const metadata = new KnexMetadataRepository(database.knex, config.tiers)
  const tokens = new TokenRepository(database.knex)
  const localObjects = config.s3 ? null : new LocalObjectStore(join(config.dataDir, 'objects'))
  if (localObjects) {
    await mkdir(localObjects.directory, { recursive: true })
  }
  const storedObjects = config.s3 ? new S3ObjectStore(config.s3) : (localObjects as LocalObjectStore)
  const objects: ObjectStore = storedObjects

  const uploadStore = createUploadStore(config, database, objects)
  const datastore = new IngestDataStore(uploadStore)
  const pipeline = new IngestPipeline(objects, metadata, logger, config.maxFileBytes)
  const locker = await createLocker(config, logger)
  const uploads = new ResumableUploads(
    pipeline,
    metadata,
    objects,
    uploadStore,
    logger,
    config.tusExpirationMs,
    lockRunner(locker),
  )
  datastore.attach(uploads)
  const tusServer = createTusServer({
    datastore,
    uploads,
    locker,
    trustProxy: config.trustProxy,
  })

  const localUrls = localObjects
    ? new LocalFileUrls(
        config.signingSecret ? Buffer.from(config.signingSecret) : loadOrCreateSigningKey(config.dataDir),
        config.isPublicMediaUrlFromRequest ? null : config.publicMediaUrl,
        config.signedUrlTtlSeconds,
      )
    : null
  const fileUrls =
    localUrls ??
    new S3FileUrls(
      (objects as S3ObjectStore).client,
      (objects as S3ObjectStore).bucket,
      config.publicMediaUrl,
      config.signedUrlTtlSeconds,
    )

  let isDraining = false
  const app = createApp({
    isDraining: () => isDraining,
    logger,
    pipeline,
    metadata,
    tokens,
    tusServer,
    uploads,
    objects,
    fileUrls,
    localFiles: localObjects && localUrls ? { objects: localObjects, urls: localUrls } : null,
    trustProxy: config.trustProxy,
    requestIdHeader: config.requestIdHeader,
    corsOrigins: config.corsAllowedOrigins,
    metrics: new GatewayMetrics(),
    readinessChecks: {
      database: () => database.knex.raw('select 1'),
      storage: localObjects
        ? () => access(localObjects.directory)
        : () => {
            const store = objects as S3ObjectStore

            return store.client.send(new HeadBucketCommand({ Bucket: store.bucket }))
          },
    },
    demoPageDir: findDemoPageDir(),
  })

  const cleanupTimer =
    config.cleanupIntervalMs > 0
      ? setInterval(() => {
          uploads
            .cleanupExpired()
            .then((count) => {
              if (count > 0) {
                logger.info({ type: 'cleanup', count }, 'expired uploads removed')
              }
            })
            .catch((error) => logger.error({ type: 'cleanup', err: error }, 'cleanup failed'))
        }, config.cleanupIntervalMs)
      : null
  cleanupTimer?.unref()

  const runReconcile = (options: Omit<ReconcileOptions, 'now'>) =>
    reconcile(
      {
        repository: new ReconcileRepository(database.knex),
        inventory: storedObjects,
        objects,
        uploads: {
          listExpired: (now) => metadata.listExpiredUploads(now),
          endExpired: (upload) => uploads.endExpired(upload),
        },
        deleteFileRow: (file) => metadata.deleteFile(file.projectId, file.mode, file.id),
      },
      options,
    )
  const reconcileTimer = startReconcileTimer(config, logger, runReconcile)

  return {
    app,
    database,
    metadata,
    tokens,
    objects,
    uploads,
    reconcile: runReconcile,
    startDraining: () => {
      isDraining = true
    },
    close: async () => {
      if (cleanupTimer) {
        clearInterval(cleanupTimer)
      }
      if (reconcileTimer) {
        clearInterval(reconcileTimer)
      }
      await locker.close?.()
      await opened.close()
    },
  }
}

/**
 * Starts the periodic reconciliation of a running gateway. It only reports,
 * as one warning per leftover: another instance's POST /media in progress has
 * no row yet and looks like a leftover to this one until it is older than
 * RECONCILE_MIN_AGE_MS, so deleting is left to `media-gateway reconcile --fix`.
 */
function startReconcileTimer(
  config: Config,
  logger: Logger,
  runReconcile: (options: Omit<ReconcileOptions, 'now'>) => Promise<ReconcileReport>,
) {
  if (config.reconcileIntervalMs === 0) {
    return null
  }

  const timer = setInterval(() => {
    runReconcile({ isFix: false, projectId: null, minAgeMs: config.reconcileMinAgeMs })
      .then((report) => {
        for (const finding of report.findings) {
          logger.warn({ type: 'reconcile', ...finding }, 'leftover found; run media-gateway reconcile --fix to repair')
        }
        logger.info(
          { type: 'reconcile', findings: report.findings.length, skippedKeys: report.skippedKeys },
          'reconciliation finished',
        )
      })
      .catch((error) => logger.error({ type: 'reconcile', err: error }, 'reconciliation failed'))
  }, config.reconcileIntervalMs)
  timer.unref()

  return timer
}
