/**
 * The tus 1.0 door at /media/uploads: @tus/server behind Koa. Koa
 * authenticates first; the principal travels to tus's hooks on the Node
 * request. Every error response, tus's own included, leaves in the JSON
 * error envelope.
 */
import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web'
import { Server, type ServerOptions } from '@tus/server'
import { type DataStore, ERRORS, type Locker } from '@tus/utils'
import type { Context } from 'koa'
import { NodeRequest } from 'srvx/node'
import type { TokenRepository } from '../db/token-repo.js'
import { AppError, type ErrorCode, isAppError } from '../errors.js'
import { FILE_ID_PATTERN, createFileId, objectKeyFor } from '../uploads/pipeline.js'
import type { Principal } from '../uploads/ports.js'
import type { ResumableUploads } from '../uploads/resumable.js'
import { readUploadMetadata } from '../uploads/resumable.js'
import { authenticateRequest, readAuthorization } from './auth.js'
import { requestOrigin } from './origin.js'
import { TUS_VERSION, checkTusHeaders, checkTusMethod, explainLengthError } from './tus-headers.js'

export const TUS_PATH = '/media/uploads'

const principals = new WeakMap<IncomingMessage, Principal>()
const failures = new WeakMap<IncomingMessage, AppError>()
/** Requests that committed their upload's file, for metrics. */
const finishedRequests = new WeakSet<IncomingMessage>()
/** Uploads created by a request, so a creation-with-upload that fails can be removed. */
const createdKeys = new WeakMap<IncomingMessage, string>()

type TusRequest = Parameters<NonNullable<ServerOptions['onIncomingRequest']>>[0]

function nodeRequestOf(req: TusRequest): IncomingMessage {
  const node = (req as { runtime?: { node?: { req: IncomingMessage } } }).runtime?.node
  if (!node) {
    throw new Error('tus request without its Node request')
  }

  return node.req
}

function principalOf(req: TusRequest): Principal {
  const principal = principals.get(nodeRequestOf(req))
  if (!principal) {
    throw new Error('tus request reached a hook without authentication')
  }

  return principal
}

/** Checks for tus's "Request aborted" error, which it also raises for a store that failed mid-body. */
function isAbortedError(error: unknown): boolean {
  return (error as { body?: unknown })?.body === ERRORS.ABORTED.body
}

/** tus wants `{status_code, body}`; the body is the envelope that the Koa side passes on. */
function toTusError(error: AppError) {
  return { status_code: error.status, body: JSON.stringify(error.toEnvelope()) }
}

export interface TusServerOptions {
  datastore: DataStore
  uploads: ResumableUploads
  locker?: Locker
  trustProxy: boolean
}

export function createTusServer(options: TusServerOptions): Server {
  return new Server({
    path: TUS_PATH,
    datastore: options.datastore,
    locker: options.locker as Locker,
    respectForwardedHeaders: options.trustProxy,
    // A finished upload is a file, not an upload in progress, so tus termination rejects it.
    disableTerminationForFinishedUploads: true,
    namingFunction: (req) => objectKeyFor(principalOf(req), createFileId()),
    // The same origin as file URLs, so both doors name the proxy the same way.
    generateUrl: (req, { path, id }) => {
      const fileId = id.slice(id.lastIndexOf('/') + 1)
      const origin = requestOrigin((name) => req.headers.get(name), options.trustProxy)

      return `${origin}${path}/${fileId}`
    },
    // URLs name only the file id; the datastore key adds the caller's project and mode,
    // so another project's or mode's token finds nothing.
    getFileIdFromRequest: (req, lastPath) => {
      if (!lastPath || !FILE_ID_PATTERN.test(lastPath)) {
        return undefined
      }

      return objectKeyFor(principalOf(req), lastPath)
    },
    onUploadCreate: async (req, upload) => {
      const principal = principalOf(req)
      createdKeys.set(nodeRequestOf(req), upload.id)
      const record = await options.uploads.create(
        principal,
        upload.id,
        upload.size ?? null,
        upload.metadata ?? {},
      )

      return { metadata: { ...upload.metadata, contentType: record.declaredType } }
    },
    onUploadFinish: async (req, upload) => {
      await options.uploads.finish(upload.id)
      finishedRequests.add(nodeRequestOf(req))

      return {}
    },
    onResponseError: (req, error) => {
      // tus reports a write that ended early as 400 "Request aborted", and tus-js-client does
      // not retry a 400. While the client is still connected, the store failed, not the client.
      if (isAbortedError(error) && !nodeRequestOf(req).socket?.destroyed) {
        const failure = new AppError('storage_error', 'The upload stopped before its bytes were stored.', {
          cause: error,
        })
        failures.set(nodeRequestOf(req), failure)

        return toTusError(failure)
      }
      if ('status_code' in error) {
        if (error.status_code >= 500) {
          const cause = (error as { cause?: unknown }).cause ?? error
          failures.set(nodeRequestOf(req), new AppError('internal', error.body, { cause }))
        }

        return undefined
      }

      // Anything else came from the datastore or the database, so it is worth a retry.
      const failure = isAppError(error)
        ? error
        : new AppError('storage_error', 'The upload store failed.', { cause: error })
      failures.set(nodeRequestOf(req), failure)

      return toTusError(failure)
    },
  })
}

