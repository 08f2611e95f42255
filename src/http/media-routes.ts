import Router from '@koa/router'
import type { Context } from 'koa'
import type { KnexMetadataRepository } from '../db/metadata-repo.js'
import type { TokenRepository } from '../db/token-repo.js'
import { AppError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { FileUrls, LocalFileUrls } from '../storage/file-urls.js'
import type { LocalObjectStore } from '../storage/local-object-store.js'
import { FILE_ID_PATTERN, type IngestPipeline } from '../uploads/pipeline.js'
import type { FileRecord, ObjectStore, Principal } from '../uploads/ports.js'
import { requireScope } from './auth.js'
import { toFileJson } from './file-view.js'
import { parseListQuery, encodeCursor } from './list-query.js'
import { requestOrigin } from './origin.js'
import { receiveMultipart } from './multipart.js'

export interface MediaRoutesOptions {
  logger: Logger
  pipeline: IngestPipeline
  metadata: KnexMetadataRepository
  objects: ObjectStore
  tokens: TokenRepository
  fileUrls: FileUrls
  /** Set in the embedded default, where the gateway serves stored files itself. */
  localFiles: { objects: LocalObjectStore; urls: LocalFileUrls } | null
  /** Take file URLs' scheme and host from a reverse proxy's forwarded headers. */
  trustProxy: boolean
}

/**
 * Headers for serving stored bytes: the browser must not sniff another type,
 * and an SVG is shown without running its scripts or loading anything.
 */
const SERVED_FILE_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
  'Cross-Origin-Resource-Policy': 'cross-origin',
}

function notFound(): AppError {
  return new AppError('not_found', 'No such file.')
}

export function createMediaRouter(options: MediaRoutesOptions): Router {
  const router = new Router()
  const { pipeline, metadata, tokens, fileUrls } = options
  const fileJsonFor = (ctx: Context) => {
    const origin = requestOrigin((name) => ctx.get(name), options.trustProxy)

    return async (file: FileRecord) => toFileJson(file, await fileUrls.urlFor(file, origin))
  }

  /** Finds a file of the caller's project and mode, or throws 404. */
  const findOwnFile = async (ctx: Context) => {
    const principal = ctx.state.principal as Principal
    const id = ctx.params.id
    ctx.state.fileId = id
    const file = FILE_ID_PATTERN.test(id)
      ? await metadata.findFile(principal.projectId, principal.mode, id)
      : undefined
    if (!file) {
      throw notFound()
    }

    return file
  }

  router.post('/media', requireScope(tokens, 'media:write'), async (ctx: Context) => {
    const principal = ctx.state.principal as Principal
    const file = await receiveMultipart(ctx.req, pipeline, principal)
    ctx.state.fileId = file.id
    ctx.state.bytesIn = file.size
    ctx.status = 201
    ctx.set('Location', `/media/${file.id}`)
    ctx.body = await fileJsonFor(ctx)(file)
  })

  router.get('/media', requireScope(tokens, 'media:read'), async (ctx: Context) => {
    const principal = ctx.state.principal as Principal
    const query = parseListQuery(ctx.query)
    const page = await metadata.listFiles(principal.projectId, principal.mode, query)
    const last = page.files.at(-1)
    ctx.body = {
      data: await Promise.all(page.files.map(fileJsonFor(ctx))),
      has_more: page.hasMore,
      next_cursor: page.hasMore && last ? encodeCursor(last.id) : null,
    }
  })

  router.get('/media/:id', requireScope(tokens, 'media:read'), async (ctx: Context) => {
    ctx.body = await fileJsonFor(ctx)(await findOwnFile(ctx))
  })

  router.delete('/media/:id', requireScope(tokens, 'media:write'), async (ctx: Context) => {
    const principal = ctx.state.principal as Principal
    const { id } = await findOwnFile(ctx)
    const file = await metadata.deleteFile(principal.projectId, principal.mode, id)
    if (!file) {
      throw notFound()
    }

    // The row is gone, so the file no longer exists for the API; an object left
    // behind by a storage failure is only wasted space, logged for reconciliation.
    await options.objects.delete(file.key).catch((error) => {
      options.logger.error(
        { type: 'storage', fileId: file.id, key: file.key, err: error },
        'deleted file left its object behind',
      )
    })
    ctx.status = 204
  })

  router.get('/usage', requireScope(tokens, 'usage:read'), async (ctx: Context) => {
    const principal = ctx.state.principal as Principal
    ctx.body = await metadata.getUsage(principal.projectId, principal.mode)
  })

  const localFiles = options.localFiles
  if (localFiles) {
    router.get('/files/{*key}', async (ctx: Context) => {
      let key: string
      try {
        key = decodeURIComponent(ctx.path.slice('/files/'.length))
      } catch {
        throw notFound()
      }
      // Keys are made of ids and never hold control characters, which Postgres text rejects.
      if (/[\u0000-\u001f]/.test(key)) {
        throw notFound()
      }
      const file = await metadata.findFileByKey(key)
      if (!file) {
        throw notFound()
      }
      const { expires, signature } = ctx.query
      const isAllowed =
        file.visibility === 'public' ||
        localFiles.urls.isValid(key, String(expires ?? ''), String(signature ?? ''))
      // A private file without a valid signature is answered as missing, so its existence stays hidden.
      if (!isAllowed) {
        throw notFound()
      }

      ctx.state.fileId = file.id
      ctx.state.projectId = file.projectId
      ctx.set(SERVED_FILE_HEADERS)
      if (file.visibility === 'private') {
        ctx.set('Cache-Control', 'private, no-store')
      }
      ctx.type = file.contentType
      ctx.length = file.size
      ctx.body = await localFiles.objects.read(file.key)
    })
  }

  return router
}
