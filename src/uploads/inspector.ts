import { Transform, type TransformCallback } from 'node:stream'
import { AppError } from '../errors.js'
import type { MediaType } from './media-types.js'
import type { SavedInspection } from './ports.js'
import type { Sha256 } from './sha256.js'
import {
  SNIFF_HEAD_BYTES,
  UNKNOWN_TYPE,
  detectMediaType,
  isDetectedMatch,
  needsContainerCheck,
} from './sniff.js'
import {
  type TextCheckState,
  type TextEncoding,
  createTextCheckState,
  isTextComplete,
  updateTextCheck,
} from './text-check.js'

/**
 * Head bytes enough for a verdict before the full head has arrived: file-type
 * reads its first 4100 bytes for most formats.
 */
const EARLY_SNIFF_MIN_BYTES = 4100

/** Bytes hashed per turn of the event loop, so socket I/O goes on between turns. */
const HASH_SLICE_BYTES = 1024 * 1024
/** Bytes passed on but not hashed yet beyond which the stream waits for the hash. */
const MAX_UNHASHED_BYTES = 16 * 1024 * 1024

export interface InspectorOptions {
  declared: MediaType
  limitBytes: number
  /** Offset of the first byte this stream carries within the whole upload. */
  offset: number
  /** Total size when known; the type is decided at the latest when it is reached. */
  size: number | null
  /** This stream carries the whole file, so its end is the file's end (multipart bodies). */
  isWholeStream?: boolean
  /** The hash, fresh at offset 0 or loaded from saved state at `offset`; null when lost. */
  sha256: Sha256 | null
  saved?: SavedInspection | null
  /**
   * Only count bytes against the limit: for a request whose earlier bytes the
   * saved state does not cover, so neither hash nor text check can go on.
   */
  isCountOnly?: boolean
}

/** The findings of inspection once the whole upload has passed. */
export interface InspectionResult {
  size: number
  sha256: string
  contentType: string
  /** The head was a ZIP that only the whole stored file can confirm as the declared format. */
  needsContainerCheck: boolean
}

/**
 * A pass-through stream that checks bytes on their way to storage: it holds
 * back the first bytes until their type is known and matches the declared one,
 * counts bytes against the category limit, validates text, and hashes.
 * Nothing of a mismatched head reaches storage.
 */
export class Inspector extends Transform {
  private readonly options: InspectorOptions
  private received = 0
  private head: Buffer[] = []
  private headBytes = 0
  private detectedType: string | null
  private isProvisional: boolean
  private text: TextCheckState | null
  private unhashed: Buffer[] = []
  private unhashedBytes = 0
  private hashing: Promise<void> | null = null

  constructor(options: InspectorOptions) {
    super()
    this.options = options
    const saved = options.saved
    this.detectedType = options.isCountOnly ? options.declared.mime : (saved?.detectedType ?? null)
    this.isProvisional = saved?.isProvisional ?? false
    if (saved?.head && this.detectedType === null) {
      const head = Buffer.from(saved.head, 'base64')
      this.head = [head]
      this.headBytes = head.length
    }
    this.text = restoreText(options, saved)
  }

  /** Bytes that passed through this stream. */
  get receivedBytes(): number {
    return this.received
  }

