import { Writable, type Readable } from 'node:stream'
import { pipeline as pipeStreams } from 'node:stream/promises'
import { AppError, isAppError } from '../errors.js'
import { type FileFields, parseFolder, parseTags, parseVisibility, sanitiseOriginalName } from './fields.js'
import { Inspector, type InspectionResult, tooLarge } from './inspector.js'
import type { MediaType } from './media-types.js'
import type { Admission, IngestPipeline, PipelineLogger } from './pipeline.js'
import { resolveDeclaredType } from './pipeline.js'
import type {
  FileRecord,
  MetadataRepository,
  ObjectStore,
  Principal,
  UploadRecord,
} from './ports.js'
import { createResumableSha256, createStreamingSha256 } from './sha256.js'

/** The `Upload-Metadata` keys a client may send, decoded. */
export type UploadMetadata = Record<string, string | null | undefined>

function firstOf(metadata: UploadMetadata, keys: readonly string[]): string | null {
  for (const key of keys) {
    const value = metadata[key]
    if (typeof value === 'string' && value !== '') {
      return value
    }
  }

  return null
}

/** Reads the facts of an upload from tus metadata, with the key names Uppy and tus-js-client use. */
export function readUploadMetadata(metadata: UploadMetadata) {
  // Postgres text and jsonb cannot hold NUL, and no metadata value needs one.
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value === 'string' && value.includes('\u0000')) {
      throw new AppError('bad_request', `Invalid Upload-Metadata: the value of "${key}" contains a NUL character.`, {
        details: { field: key },
      })
    }
  }

  const fields: FileFields = {
    folder: parseFolder(metadata.folder),
    tags: parseTags(metadata.tags ? [metadata.tags] : []),
    visibility: parseVisibility(metadata.visibility),
  }

  return {
    contentType: firstOf(metadata, ['filetype', 'type', 'content_type', 'contentType']),
    originalName: sanitiseOriginalName(firstOf(metadata, ['filename', 'name'])),
    fields,
  }
}

/** Returns the file id: the last segment of the datastore key `<project>/<mode>/<file id>`. */
export function fileIdOfKey(storeKey: string): string {
  return storeKey.slice(storeKey.lastIndexOf('/') + 1)
}

/**
 * The resumable upload store underneath (tus FileStore or S3UploadStore), keyed by
 * the datastore key: it writes bytes at an offset and removes an unfinished
 * upload with everything it holds, an open S3 multipart upload included.
 */
export interface UploadStore {
  write(body: Readable, storeKey: string, offset: number): Promise<number>
  remove(storeKey: string): Promise<void>
  getUpload(storeKey: string): Promise<{ offset: number; size?: number }>
}

/** Runs work while holding the upload's tus lock, so no request writes it meanwhile. */
export type UploadLockRunner = <T>(storeKey: string, work: () => Promise<T>) => Promise<T>

const runUnlocked: UploadLockRunner = (_storeKey, work) => work()

/**
 * The pipeline's steps for a resumable upload, which spread over many
 * requests: admission at creation, inspection on every PATCH with its state
 * saved beside the offset, and commit or abort at the end.
 */
export class ResumableUploads {
  constructor(
    private readonly pipeline: IngestPipeline,
    private readonly metadata: MetadataRepository,
    private readonly objects: ObjectStore,
    private readonly store: UploadStore,
    private readonly logger: PipelineLogger,
    private readonly expirationMs: number,
    private readonly runLocked: UploadLockRunner = runUnlocked,
  ) {}

  /** Admits a new upload (415, 413, 429, 400 for bad fields) and records it. */
  async create(principal: Principal, storeKey: string, size: number | null, metadata: UploadMetadata) {
    const declared = readUploadMetadata(metadata)
    const fileId = fileIdOfKey(storeKey)
    // A deferred length reserves nothing yet; the reservation follows once the length is declared.
    const admission = await this.pipeline.admit(
      principal,
      { contentType: declared.contentType, originalName: declared.originalName, size, reserveBytes: 0 },
      fileId,
    )
    const record: UploadRecord = {
      id: fileId,
      projectId: principal.projectId,
      mode: principal.mode,
      storeKey,
      declaredType: admission.type.mime,
      size,
      originalName: declared.originalName,
      folder: declared.fields.folder,
      tags: declared.fields.tags,
      visibility: declared.fields.visibility,
      inspection: null,
      status: 'open',
      expiresAt: new Date(Date.now() + this.expirationMs),
    }
    try {
      await this.metadata.createUpload(record)
    } catch (error) {
      await this.metadata.release(fileId)
      throw error
    }

    return record
  }

  /** Finds an upload that was not aborted: open, or completed and possibly committed. */
  private async findUpload(storeKey: string): Promise<UploadRecord> {
    const upload = await this.metadata.findUpload(fileIdOfKey(storeKey))
    if (!upload || upload.storeKey !== storeKey || upload.status === 'aborted') {
      throw new AppError('not_found', 'No such upload.')
    }

    return upload
  }

