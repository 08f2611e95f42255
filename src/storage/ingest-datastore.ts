/**
 * A tus datastore that wraps the real one (FileStore or S3UploadStore) and sends
 * every byte through the ingest pipeline. The tus upload id is the datastore
 * key `<project>/<mode>/<file id>`, the same key the finished object keeps, so
 * a finished upload needs no copy.
 */
import type { Readable } from 'node:stream'
import { DataStore, ERRORS, type Upload } from '@tus/utils'
import type { ResumableUploads } from '../uploads/resumable.js'
import { fileIdOfKey } from '../uploads/resumable.js'

const SUPPORTED_EXTENSIONS = [
  'creation',
  'creation-with-upload',
  'creation-defer-length',
  'termination',
  'expiration',
]

export class IngestDataStore extends DataStore {
  private readonly inner: DataStore
  private uploads: ResumableUploads | null = null

  constructor(inner: DataStore) {
    super()
    this.inner = inner
    this.extensions = inner.extensions.filter((name) => SUPPORTED_EXTENSIONS.includes(name))
  }

  /** Connects the pipeline, which itself writes through this store's inner datastore. */
  attach(uploads: ResumableUploads) {
    this.uploads = uploads
  }

  private get pipeline(): ResumableUploads {
    if (!this.uploads) {
      throw new Error('IngestDataStore used before attach()')
    }

    return this.uploads
  }

  override async create(upload: Upload): Promise<Upload> {
    try {
      return await this.inner.create(upload)
    } catch (error) {
      // Admission already reserved quota for this upload; give it back.
      await this.pipeline.abort({ id: fileIdOfKey(upload.id), storeKey: upload.id }, async () => {})
      throw error
    }
  }

  override async write(stream: Readable, id: string, offset: number): Promise<number> {
    return this.pipeline.write(id, offset, stream)
  }

  override async getUpload(id: string): Promise<Upload> {
    return this.inner.getUpload(id)
  }

  override async remove(id: string): Promise<void> {
    await this.inner.getUpload(id).catch(() => {
      throw ERRORS.FILE_NOT_FOUND
    })
    await this.pipeline.terminate(id)
  }

  override async declareUploadLength(id: string, size: number): Promise<void> {
    await this.pipeline.declareLength(id, size)
    await this.inner.declareUploadLength(id, size)
  }

  override getExpiration(): number {
    return this.inner.getExpiration()
  }

  override async deleteExpired(): Promise<number> {
    return this.pipeline.cleanupExpired()
  }
}
