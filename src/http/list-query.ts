import type { FileListQuery } from '../db/metadata-repo.js'
import { AppError } from '../errors.js'
import { parseFolder, parseTags } from '../uploads/fields.js'
import { normaliseMediaType } from '../uploads/media-types.js'
import { FILE_ID_PATTERN } from '../uploads/pipeline.js'

export const DEFAULT_PAGE_SIZE = 20
export const MAX_PAGE_SIZE = 100

type QueryValue = string | string[] | undefined

function invalid(field: string, message: string): AppError {
  return new AppError('bad_request', message, { details: { field } })
}

/** Takes one value of a query parameter; a repeated parameter is a client error. */
function single(query: Record<string, QueryValue>, field: string): string | undefined {
  const value = query[field]
  if (Array.isArray(value)) {
    throw invalid(field, `Invalid ${field}: give it once.`)
  }

  return value === '' ? undefined : value
}

/** Encodes the id of a page's last file as an opaque cursor. */
export function encodeCursor(fileId: string): string {
  return Buffer.from(fileId).toString('base64url')
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8')
  if (!FILE_ID_PATTERN.test(id)) {
    throw invalid('cursor', 'Invalid cursor: pass next_cursor from the previous page unchanged.')
  }

  return id
}

function parseLimit(value: string | undefined): number {
  if (value === undefined) {
    return DEFAULT_PAGE_SIZE
  }
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_PAGE_SIZE) {
    throw invalid('limit', `Invalid limit "${value.slice(0, 20)}": use a whole number from 1 to ${MAX_PAGE_SIZE}.`)
  }

  return Number(value)
}

/** Accepts an exact media type or a whole family such as `image/*`. */
function parseContentType(value: string | undefined): string | undefined {
  if (value === undefined) {
    return undefined
  }
  const family = /^([a-z0-9][a-z0-9!#$&^_.+-]*)\/\*$/i.exec(value.trim())
  if (family) {
    return `${family[1].toLowerCase()}/*`
  }

  const mime = normaliseMediaType(value)
  if (!mime) {
    throw invalid('content_type', `Invalid content_type "${value.slice(0, 100)}": use a type such as image/png or image/*.`)
  }

  return mime
}

/** Validates the query of `GET /media`: limit, cursor and the folder, tag and content_type filters. */
export function parseListQuery(query: Record<string, QueryValue>): FileListQuery {
  const tag = single(query, 'tag')
  const tags = tag === undefined ? [] : parseTags([tag])
  if (tags.length > 1) {
    throw invalid('tag', 'Invalid tag: filter by one tag at a time.')
  }

  const cursor = single(query, 'cursor')
  const folder = single(query, 'folder')

  return {
    limit: parseLimit(single(query, 'limit')),
    cursor: cursor === undefined ? undefined : decodeCursor(cursor),
    folder: folder === undefined ? undefined : (parseFolder(folder) ?? undefined),
    tag: tags[0],
    contentType: parseContentType(single(query, 'content_type')),
  }
}
