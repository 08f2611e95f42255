/**
 * Streaming validation of text bytes: UTF-8 (optionally with a BOM), or UTF-16
 * when a byte order mark selects it, and no NUL characters. The state that crosses a
 * chunk boundary is only the incomplete code unit or sequence at the end, so it can
 * be saved between requests and restored on another process.
 */

export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be'

export interface TextCheckState {
  /** Undefined until the first bytes decide it. */
  encoding?: TextEncoding
  /** Bytes of an incomplete character carried to the next chunk (at most 3). */
  pending: Uint8Array
  /** Bytes seen so far, used to decide the encoding from the first 3 bytes. */
  seenBytes: number
  isValid: boolean
}

export function createTextCheckState(): TextCheckState {
  return { pending: new Uint8Array(0), seenBytes: 0, isValid: true }
}

function detectEncoding(head: Uint8Array): TextEncoding {
  if (head[0] === 0xff && head[1] === 0xfe) {
    return 'utf-16le'
  }
  if (head[0] === 0xfe && head[1] === 0xff) {
    return 'utf-16be'
  }

  return 'utf-8'
}

/** Returns the length of a UTF-8 sequence from its lead byte; 1 for ASCII and stray bytes. */
function utf8SequenceLength(leadByte: number): number {
  if (leadByte >= 0xf0) {
    return 4
  }
  if (leadByte >= 0xe0) {
    return 3
  }
  if (leadByte >= 0xc0) {
    return 2
  }

  return 1
}

/** Length of the trailing bytes that start a UTF-8 sequence the chunk does not finish. */
function incompleteUtf8Tail(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back]
    if ((byte & 0xc0) === 0x80) {
      continue
    }

    const needed = utf8SequenceLength(byte)

    return needed > back ? back : 0
  }

  return 0
}

/** Length of the trailing bytes of an odd byte or a high surrogate whose pair is still to come. */
function incompleteUtf16Tail(bytes: Uint8Array, isLittleEndian: boolean): number {
  const odd = bytes.length % 2
  const whole = bytes.length - odd
  if (whole < 2) {
    return odd
  }

  const high = isLittleEndian ? bytes[whole - 1] : bytes[whole - 2]
  const isHighSurrogate = high >= 0xd8 && high <= 0xdb

  return odd + (isHighSurrogate ? 2 : 0)
}

function decodeStrict(bytes: Uint8Array, encoding: TextEncoding): string | undefined {
  try {
    return new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(bytes)
  } catch {
    return undefined
  }
}

/**
 * Feeds the next bytes of the stream. The encoding is decided from the first
 * chunk, so the first call should carry at least 2 bytes when the stream has them.
 */
export function updateTextCheck(state: TextCheckState, chunk: Uint8Array): TextCheckState {
  if (!state.isValid || chunk.length === 0) {
    return state
  }

  const bytes = concatBytes(state.pending, chunk)
  // A byte order mark needs two bytes, so a single first byte waits for the next chunk.
  if (state.encoding === undefined && bytes.length < 2) {
    return { ...state, pending: bytes.slice(), seenBytes: state.seenBytes + chunk.length }
  }

  const encoding = state.encoding ?? detectEncoding(bytes)
  const tail =
    encoding === 'utf-8'
      ? incompleteUtf8Tail(bytes)
      : incompleteUtf16Tail(bytes, encoding === 'utf-16le')
  const complete = bytes.subarray(0, bytes.length - tail)
  const text = decodeStrict(complete, encoding)
  const isValid = text !== undefined && !text.includes('\u0000')

  return {
    encoding,
    pending: bytes.slice(bytes.length - tail),
    seenBytes: state.seenBytes + chunk.length,
    isValid,
  }
}

/** Checks, after the last chunk, that the whole stream was valid text. */
export function isTextComplete(state: TextCheckState): boolean {
  if (state.encoding === undefined) {
    return state.isValid && decodeTextHead(state.pending) !== undefined
  }

  return state.isValid && state.pending.length === 0
}

function concatBytes(first: Uint8Array, second: Uint8Array): Uint8Array {
  if (first.length === 0) {
    return second
  }

  const joined = new Uint8Array(first.length + second.length)
  joined.set(first, 0)
  joined.set(second, first.length)

  return joined
}

/** Decodes a head of text for inspection, dropping the BOM and a trailing incomplete character. */
export function decodeTextHead(head: Uint8Array): string | undefined {
  if (head.length === 1) {
    return head[0] === 0 || head[0] > 0x7f ? undefined : String.fromCharCode(head[0])
  }

  const state = updateTextCheck(createTextCheckState(), head)
  if (!state.isValid) {
    return undefined
  }
  if (state.encoding === undefined) {
    return ''
  }

  const complete = head.subarray(0, head.length - state.pending.length)
  const text = new TextDecoder(state.encoding).decode(complete)

  return text
}
