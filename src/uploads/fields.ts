import { AppError } from '../errors.js'
import type { Visibility } from './ports.js'

/** The optional facts a client sends beside the bytes, already validated. */
export interface FileFields {
  folder: string | null
  tags: string[]
  visibility: Visibility
}

export const MAX_FOLDER_LENGTH = 255
export const MAX_FOLDER_DEPTH = 10
export const MAX_TAGS = 20
export const MAX_TAG_LENGTH = 64
export const MAX_NAME_LENGTH = 255

const FOLDER_SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/
const TAG = /^[\p{L}\p{N}][\p{L}\p{N} ._:-]*$/u
// C0 and C1 controls and the Unicode bidirectional overrides, which can disguise a name.
const UNSAFE_NAME_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g

function invalidField(field: string, message: string): AppError {
  return new AppError('bad_request', message, { details: { field } })
}

/** Parses `a/b/c`: safe segments only, no `.` or `..`, bounded depth and length. */
export function parseFolder(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value === '') {
    return null
  }

  const trimmed = value.replace(/^\/+|\/+$/g, '')
  const segments = trimmed.split('/')
  if (trimmed.length > MAX_FOLDER_LENGTH || segments.length > MAX_FOLDER_DEPTH) {
    throw invalidField(
      'folder',
      `Invalid folder: at most ${MAX_FOLDER_DEPTH} segments and ${MAX_FOLDER_LENGTH} characters.`,
    )
  }
  for (const segment of segments) {
    if (!FOLDER_SEGMENT.test(segment)) {
      throw invalidField(
        'folder',
        `Invalid folder segment "${segment}": use letters, digits, '.', '_' and '-', not starting with '.'.`,
      )
    }
  }

  return segments.join('/')
}

/** Parses tags given as repeated values, each possibly comma-separated; trims, lowercases, dedupes. */
export function parseTags(values: readonly string[]): string[] {
  const tags = new Set<string>()
  for (const value of values) {
    for (const raw of value.split(',')) {
      const tag = raw.trim().toLowerCase().normalize('NFC')
      if (tag === '') {
        continue
      }
      if (tag.length > MAX_TAG_LENGTH || !TAG.test(tag)) {
        throw invalidField(
          'tags',
          `Invalid tag "${tag.slice(0, MAX_TAG_LENGTH)}": up to ${MAX_TAG_LENGTH} letters, digits, spaces, '.', '_', ':' or '-'.`,
        )
      }
      tags.add(tag)
    }
  }
  if (tags.size > MAX_TAGS) {
    throw invalidField('tags', `Too many tags: at most ${MAX_TAGS}.`)
  }

  return [...tags]
}

export function parseVisibility(value: string | null | undefined): Visibility {
  if (value === null || value === undefined || value === '') {
    return 'public'
  }
  if (value !== 'public' && value !== 'private') {
    throw invalidField('visibility', 'Invalid visibility: use "public" or "private".')
  }

  return value
}

/**
 * Reduces a client file name to a safe display name: the last path segment,
 * without control or bidirectional override characters, bounded in length.
 * The name is only stored; object keys never contain it.
 */
export function sanitiseOriginalName(value: string | null | undefined): string | null {
  if (!value) {
    return null
  }

  const base = value.split(/[/\\]/).pop() ?? ''
  // Cut at whole code points, so a character outside the BMP is never split in half.
  let cleaned = ''
  for (const character of base.replace(UNSAFE_NAME_CHARACTERS, '').trim()) {
    if (cleaned.length + character.length > MAX_NAME_LENGTH) {
      break
    }
    cleaned += character
  }

  return cleaned === '' || cleaned === '.' || cleaned === '..' ? null : cleaned
}
