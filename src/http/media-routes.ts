import Router from '@koa/router'
import type { Context } from 'koa'
import type { KnexMetadataRepository } from '../db/metadata-repo.js'
import type { TokenRepository } from '../db/token-repo.js'
import { AppError } from '../errors.js'
import type { LocalObjectStore } from '../storage/local-object-store.js'
import { FILE_ID_PATTERN, type IngestPipeline } from '../uploads/pipeline.js'
import type { Principal } from '../uploads/ports.js'
import { requireScope } from './auth.js'
import { toFileJson } from './file-view.js'
import { receiveMultipart } from './multipart.js'

export interface MediaRoutesOptions {
  pipeline: IngestPipeline
  metadata: KnexMetadataRepository
  tokens: TokenRepository
  publicMediaUrl: string
  /** Set in the embedded default, where the gateway serves stored files itself. */
  localObjects: LocalObjectStore | null
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
  const { pipeline, metadata, tokens, publicMediaUrl } = options

  router.post('/media', requireScope(tokens, 'media:write'), async (ctx: Context) => {
    const principal = ctx.state.principal as Principal
    const file = await receiveMultipart(ctx.req, pipeline, principal)
    ctx.state.fileId = file.id
    ctx.state.bytesIn = file.size
    ctx.status = 201
    ctx.set('Location', `/media/${file.id}`)
    ctx.body = toFileJson(file, publicMediaUrl)
  })

  router.get('/media/:id', requireScope(tokens, 'media:read'), async (ctx: Context) => {
    const principal = ctx.state.principal as Principal
    const id = ctx.params.id
    ctx.state.fileId = id
    const file = FILE_ID_PATTERN.test(id)
      ? await metadata.findFile(principal.projectId, principal.mode, id)
      : undefined
    if (!file) {
      throw notFound()
    }

    ctx.body = toFileJson(file, publicMediaUrl)
  })

  const localObjects = options.localObjects
  if (localObjects) {
    router.get('/files/{*key}', async (ctx: Context) => {
      let key: string
      try {
        key = decodeURIComponent(ctx.path.slice('/files/'.length))
      } catch {
        throw notFound()
      }
      const file = await metadata.findFileByKey(key)
      // NOTE: private files are not served here yet; they need signed, time-limited URLs.
      if (!file || file.visibility !== 'public') {
        throw notFound()
      }

      ctx.state.fileId = file.id
      ctx.set(SERVED_FILE_HEADERS)
      ctx.type = file.contentType
      ctx.length = file.size
      ctx.body = await localObjects.read(file.key)
    })
  }

  return router
}
