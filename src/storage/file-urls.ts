/**
 * URLs of stored files. A public file's URL is `PUBLIC_MEDIA_URL/<key>`, or
 * on the embedded default without PUBLIC_MEDIA_URL, `<request origin>/files/<key>`.
 * A private file gets a new time-limited URL each time it is read: an S3
 * presigned GET, or in the embedded default a URL the gateway signs with an
 * HMAC and checks itself when it serves the file.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import type { FileRecord } from '../uploads/ports.js'

export interface FileUrls {
  /** Builds the URL of a file for a request that reached the gateway at `origin` (`scheme://host`). */
  urlFor(file: FileRecord, origin: string): Promise<string>
}

export class S3FileUrls implements FileUrls {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly publicMediaUrl: string,
    private readonly ttlSeconds: number,
  ) {}

  async urlFor(file: FileRecord, _origin: string): Promise<string> {
    if (file.visibility === 'public') {
      return `${this.publicMediaUrl}/${file.key}`
    }

    const command = new GetObjectCommand({ Bucket: this.bucket, Key: file.key })

    return getSignedUrl(this.client, command, { expiresIn: this.ttlSeconds })
  }
}

export class LocalFileUrls implements FileUrls {
  constructor(
    private readonly secret: Buffer,
    /** Base of file URLs; null means the gateway's own `/files` at the origin of each request. */
    private readonly publicMediaUrl: string | null,
    private readonly ttlSeconds: number,
  ) {}

  private sign(key: string, expires: number): string {
    return createHmac('sha256', this.secret).update(`${key}\n${expires}`).digest('hex')
  }

  async urlFor(file: FileRecord, origin: string): Promise<string> {
    const url = `${this.publicMediaUrl ?? `${origin}/files`}/${file.key}`
    if (file.visibility === 'public') {
      return url
    }

    const expires = Math.floor(Date.now() / 1000) + this.ttlSeconds

    return `${url}?expires=${expires}&signature=${this.sign(file.key, expires)}`
  }

  /** Checks a signature from a URL this class made, and that it has not expired. */
  isValid(key: string, expires: string | undefined, signature: string | undefined): boolean {
    const expiresAt = Number(expires)
    if (!Number.isInteger(expiresAt) || expiresAt < Date.now() / 1000 || !signature) {
      return false
    }

    const expected = Buffer.from(this.sign(key, expiresAt), 'hex')
    const given = Buffer.from(signature, 'hex')

    return given.length === expected.length && timingSafeEqual(given, expected)
  }
}

/** Reads the signing key kept in the data folder, creating it on first use. */
export function loadOrCreateSigningKey(dataDir: string): Buffer {
  const path = join(dataDir, 'signing.key')
  try {
    return Buffer.from(readFileSync(path, 'utf8').trim(), 'hex')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw error
    }
  }

  const key = randomBytes(32)
  mkdirSync(dataDir, { recursive: true })
  writeFileSync(path, key.toString('hex'), { mode: 0o600, flag: 'wx' })

  return key
}