  override async _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
    try {
      this.received += chunk.length
      const total = this.options.offset + this.received
      if (total > this.options.limitBytes) {
        throw tooLarge(this.options)
      }

      if (this.options.sha256) {
        await this.queueHash(chunk)
      }
      if (this.text) {
        this.text = updateTextCheck(this.text, chunk)
        if (!this.text.isValid) {
          throw mismatch(this.options.declared.mime, 'application/octet-stream')
        }
      }

      if (this.detectedType !== null) {
        callback(null, chunk)

        return
      }

      this.head.push(chunk)
      this.headBytes += chunk.length
      const isEnd = this.options.size !== null && total >= this.options.size
      if (this.headBytes >= SNIFF_HEAD_BYTES || isEnd) {
        await this.decideType()
      }
      callback()
    } catch (error) {
      callback(error as Error)
    }
  }

  /**
   * Hashes a chunk after it has been passed on, between I/O callbacks, so
   * hashing overlaps the upload of the same bytes to storage. Waits only when
   * the bytes not hashed yet pass MAX_UNHASHED_BYTES.
   */
  private async queueHash(chunk: Buffer) {
    this.unhashed.push(chunk)
    this.unhashedBytes += chunk.length
    this.hashing ??= this.hashQueued()
    if (this.unhashedBytes > MAX_UNHASHED_BYTES) {
      await this.hashing
    }
  }

  private async hashQueued() {
    const sha256 = this.options.sha256 as Sha256
    // An index instead of shift(), which is linear in the queue length, so tiny chunks stay cheap.
    let next = 0
    while (next < this.unhashed.length) {
      await new Promise((resolve) => setImmediate(resolve))
      let sliceBytes = 0
      while (next < this.unhashed.length && sliceBytes < HASH_SLICE_BYTES) {
        const chunk = this.unhashed[next]
        next += 1
        sha256.update(chunk)
        sliceBytes += chunk.length
        this.unhashedBytes -= chunk.length
      }
    }
    this.unhashed = []
    this.hashing = null
  }

  override async _flush(callback: TransformCallback) {
    try {
      // The stream ends only once every byte is hashed, so result() and save() see the whole hash.
      while (this.hashing) {
        await this.hashing
      }
      const total = this.options.offset + this.received
      const isEnd = this.options.isWholeStream || (this.options.size !== null && total >= this.options.size)
      if (this.detectedType === null && isEnd) {
        await this.decideType()
      }
      // A request that ends before the full head still gets a verdict when its bytes suffice,
      // so a client sending small chunks learns of a mismatch after its first one.
      if (this.detectedType === null && this.headBytes >= EARLY_SNIFF_MIN_BYTES) {
        await this.decideTypeIfKnown()
      }
      // Held bytes of an unfinished head still go to storage; a copy stays in the saved state.
      if (this.detectedType === null) {
        this.pushStoredHead()
      }
      callback()
    } catch (error) {
      callback(error as Error)
    }
  }

  /** Decides the type from the head so far unless its bytes match nothing known yet. */
  private async decideTypeIfKnown() {
    const whole = Buffer.concat(this.head)
    const detected = await detectMediaType(whole)
    if (detected !== UNKNOWN_TYPE) {
      await this.decideType(whole, detected)
    }
  }

  /** Decides the type from the bytes held back, and lets them go on when it matches. */
  private async decideType(whole = Buffer.concat(this.head), known?: string) {
    const detected = known ?? (await detectMediaType(whole))
    if (!isDetectedMatch(this.options.declared, detected, whole)) {
      throw mismatch(this.options.declared.mime, detected)
    }

    this.detectedType = this.options.declared.mime
    this.isProvisional = needsContainerCheck(this.options.declared, detected)
    this.pushStoredHead()
    this.head = []
  }

  /** Pushes the part of the head that arrived in this stream; bytes from saved state are stored already. */
  private pushStoredHead() {
    const whole = Buffer.concat(this.head)
    const fromThisStream = whole.subarray(whole.length - Math.min(whole.length, this.received))
    if (fromThisStream.length > 0) {
      this.push(fromThisStream)
    }
  }

  /** Returns the result once the last byte has passed. Text must end on a whole character. */
  result(): InspectionResult {
    if (this.text && !isTextComplete(this.text)) {
      throw mismatch(this.options.declared.mime, 'application/octet-stream')
    }
    if (!this.options.sha256 || this.detectedType === null) {
      throw new Error('inspection is incomplete: the hash or the head was lost')
    }

    return {
      size: this.options.offset + this.received,
      sha256: this.options.sha256.digestHex(),
      contentType: this.detectedType,
      needsContainerCheck: this.isProvisional,
    }
  }

  /** State to save after `storedBytes` of this stream reached storage, or null when it cannot resume. */
  save(storedBytes: number): SavedInspection | null {
    const hashState = this.options.sha256?.save()
    if (!hashState || storedBytes !== this.received) {
      return null
    }

    const head = this.detectedType === null ? Buffer.concat(this.head).toString('base64') : null
    const text = this.text
      ? {
          encoding: this.text.encoding,
          pending: Buffer.from(this.text.pending).toString('base64'),
          seenBytes: this.text.seenBytes,
          isValid: this.text.isValid,
        }
      : null

    return {
      offset: this.options.offset + this.received,
      hashState,
      head,
      detectedType: this.detectedType,
      isProvisional: this.isProvisional,
      text,
    }
  }
}

function restoreText(options: InspectorOptions, saved?: SavedInspection | null) {
  const isText = options.declared.detection === 'text' || options.declared.detection === 'svg'
  if (options.isCountOnly || !isText) {
    return null
  }
  if (!saved?.text) {
    return createTextCheckState()
  }

  return {
    encoding: saved.text.encoding as TextEncoding | undefined,
    pending: Buffer.from(saved.text.pending, 'base64'),
    seenBytes: saved.text.seenBytes,
    isValid: saved.text.isValid,
  }
}

export function mismatch(declared: string, detected: string): AppError {
  return new AppError(
    'bad_request',
    `The file's bytes are ${detected}, not the declared ${declared}.`,
    { details: { declared_content_type: declared, detected_content_type: detected } },
  )
}

export function tooLarge(options: { declared: MediaType; limitBytes: number }): AppError {
  const { category } = options.declared

  return new AppError(
    'too_large',
    `The file is larger than the ${options.limitBytes}-byte limit for ${category} files.`,
    { details: { limit: options.limitBytes, category } },
  )
}