/** Codes for tus's own statuses, so they too fit the envelope. */
const TUS_STATUS_CODES: Record<number, ErrorCode | string> = {
  400: 'bad_request',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'offset_mismatch',
  410: 'gone',
  412: 'unsupported_version',
  413: 'too_large',
  415: 'unsupported_media_type',
  460: 'checksum_mismatch',
  500: 'internal',
  501: 'not_implemented',
}

function toEnvelopeText(status: number, text: string): string {
  const trimmed = text.trim()
  if (trimmed.startsWith('{')) {
    return trimmed
  }

  const code = TUS_STATUS_CODES[status] ?? (status >= 500 ? 'internal' : 'bad_request')
  // 501 names a missing extension, which the client should read; other 5xx texts may carry internals.
  const isHidden = status >= 500 && status !== 501
  const message = isHidden ? 'Internal server error.' : trimmed || `tus request failed with ${status}.`

  return JSON.stringify({ error: { code, message } })
}

/** Koa handler for every method under /media/uploads. */
export function tusHandler(server: Server, tokens: TokenRepository, uploads: ResumableUploads) {
  return async (ctx: Context) => {
    ctx.state.route = TUS_PATH
    const idInPath = ctx.path.slice(TUS_PATH.length + 1)
    if (idInPath) {
      ctx.state.uploadId = idInPath
    }
    ctx.set('Tus-Resumable', TUS_VERSION)
    checkTusMethod(ctx.method, ctx.path, idInPath !== '')
    if (ctx.method !== 'OPTIONS') {
      const principal = await authenticateRequest(tokens, readAuthorization(ctx.req))
      ctx.state.principal = principal
      ctx.state.projectId = principal.projectId
      if (!principal.scopes.includes('media:write')) {
        throw new AppError('forbidden', 'This token lacks the media:write scope.', {
          details: { required_scope: 'media:write' },
        })
      }
      principals.set(ctx.req, principal)
    }
    checkTusHeaders(ctx.method, ctx.req.headers)
    // Upload URLs are one segment deep; tus would read the last segment of a deeper path as the id.
    if (idInPath.includes('/')) {
      throw new AppError('not_found', 'No such upload.')
    }

    const response = await server.handleWeb(new NodeRequest({ req: ctx.req, res: ctx.res }))
    if (ctx.method === 'HEAD' && response.status === 200 && idInPath && ctx.state.principal) {
      await completeHeadResponse(uploads, objectKeyFor(ctx.state.principal, idInPath), response)
    }
    ctx.state.error = failures.get(ctx.req)
    ctx.state.isUploadFinished = finishedRequests.has(ctx.req)
    // A creation-with-upload whose body failed returns no Location, so no client could resume it.
    const createdKey = createdKeys.get(ctx.req)
    if (ctx.method === 'POST' && response.status >= 400 && createdKey) {
      await uploads.terminate(createdKey).catch(() => {})
    }
    await sendResponse(ctx, response)
    const newOffset = response.headers.get('upload-offset')
    if (newOffset !== null && (ctx.method === 'PATCH' || ctx.method === 'POST')) {
      ctx.state.bytesIn = Number(newOffset) - Number(ctx.get('upload-offset') || 0)
    }
    const location = response.headers.get('location')
    if (location) {
      ctx.state.uploadId = location.slice(location.lastIndexOf('/') + 1)
    }
  }
}

/**
 * Adds what tus leaves out of a HEAD: Upload-Expires of an unfinished upload.
 * A HEAD that finds every byte stored also commits the file when an earlier
 * request stored them but died before committing, since a client seeing the
 * full offset sends nothing more.
 */
async function completeHeadResponse(uploads: ResumableUploads, storeKey: string, response: Response) {
  const offset = response.headers.get('upload-offset')
  if (offset !== null && offset === response.headers.get('upload-length')) {
    await uploads.finishIfStored(storeKey)

    return
  }

  const expiry = await uploads.findExpiry(storeKey)
  if (expiry) {
    response.headers.set('Upload-Expires', expiry.toUTCString())
  }
}

async function sendResponse(ctx: Context, response: Response) {
  ctx.status = response.status
  for (const [name, value] of response.headers) {
    // The cors middleware has set the CORS headers for an allowed origin, and none for another.
    if (name !== 'content-length' && !name.startsWith('access-control-')) {
      ctx.set(name, value)
    }
  }
  if (response.status >= 400) {
    let text = await response.text()
    const explained = text === ERRORS.INVALID_LENGTH.body ? explainLengthError(ctx.method, ctx.req.headers) : null
    if (explained) {
      text = explained
    }
    ctx.type = 'application/json'
    ctx.body = toEnvelopeText(response.status, text)

    return
  }
  if (response.body) {
    ctx.body = Readable.fromWeb(response.body as NodeWebReadableStream)
  }
}
