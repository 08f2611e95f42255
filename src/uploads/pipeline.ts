import { pipeline as pipeStreams } from 'node:stream/promises'
import type { Readable } from 'node:stream'
import { monotonicFactory } from 'ulid'
import { AppError, isAppError, storageError } from '../errors.js'
import type { FileFields } from './fields.js'
import { Inspector, type InspectionResult, mismatch } from './inspector.js'
import { detectStreamType } from './sniff.js'
import {
  CATEGORY_LIMIT_BYTES,
  type Category,
  type MediaType,
  findMediaType,
  normaliseMediaType,
} from './media-types.js'
import type { FileRecord, MetadataRepository, ObjectStore, Principal } from './ports.js'
import { createStreamingSha256 } from './sha256.js'

const nextUlid = monotonicFactory()

export const FILE_ID_PATTERN = /^f_[0-9A-HJKMNP-TV-Z]{26}$/

const CATEGORIES = Object.keys(CATEGORY_LIMIT_BYTES) as Category[]

export function createFileId(): string {
  return `f_${nextUlid()}`
}

/** Object key of a file: project, mode and file id, and never the client's file name. */
export function objectKeyFor(principal: Pick<Principal, 'projectId' | 'mode'>, fileId: string) {
  return `${principal.projectId}/${principal.mode}/${fileId}`
}

/** The facts a client declares about a file before its bytes arrive. */
export interface Declaration {
  contentType: string | null
  originalName: string | null
  /** Total bytes when known, such as tus `Upload-Length`; checked against the category limit. */
  size: number | null
  /** An upper bound to reserve when the size is unknown, such as a request's `Content-Length`. */
  reserveBytes?: number | null
}

/** An upload that passed admission, with a quota reservation under its file id. */
export interface Admission {
  fileId: string
  key: string
  principal: Principal
  type: MediaType
  limitBytes: number
  originalName: string | null
}

export interface PipelineLogger {
  warn(details: object, message: string): void
}

/**
 * Resolves a declared Content-Type to an accepted media type: 400 when it is
 * missing or malformed, 415 when the gateway does not accept it.
 */
export function resolveDeclaredType(contentType: string | null): MediaType {
  if (!contentType) {
    throw new AppError('bad_request', 'The file has no Content-Type. Declare the type of the file.')
  }

  const mime = normaliseMediaType(contentType)
  if (!mime) {
    throw new AppError('bad_request', `Invalid Content-Type "${contentType.slice(0, 100)}".`)
  }

  const type = findMediaType(mime)
  if (!type) {
    const message =
      `Files of type ${mime} are not accepted. Declare the file's real type in its Content-Type ` +
      '(with curl: -F "file=@clip.mp4;type=video/mp4"); the README lists the accepted types.'
    throw new AppError('unsupported_media_type', message, {
      details: { content_type: mime },
    })
  }

  return type
}

function quotaExceeded(metric: string, quotas: unknown): AppError {
  return new AppError('quota_exceeded', `This upload would take ${metric} over its limit.`, {
    details: { metric, quotas },
  })
}

/**
 * The ingest pipeline shared by both ways in: admit, inspect while storing,
 * then commit or abort. It talks only to its two ports.
 */
export class IngestPipeline {
  constructor(
    private readonly objects: ObjectStore,
    private readonly metadata: MetadataRepository,
    private readonly logger: PipelineLogger,
    /** A deployment's cap on every category limit, or null for the category limits alone. */
    private readonly maxFileBytes: number | null = null,
  ) {}

  /** Returns the size limit of a category, lowered to the deployment's cap when one is set. */
  limitFor(category: Category): number {
    return Math.min(CATEGORY_LIMIT_BYTES[category], this.maxFileBytes ?? Number.POSITIVE_INFINITY)
  }

  /** Returns the largest size limit of any category, which no file of any type may pass. */
  largestLimit(): number {
    return Math.max(...CATEGORIES.map((category) => this.limitFor(category)))
  }

  /** Returns the smallest size limit of any category. */
  smallestLimit(): number {
    return Math.min(...CATEGORIES.map((category) => this.limitFor(category)))
  }

