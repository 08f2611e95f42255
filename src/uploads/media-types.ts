/**
 * The media types the gateway accepts, the category each belongs to, and the
 * aliases clients send for them. Limits are per category and in bytes: the
 * product states them in MB, read here as decimal megabytes (1 MB = 1,000,000 bytes).
 */

export type Category = 'image' | 'video' | 'audio' | 'document'

const MB = 1_000_000

export const CATEGORY_LIMIT_BYTES: Readonly<Record<Category, number>> = Object.freeze({
  image: 50 * MB,
  video: 500 * MB,
  audio: 100 * MB,
  document: 50 * MB,
})

/**
 * The way a type is recognised: by magic bytes through file-type, or as text
 * by content. ZIP-based office formats are first recognised as a ZIP, and the
 * whole file confirms their kind, because the entry that names it may be the last one.
 */
export type Detection = 'magic' | 'text' | 'svg' | 'zip'

export interface MediaType {
  mime: string
  category: Category
  detection: Detection
}

const TYPES: readonly MediaType[] = [
  { mime: 'image/png', category: 'image', detection: 'magic' },
  { mime: 'image/jpeg', category: 'image', detection: 'magic' },
  { mime: 'image/gif', category: 'image', detection: 'magic' },
  { mime: 'image/webp', category: 'image', detection: 'magic' },
  { mime: 'image/avif', category: 'image', detection: 'magic' },
  { mime: 'image/heic', category: 'image', detection: 'magic' },
  { mime: 'image/tiff', category: 'image', detection: 'magic' },
  { mime: 'image/bmp', category: 'image', detection: 'magic' },
  { mime: 'image/svg+xml', category: 'image', detection: 'svg' },

  { mime: 'video/mp4', category: 'video', detection: 'magic' },
  { mime: 'video/quicktime', category: 'video', detection: 'magic' },
  { mime: 'video/webm', category: 'video', detection: 'magic' },
  { mime: 'video/matroska', category: 'video', detection: 'magic' },
  { mime: 'video/x-msvideo', category: 'video', detection: 'magic' },
  { mime: 'video/mpeg', category: 'video', detection: 'magic' },
  { mime: 'video/ogg', category: 'video', detection: 'magic' },

  { mime: 'audio/mpeg', category: 'audio', detection: 'magic' },
  { mime: 'audio/wav', category: 'audio', detection: 'magic' },
  { mime: 'audio/ogg', category: 'audio', detection: 'magic' },
  { mime: 'audio/flac', category: 'audio', detection: 'magic' },
  { mime: 'audio/aac', category: 'audio', detection: 'magic' },
  { mime: 'audio/mp4', category: 'audio', detection: 'magic' },

  { mime: 'application/pdf', category: 'document', detection: 'magic' },
  {
    mime: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    category: 'document',
    detection: 'zip',
  },
  {
    mime: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    category: 'document',
    detection: 'zip',
  },
  {
    mime: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
    category: 'document',
    detection: 'zip',
  },
  { mime: 'application/vnd.oasis.opendocument.text', category: 'document', detection: 'magic' },
  {
    mime: 'application/vnd.oasis.opendocument.spreadsheet',
    category: 'document',
    detection: 'magic',
  },
  {
    mime: 'application/vnd.oasis.opendocument.presentation',
    category: 'document',
    detection: 'magic',
  },
  { mime: 'text/plain', category: 'document', detection: 'text' },
  { mime: 'text/csv', category: 'document', detection: 'text' },
  { mime: 'text/markdown', category: 'document', detection: 'text' },
  { mime: 'application/json', category: 'document', detection: 'text' },
]

/** Non-canonical names, from clients and from file-type, mapped to the canonical type. */
const ALIASES: Readonly<Record<string, string>> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'image/x-png': 'image/png',
  'image/svg': 'image/svg+xml',
  'image/x-ms-bmp': 'image/bmp',
  'image/x-bmp': 'image/bmp',
  'image/heif': 'image/heic',
  'video/x-m4v': 'video/mp4',
  'video/mkv': 'video/matroska',
  'video/x-matroska': 'video/matroska',
  'video/avi': 'video/x-msvideo',
  'video/msvideo': 'video/x-msvideo',
  'video/vnd.avi': 'video/x-msvideo',
  'audio/mp3': 'audio/mpeg',
  'audio/mpeg3': 'audio/mpeg',
  'audio/x-mp3': 'audio/mpeg',
  'audio/x-mpeg': 'audio/mpeg',
  'audio/x-wav': 'audio/wav',
  'audio/wave': 'audio/wav',
  'audio/vnd.wave': 'audio/wav',
  'audio/x-pn-wav': 'audio/wav',
  'audio/x-flac': 'audio/flac',
  'audio/x-aac': 'audio/aac',
  'audio/x-m4a': 'audio/mp4',
  'audio/m4a': 'audio/mp4',
  'audio/x-ogg': 'audio/ogg',
  // Opus is stored in an Ogg container, and file-type reports it as audio/ogg.
  'audio/opus': 'audio/ogg',
  'application/x-pdf': 'application/pdf',
  'text/x-markdown': 'text/markdown',
  'text/comma-separated-values': 'text/csv',
  'text/x-csv': 'text/csv',
  'application/csv': 'text/csv',
  'text/json': 'application/json',
}

const BY_MIME = new Map(TYPES.map((type) => [type.mime, type]))

const MEDIA_TYPE_PATTERN = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/

/**
 * Normalises a Content-Type value: drops parameters such as `; charset=utf-8`,
 * lowercases it and resolves aliases. Returns undefined when the value is not a
 * syntactically valid media type.
 */
export function normaliseMediaType(value: string): string | undefined {
  const essence = value.split(';', 1)[0].trim().toLowerCase()
  if (!MEDIA_TYPE_PATTERN.test(essence)) {
    return undefined
  }

  return ALIASES[essence] ?? essence
}

/** Returns the accepted media type for a canonical mime, or undefined when it is not accepted. */
export function findMediaType(mime: string): MediaType | undefined {
  return BY_MIME.get(mime)
}

export function listMediaTypes(): readonly MediaType[] {
  return TYPES
}