  /**
   * Inspects one PATCH's bytes on their way into the datastore. A mismatched
   * type or an upload past its limit ends the whole upload, so the client stops.
   */
  async write(storeKey: string, offset: number, body: Readable) {
    const upload = await this.findUpload(storeKey)
    if (upload.status === 'completed') {
      // The last PATCH was stored and committed; a repeat of it carries no new bytes.
      body.resume()

      return upload.size ?? offset
    }

    const type = resolveDeclaredType(upload.declaredType)
    const inspector = await this.createInspector(upload, type, offset)
    body.on('error', (error) => inspector.destroy(error))
    // Datastores replace a stream's error with their own (FileStore: a 500), so keep the inspector's verdict.
    let verdict: unknown = null
    inspector.once('error', (error) => {
      verdict = error
    })
    try {
      const newOffset = await this.store.write(body.pipe(inspector), storeKey, offset)
      await this.metadata.saveInspection(upload.id, inspector.save(newOffset - offset))
      if (upload.size === null) {
        await this.reserveStoredBytes(upload, type, newOffset)
      }

      return newOffset
    } catch (thrown) {
      // Every byte was stored and the store closed its upload, but the process died before
      // the commit: a repeated last PATCH cannot write again, and tus then finishes it.
      if (verdict === null && (await this.isFullyStored(upload, offset))) {
        return offset
      }

      const error = verdict ?? thrown
      if (isAppError(error) && !error.isServerError) {
        await this.abort(upload, () => this.store.remove(storeKey))
        throw error
      }
      await this.metadata.saveInspection(upload.id, null)
      throw error
    }
  }

  /**
   * Reserves what a deferred upload has stored so far, so its bytes count
   * against the quota before its length is known. An upload past the quota
   * ends here; it overshoots by at most one request.
   */
  private async reserveStoredBytes(upload: UploadRecord, type: MediaType, storedBytes: number) {
    await this.pipeline.reserve(admissionOf(upload, type, this.pipeline.limitFor(type.category)).principal, upload.id, storedBytes)
  }

  private async createInspector(upload: UploadRecord, type: MediaType, offset: number) {
    const limitBytes = this.pipeline.limitFor(type.category)
    const saved = upload.inspection
    const common = { declared: type, limitBytes, offset, size: upload.size }
    if (offset === 0) {
      return new Inspector({ ...common, sha256: await createResumableSha256(), saved: null })
    }
    if (saved && saved.offset === offset) {
      return new Inspector({ ...common, sha256: await createResumableSha256(saved.hashState), saved })
    }

    // The saved state does not cover the bytes before this offset, so this
    // request only counts bytes, and the finished file is inspected again from storage.
    return new Inspector({ ...common, sha256: null, saved: null, isCountOnly: true })
  }

  /** Changes a deferred upload's size once it is known: limit and reservation follow it. */
  async declareLength(storeKey: string, size: number) {
    const upload = await this.findUpload(storeKey)
    const type = resolveDeclaredType(upload.declaredType)
    const limitBytes = this.pipeline.limitFor(type.category)
    if (size > limitBytes) {
      await this.abort(upload, () => this.store.remove(storeKey))
      throw tooLarge({ declared: type, limitBytes })
    }

    try {
      await this.pipeline.reserve(admissionOf(upload, type, this.pipeline.limitFor(type.category)).principal, upload.id, size)
    } catch (error) {
      // An upload that cannot fit will not finish, so it ends now instead of at expiry.
      await this.abort(upload, () => this.store.remove(storeKey))
      throw error
    }
    await this.metadata.setUploadSize(upload.id, size)
  }

  /**
   * Commits a finished upload: the hash and type come from the saved state
   * when it covers every byte, otherwise from reading the object back.
   * Finishing twice returns the same file.
   */
  async finish(storeKey: string): Promise<FileRecord> {
    const upload = await this.findUpload(storeKey)
    if (upload.status === 'completed') {
      const file = await this.metadata.findFile(upload.projectId, upload.mode, upload.id)
      if (file) {
        return file
      }
    }

    const type = resolveDeclaredType(upload.declaredType)
    try {
      const result = await this.inspectFinished(upload, type)
      await this.pipeline.confirmContainer(storeKey, type, result)

      return await this.pipeline.commit(admissionOf(upload, type, this.pipeline.limitFor(type.category)), result, upload)
    } catch (error) {
      if (isAppError(error) && !error.isServerError) {
        await this.abort(upload, () => this.objects.delete(storeKey))
      }
      throw error
    }
  }

