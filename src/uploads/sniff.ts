import type { Readable } from 'node:stream'
import { fileTypeFromBuffer, fileTypeFromStream } from 'file-type'
import { type MediaType, normaliseMediaType } from './media-types.js'
import { decodeTextHead } from './text-check.js'

/**
 * Bytes read before the type is decided. file-type recognises most formats in
 * its first 4100 bytes, but ZIP-based office documents name their kind in an
 * entry that can sit further in, so the head is larger than that.
 */
export const SNIFF_HEAD_BYTES = 64 * 1024

/** The detected type reported when the bytes match no format the gateway recognises. */
export const UNKNOWN_TYPE = 'application/octet-stream'

const TEXT_CONTAINERS = new Set(['application/xml', 'text/xml'])

const SVG_ROOT = /^<(?:[A-Za-z_][\w.-]*:)?svg[\s>/]/
const XML_PROLOGUE = /^(?:\s+|<\?xml[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE[^>[]*(?:\[[\s\S]*?\])?\s*>)/

/** Checks whether a decoded text head is an XML document whose root element is `svg`. */
export function hasSvgRoot(text: string): boolean {
  let rest = text.replace(/^\uFEFF/, '')
  for (;;) {
    const prologue = XML_PROLOGUE.exec(rest)
    if (!prologue || prologue[0].length === 0) {
      break
    }
    rest = rest.slice(prologue[0].length)
  }

  return SVG_ROOT.test(rest)
}

/**
 * Detects the canonical media type of a head of bytes. Formats with magic
 * numbers come from file-type. Bytes without one are text when they decode
 * cleanly and carry no NUL, and SVG when that text is XML with an `svg` root.
 */
export async function detectMediaType(head: Uint8Array): Promise<string> {
  // FF FE, the UTF-16LE byte order mark, also reads as an MPEG audio frame header.
  if (hasUtf16Bom(head)) {
    const text = decodeTextHead(head)
    if (text !== undefined) {
      return hasSvgRoot(text) ? 'image/svg+xml' : 'text/plain'
    }
  }

  const detected = await fileTypeFromBuffer(head)
  // file-type names any document that opens with an XML declaration XML, SVG included.
  if (detected && !TEXT_CONTAINERS.has(detected.mime)) {
    return normaliseMediaType(detected.mime) ?? UNKNOWN_TYPE
  }

  // file-type reports a TIFF only once it finds the image directory, which may follow the pixels.
  if (hasTiffSignature(head)) {
    return 'image/tiff'
  }

  const text = decodeTextHead(head)
  if (text === undefined) {
    return UNKNOWN_TYPE
  }

  return hasSvgRoot(text) ? 'image/svg+xml' : 'text/plain'
}

function hasUtf16Bom(head: Uint8Array): boolean {
  return (head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)
}

function hasTiffSignature(head: Uint8Array): boolean {
  const isLittleEndian = head[0] === 0x49 && head[1] === 0x49 && head[2] === 0x2a && head[3] === 0x00
  const isBigEndian = head[0] === 0x4d && head[1] === 0x4d && head[2] === 0x00 && head[3] === 0x2a

  return isLittleEndian || isBigEndian
}

/** Detects the type of a whole stored file, for ZIP containers whose head was not enough. */
export async function detectStreamType(stream: Readable): Promise<string> {
  try {
    const detected = await fileTypeFromStream(stream)

    return detected ? (normaliseMediaType(detected.mime) ?? UNKNOWN_TYPE) : UNKNOWN_TYPE
  } finally {
    // Detection stops reading early; the rest of the object is not needed.
    stream.destroy()
  }
}

/** Whether the head matches provisionally: a ZIP that the whole file must confirm. */
export function needsContainerCheck(declared: MediaType, detected: string): boolean {
  return declared.detection === 'zip' && detected === 'application/zip'
}

/**
 * Checks whether bytes detected as `detected` may be stored as the declared type.
 * Text formats cannot be distinguished by their bytes, so any text matches a
 * declared text type. JSON must also start like a JSON document.
 */
export function isDetectedMatch(declared: MediaType, detected: string, head: Uint8Array): boolean {
  if (declared.detection !== 'text') {
    return declared.mime === detected || needsContainerCheck(declared, detected)
  }
  // Text can open with bytes that look like a signature ("BM", "ID3", "%PDF"). Clean text
  // is still text; the rest of the file is checked as text too, so no binary slips through.
  if (detected !== 'text/plain' && detected !== 'image/svg+xml' && decodeTextHead(head) !== undefined) {
    return declared.mime === 'application/json' ? startsLikeJson(head) : true
  }
  // An SVG is text too, and stored under a text type it is never rendered as an image.
  const isText = detected === 'text/plain' || (detected === 'image/svg+xml' && declared.mime !== 'application/json')
  if (!isText) {
    return false
  }
  if (declared.mime === 'application/json') {
    return startsLikeJson(head)
  }

  return true
}

function startsLikeJson(head: Uint8Array): boolean {
  const text = decodeTextHead(head)?.replace(/^\uFEFF/, '').trimStart()
  if (text === undefined || text.length === 0) {
    return false
  }

  return /^[[{"\-0-9tfn]/.test(text)
}
