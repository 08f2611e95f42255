/**
 * Checks of a tus request's method and headers, made before @tus/server
 * handles it. @tus/server 2.4 rejects some of these with a misleading status
 * (403 for a missing Upload-Offset, 404 for an unknown method) or a message
 * that names another cause, so each gets its own clear error here.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { AppError, methodNotAllowed } from '../errors.js'

export const TUS_VERSION = '1.0.0'

/** Methods on the creation URL and on an upload's URL. */
const CREATION_METHODS = ['OPTIONS', 'POST']
const UPLOAD_METHODS = ['OPTIONS', 'HEAD', 'PATCH', 'DELETE']

const PATCH_CONTENT_TYPE = 'application/offset+octet-stream'

function badHeader(message: string): AppError {
  return new AppError('bad_request', message)
}

/** Throws 405 for a method the URL does not serve: creation at the endpoint, the rest on an upload. */
export function checkTusMethod(method: string, path: string, isUploadUrl: boolean) {
  const allowed = isUploadUrl ? UPLOAD_METHODS : CREATION_METHODS
  if (!allowed.includes(method)) {
    throw methodNotAllowed(method, path, allowed)
  }
}

/**
 * Reads a byte count header as a decimal integer, or null when absent. A
 * count past 2^53 - 1 cannot be held exactly and is over every size limit, so 413.
 */
function readByteCount(headers: IncomingHttpHeaders, name: string): number | null {
  const value = headers[name]
  if (value === undefined) {
    return null
  }
  const text = String(value)
  if (!/^\d+$/.test(text)) {
    throw badHeader(`Invalid ${name} "${text.slice(0, 40)}": send a number of bytes as a decimal integer, once.`)
  }
  if (!Number.isSafeInteger(Number(text))) {
    throw new AppError('too_large', `${name} ${text.slice(0, 40)} is over every size limit.`)
  }

  return Number(text)
}

/**
 * Checks the headers tus reads: Tus-Resumable (412 unless 1.0.0), the
 * lengths and the offset as decimal integers, Upload-Defer-Length as 1, one
 * of Upload-Length and Upload-Defer-Length on creation, and Upload-Offset and
 * Content-Type on PATCH.
 */
export function checkTusHeaders(method: string, headers: IncomingHttpHeaders) {
  if (method === 'OPTIONS') {
    return
  }

  const version = headers['tus-resumable']
  if (version !== TUS_VERSION) {
    const message =
      version === undefined
        ? `The Tus-Resumable header is missing; send Tus-Resumable: ${TUS_VERSION}.`
        : `Tus-Resumable "${String(version).slice(0, 40)}" is not supported; send Tus-Resumable: ${TUS_VERSION}.`
    throw new AppError('unsupported_version', message, { headers: { 'Tus-Version': TUS_VERSION } })
  }

  const length = readByteCount(headers, 'upload-length')
  readByteCount(headers, 'upload-offset')
  const deferLength = headers['upload-defer-length']
  if (deferLength !== undefined && deferLength !== '1') {
    throw badHeader(`Invalid Upload-Defer-Length "${String(deferLength).slice(0, 40)}": its only value is 1.`)
  }

  if (method === 'POST') {
    if (length !== null && deferLength !== undefined) {
      throw badHeader('Send Upload-Length or Upload-Defer-Length: 1, not both.')
    }
    if (length === null && deferLength === undefined) {
      throw badHeader('Send Upload-Length, or Upload-Defer-Length: 1 when the size is not known yet.')
    }
  }

  if (method === 'PATCH') {
    if (headers['upload-offset'] === undefined) {
      throw badHeader('The Upload-Offset header is missing. Send the offset that HEAD returned.')
    }
    if (headers['content-type'] !== PATCH_CONTENT_TYPE) {
      throw badHeader(`A PATCH must have Content-Type: ${PATCH_CONTENT_TYPE}.`)
    }
  }
}

/**
 * Returns the real cause behind tus's "Upload-Length or Upload-Defer-Length
 * header required", which tus also sends when it rejects a length declared on
 * PATCH, or null when the request declared no length on PATCH.
 */
export function explainLengthError(method: string, headers: IncomingHttpHeaders): string | null {
  if (method !== 'PATCH' || headers['upload-length'] === undefined) {
    return null
  }

  // tus compares Upload-Offset with the stored offset first, so here they are equal.
  const length = Number(headers['upload-length'])
  const offset = Number(headers['upload-offset'])
  if (length < offset) {
    return `Upload-Length ${length} is less than the ${offset} bytes already received.`
  }

  return 'The upload length is already declared. Send Upload-Length on PATCH only once, for an upload created with Upload-Defer-Length: 1.'
}