  /**
   * Admits an upload before its first byte: supported type (415), size within
   * the category limit (413), and a quota reservation (429) for the declared
   * size, or for the category limit when the size is not known yet.
   */
  async admit(principal: Principal, declaration: Declaration, fileId = createFileId()) {
    const type = resolveDeclaredType(declaration.contentType)
    const limitBytes = this.limitFor(type.category)
    if (declaration.size !== null && declaration.size > limitBytes) {
      throw new AppError(
        'too_large',
        `The file is larger than the ${limitBytes}-byte limit for ${type.category} files.`,
        { details: { limit: limitBytes, category: type.category } },
      )
    }

    const bound = declaration.size ?? declaration.reserveBytes ?? limitBytes
    await this.reserve(principal, fileId, Math.min(bound, limitBytes))

    const admission: Admission = {
      fileId,
      key: objectKeyFor(principal, fileId),
      principal,
      type,
      limitBytes,
      originalName: declaration.originalName,
    }

    return admission
  }

  /** Reserves quota for an upload, or throws 429 with every quota of the tier. */
  async reserve(principal: Principal, uploadId: string, bytes: number) {
    const result = await this.metadata.reserve({
      projectId: principal.projectId,
      mode: principal.mode,
      uploadId,
      bytes,
    })
    if (!result.isGranted) {
      throw quotaExceeded(result.metric, result.quotas)
    }
  }

  /**
   * Throws the 429 that reserving bytes would throw now, without reserving
   * them, so a request can be rejected before its body is read.
   */
  async checkQuota(principal: Principal, bytes: number) {
    const result = await this.metadata.checkQuota({ projectId: principal.projectId, mode: principal.mode, bytes })
    if (!result.isGranted) {
      throw quotaExceeded(result.metric, result.quotas)
    }
  }

  /** Streams a whole body through inspection into the object store. */
  async store(admission: Admission, body: Readable): Promise<InspectionResult> {
    // stream.pipeline never settles for a source destroyed before it was attached (Node 20).
    if (body.destroyed) {
      throw new AppError('bad_request', 'The request ended before the file was received.')
    }

    const inspector = new Inspector({
      declared: admission.type,
      limitBytes: admission.limitBytes,
      offset: 0,
      size: null,
      isWholeStream: true,
      sha256: createStreamingSha256(),
    })
    const stored = this.objects.put(admission.key, inspector, admission.type.mime)
    // A store that fails stops reading, so the inspector is ended too or the body would stall.
    stored.catch((error: Error) => inspector.destroy(error))
    const [piped, put] = await Promise.allSettled([pipeStreams(body, inspector), stored])
    // The inspector's own verdict (mismatch, too large) explains a failure better than the store's.
    if (piped.status === 'rejected' && piped.reason instanceof AppError) {
      throw piped.reason
    }
    if (put.status === 'rejected') {
      throw isAppError(put.reason) ? put.reason : storageError('Storing the file failed.', put.reason)
    }
    if (piped.status === 'rejected') {
      throw piped.reason
    }

    const result = inspector.result()
    await this.confirmContainer(admission.key, admission.type, result)

    return result
  }

  /** Reads a stored ZIP back to confirm its office format when the head could not tell. */
  async confirmContainer(key: string, type: MediaType, result: InspectionResult) {
    if (!result.needsContainerCheck) {
      return
    }

    const detected = await detectStreamType(await this.objects.read(key))
    if (detected !== type.mime) {
      throw mismatch(type.mime, detected)
    }
  }

  /** Writes the file row and turns the reservation into usage, in one transaction. */
  async commit(admission: Admission, result: InspectionResult, fields: FileFields) {
    const now = new Date()
    const record: FileRecord = {
      id: admission.fileId,
      projectId: admission.principal.projectId,
      mode: admission.principal.mode,
      key: admission.key,
      size: result.size,
      contentType: result.contentType,
      sha256: result.sha256,
      originalName: admission.originalName,
      tags: fields.tags,
      folder: fields.folder,
      abuseStatus: 'clean',
      visibility: fields.visibility,
      storageClass: 'standard',
      createdAt: now,
      updatedAt: now,
    }

    return this.metadata.commitFile(record)
  }

  /**
   * Deletes whatever was stored for an upload and releases its reservation.
   * Each step runs even when the other fails; failures are logged, not thrown,
   * because abort runs on a path that is already failing.
   */
  async abort(fileId: string, key: string) {
    const results = await Promise.allSettled([
      this.objects.delete(key),
      this.metadata.release(fileId),
    ])
    for (const result of results) {
      if (result.status === 'rejected') {
        this.logger.warn(
          { type: 'pipeline', fileId, key, err: result.reason },
          'abort could not clean up an upload',
        )
      }
    }
  }
}
