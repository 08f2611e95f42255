import Router from '@koa/router'
import type { Server } from '@tus/server'
import Koa from 'koa'
import type { KnexMetadataRepository } from '../db/metadata-repo.js'
import type { TokenRepository } from '../db/token-repo.js'
import { AppError, methodNotAllowed } from '../errors.js'
import type { Logger } from '../logger.js'
import type { FileUrls, LocalFileUrls } from '../storage/file-urls.js'
import type { LocalObjectStore } from '../storage/local-object-store.js'
import type { ObjectStore } from '../uploads/ports.js'
import type { IngestPipeline } from '../uploads/pipeline.js'
import type { ResumableUploads } from '../uploads/resumable.js'
import { type CorsOrigins, cors } from './cors.js'
import { createDemoPageRouter } from './demo-page.js'
import { createMediaRouter } from './media-routes.js'
import { createOpenApiDocument } from './openapi.js'
import { type GatewayMetrics, measureUploads } from './metrics.js'
import { type ReadinessChecks, checkReadiness } from './readiness.js'
import { discardUnreadBody, errorEnvelope, rejectMalformedHeaders, requestId, requestLog } from './middleware.js'
import { TUS_PATH, tusHandler } from './tus.js'

export interface AppOptions {
  logger: Logger
  pipeline: IngestPipeline
  metadata: KnexMetadataRepository
  tokens: TokenRepository
  tusServer: Server
  uploads: ResumableUploads
  objects: ObjectStore
  fileUrls: FileUrls
  localFiles: { objects: LocalObjectStore; urls: LocalFileUrls } | null
  trustProxy: boolean
  requestIdHeader: string
  corsOrigins: CorsOrigins
  metrics: GatewayMetrics
  readinessChecks: ReadinessChecks
  /** Folder of the built demo page served at `/`; null serves no page. */
  demoPageDir: string | null
  /** Returns true once the server is shutting down, so /readyz returns 503 and connections are not kept alive. */
  isDraining?: () => boolean
}

/** Builds the Koa app: request id, request log, error envelope, then the routes. */
export function createApp(options: AppOptions): Koa {
  const app = new Koa({ proxy: options.trustProxy })
  // Errors are logged once, by the request log; Koa's default handler would print them again.
  app.silent = true

  const isDraining = options.isDraining ?? (() => false)
  app.use(requestId(options.requestIdHeader))
  app.use(async (ctx, next) => {
    if (isDraining()) {
      ctx.set('Connection', 'close')
    }
    await next()
  })
  app.use(requestLog(options.logger))
  app.use(cors(options.corsOrigins))
  app.use(measureUploads(options.metrics))
  app.use(discardUnreadBody(options.logger))
  app.use(errorEnvelope())
  app.use(rejectMalformedHeaders())

  const tus = tusHandler(options.tusServer, options.tokens, options.uploads)
  app.use(async (ctx, next) => {
    if (ctx.path === TUS_PATH || ctx.path.startsWith(`${TUS_PATH}/`)) {
      await tus(ctx)

      return
    }
    await next()
  })

  const router = new Router()
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' }
  })
  router.get('/readyz', async (ctx) => {
    if (isDraining()) {
      throw new AppError('storage_error', 'The gateway is shutting down.', { details: { draining: true } })
    }
    ctx.body = await checkReadiness(options.readinessChecks)
  })
  router.get('/metrics', async (ctx) => {
    ctx.type = options.metrics.registry.contentType
    ctx.body = await options.metrics.registry.metrics()
  })
  const openApiDocument = createOpenApiDocument()
  router.get('/openapi.json', (ctx) => {
    ctx.body = openApiDocument
  })
  const media = createMediaRouter(options)
  app.use(router.routes())
  app.use(media.routes())
  const demoPage = options.demoPageDir ? createDemoPageRouter(options.demoPageDir) : null
  if (demoPage) {
    app.use(demoPage.routes())
  }
  app.use((ctx) => {
    const allowed = allowedMethods(demoPage ? [router, media, demoPage] : [router, media], ctx.path)
    if (allowed.length === 0) {
      throw new AppError('not_found', `No route for ${ctx.method} ${ctx.path}.`)
    }
    if (ctx.method === 'OPTIONS') {
      ctx.set('Allow', [...allowed, 'OPTIONS'].join(', '))
      ctx.status = 204

      return
    }
    throw methodNotAllowed(ctx.method, ctx.path, allowed)
  })

  return app
}

/** Methods that the routers serve on a path, in the order they were declared. */
function allowedMethods(routers: Router[], path: string): string[] {
  const methods = new Set<string>()
  for (const router of routers) {
    for (const layer of router.match(path, 'GET').path) {
      for (const method of layer.methods) {
        methods.add(method)
      }
    }
  }

  return [...methods]
}