  private async inspectFinished(upload: UploadRecord, type: MediaType): Promise<InspectionResult> {
    const saved = upload.inspection
    const size = upload.size ?? 0
    if (saved && saved.offset === size && saved.detectedType !== null) {
      const inspector = new Inspector({
        declared: type,
        limitBytes: this.pipeline.limitFor(type.category),
        offset: size,
        size,
        sha256: await createResumableSha256(saved.hashState),
        saved,
      })

      return inspector.result()
    }

    this.logger.warn(
      { type: 'upload', uploadId: upload.id, savedOffset: saved?.offset ?? null, size },
      'saved inspection state does not cover the upload; reading it back',
    )
    const inspector = new Inspector({
      declared: type,
      limitBytes: this.pipeline.limitFor(type.category),
      offset: 0,
      size,
      isWholeStream: true,
      sha256: createStreamingSha256(),
    })
    const discard = new Writable({ write: (_chunk, _encoding, callback) => callback() })
    await pipeStreams(await this.objects.read(upload.storeKey), inspector, discard)

    return inspector.result()
  }

  /** Ends an upload that will not finish: removes its bytes, releases its reservation, marks it. */
  async abort(upload: Pick<UploadRecord, 'id' | 'storeKey'>, removeStored: () => Promise<void>) {
    try {
      await removeStored()
    } catch (error) {
      this.logger.warn(
        { type: 'upload', uploadId: upload.id, err: error },
        'could not remove the bytes of an aborted upload',
      )
    }
    await this.pipeline.abort(upload.id, upload.storeKey)
    await this.metadata.markUploadAborted(upload.id)
  }

  /** Returns when an unfinished upload expires, or null for a finished or unknown one. */
  async findExpiry(storeKey: string): Promise<Date | null> {
    const upload = await this.metadata.findUpload(fileIdOfKey(storeKey))
    if (!upload || upload.storeKey !== storeKey || upload.status !== 'open') {
      return null
    }

    return upload.expiresAt
  }

  /** Ends an unfinished upload at the client's request (tus termination). */
  async terminate(storeKey: string) {
    const upload = await this.findUpload(storeKey)
    await this.abort(upload, () => this.store.remove(storeKey))
  }

  /**
   * Ends every unfinished upload past its expiry, under its tus lock so no
   * request is writing it; returns how many. An upload whose bytes are all
   * stored but never committed (the process died in between) is committed.
   */
  async cleanupExpired(now = new Date()) {
    const expired = await this.metadata.listExpiredUploads(now)
    for (const upload of expired) {
      await this.endExpired(upload)
    }

    return expired.length
  }

  /**
   * Ends one expired upload under its tus lock: commits it when every byte is
   * stored, otherwise aborts it. Returns what happened, or 'skipped' when the
   * upload was no longer open.
   */
  async endExpired(upload: Pick<UploadRecord, 'id' | 'storeKey'>): Promise<'committed' | 'aborted' | 'skipped'> {
    return this.runLocked(upload.storeKey, async () => {
      const current = await this.metadata.findUpload(upload.id)
      if (current?.status !== 'open') {
        return 'skipped'
      }
      if (await this.isFullyStored(current)) {
        try {
          await this.finish(current.storeKey)

          return 'committed'
        } catch (error) {
          this.logger.warn({ type: 'cleanup', uploadId: current.id, err: error }, 'could not commit a stored upload')

          return 'skipped'
        }
      }
      await this.abort(current, () => this.store.remove(current.storeKey))

      return 'aborted'
    })
  }

  /**
   * Checks that the store contains every byte of an upload as a finished
   * object. S3 has the object only once the multipart upload is complete.
   */
  private async isFullyStored(upload: UploadRecord, offset?: number): Promise<boolean> {
    if (upload.size === null || (offset !== undefined && offset !== upload.size)) {
      return false
    }

    const stored = await this.store.getUpload(upload.storeKey).catch(() => null)
    if (stored === null || stored.offset !== upload.size) {
      return false
    }

    return this.objects.exists(upload.storeKey).catch(() => false)
  }

  /**
   * Commits an upload found complete in the store but not in the database,
   * as after a crash between the two. Any other upload is left as it is.
   */
  async finishIfStored(storeKey: string) {
    const upload = await this.metadata.findUpload(fileIdOfKey(storeKey))
    if (!upload || upload.storeKey !== storeKey || upload.status !== 'open') {
      return
    }
    if (await this.isFullyStored(upload)) {
      await this.finish(storeKey)
    }
  }
}

/**
 * Rebuilds the admission of an upload from its row, for the steps after
 * creation. The uploader's token is not needed there, so scopes stay empty.
 */
function admissionOf(upload: UploadRecord, type: MediaType, limitBytes: number): Admission {
  return {
    fileId: upload.id,
    key: upload.storeKey,
    principal: { projectId: upload.projectId, mode: upload.mode, scopes: [], tokenId: '' },
    type,
    limitBytes,
    originalName: upload.originalName,
  }
}
