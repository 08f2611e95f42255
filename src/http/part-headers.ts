import { Transform, type TransformCallback } from 'node:stream'

/** Maximum size of one part's header block that is scanned; busboy applies its own limits too. */
const MAX_HEADER_BLOCK_BYTES = 16 * 1024

/**
 * Records the raw `Content-Type` of each multipart part, in order, while the
 * body passes through unchanged. busboy reports a part without a Content-Type
 * as text/plain, and a file part must declare its type, so the raw header is
 * needed to tell the two apart. Parts without Content-Disposition are skipped,
 * as busboy skips them, and so are parts of another disposition.
 */
export class PartHeaderTap extends Transform {
  /** Content-Type of each part busboy reports, in order; null where the part had none. */
  readonly contentTypes: (string | null)[] = []
  private readonly delimiter: Buffer
  private carry: Buffer = Buffer.alloc(0)
  private headerBlock: Buffer | null = null

  constructor(boundary: string) {
    super()
    this.delimiter = Buffer.from(`\r\n--${boundary}`)
    // The first delimiter may open the body without a preceding CRLF.
    this.carry = Buffer.from('\r\n')
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
    this.scan(chunk)
    callback(null, chunk)
  }

  private scan(chunk: Buffer) {
    let data: Buffer = Buffer.concat([this.carry, chunk])
    for (;;) {
      if (this.headerBlock !== null) {
        data = this.readHeaders(data)
        if (this.headerBlock !== null) {
          return
        }
        continue
      }

      const at = data.indexOf(this.delimiter)
      if (at === -1) {
        // Keep enough bytes to find a delimiter split across chunks.
        this.carry = data.subarray(Math.max(0, data.length - this.delimiter.length + 1))

        return
      }
      data = data.subarray(at + this.delimiter.length)
      this.headerBlock = Buffer.alloc(0)
    }
  }

  /** Collects header bytes up to the blank line; returns what follows them. */
  private readHeaders(data: Buffer): Buffer {
    const block = Buffer.concat([this.headerBlock as Buffer, data])
    const end = block.indexOf('\r\n\r\n')
    if (end === -1) {
      if (block.length > MAX_HEADER_BLOCK_BYTES) {
        this.headerBlock = null
        this.carry = Buffer.alloc(0)

        return Buffer.alloc(0)
      }
      this.headerBlock = block
      this.carry = Buffer.alloc(0)

      return Buffer.alloc(0)
    }

    this.recordPart(block.subarray(0, end).toString('latin1'))
    this.headerBlock = null
    this.carry = Buffer.alloc(0)

    return block.subarray(end + 4)
  }

  private recordPart(block: string) {
    // The closing delimiter is followed by "--", not by headers.
    if (block.startsWith('--')) {
      return
    }

    const headers = new Map<string, string>()
    for (const line of block.split('\r\n')) {
      const colon = line.indexOf(':')
      const name = line.slice(0, colon).trim().toLowerCase()
      // busboy keeps the first of a repeated part header, so the declared type is read the same way.
      if (colon > 0 && !headers.has(name)) {
        headers.set(name, line.slice(colon + 1).trim())
      }
    }
    // busboy reports only parts whose disposition is form-data.
    if (/^form-data\s*(;|$)/i.test(headers.get('content-disposition') ?? '')) {
      this.contentTypes.push(headers.get('content-type') ?? null)
    }
  }
}
