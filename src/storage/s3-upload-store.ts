/**
 * The tus datastore for S3: one S3 multipart upload per tus upload, with its
 * state (parts, ETags, offset, tail) in the database instead of in S3.
 *
 * @tus/s3-store learns the state from S3 on every PATCH (ListParts twice,
 * HeadObject and GetObject of the incomplete part, besides the UploadPart).
 * This store reads one row, uploads parts while the request streams, and
 * writes the row back, so a PATCH of whole parts costs only its UploadParts.
 *
 * Part numbers follow the stored parts: the first part a PATCH uploads is
 * number `parts.length + 1`. After a crash between UploadPart and the state
 * write, the client resends from the recorded offset and the same numbers are
 * uploaded again, overwriting the unrecorded parts; CompleteMultipartUpload
 * names only recorded parts, so S3 discards any others.
 */
import type { Readable } from 'node:stream'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { DataStore, ERRORS, Upload } from '@tus/utils'
import type { S3UploadState, S3UploadStateRepository, StoredPart } from '../db/s3-upload-state.js'
import { deleteS3Objects, isS3NotFoundError, s3ObjectExists } from './s3.js'

/** S3's minimum size of every part but the last. */
const MIN_PART_BYTES = 5 * 1024 * 1024
const MAX_PARTS = 10_000
/** Parts uploading at once per request: with 8 MiB parts, about 40 MiB buffered at most. */
const PARTS_IN_FLIGHT = 4
const TAIL_SUFFIX = '.part'

export interface S3UploadStoreOptions {
  client: S3Client
  bucket: string
  partSizeBytes: number
  expirationMs: number
  states: S3UploadStateRepository
}

/** Bytes gathered for the next part, taken out in exact part sizes. */
class PartBuffer {
  private chunks: Buffer[] = []
  length = 0

  push(chunk: Buffer) {
    this.chunks.push(chunk)
    this.length += chunk.length
  }

  /** Removes and returns the first `bytes` bytes. */
  take(bytes: number): Buffer {
    const whole = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.length)
    const taken = whole.subarray(0, bytes)
    const rest = whole.subarray(bytes)
    this.chunks = rest.length > 0 ? [rest] : []
    this.length = rest.length

    return taken
  }
}

export class S3UploadStore extends DataStore {
  private readonly client: S3Client
  private readonly bucket: string
  private readonly states: S3UploadStateRepository

  constructor(private readonly options: S3UploadStoreOptions) {
    super()
    this.client = options.client
    this.bucket = options.bucket
    this.states = options.states
    this.extensions = ['creation', 'creation-with-upload', 'creation-defer-length', 'termination', 'expiration']
  }

  /** Chooses a part size that fits the upload in S3's 10,000 parts. */
  private partSizeFor(size: number | undefined): number {
    if (size === undefined) {
      return this.options.partSizeBytes
    }

    return Math.max(this.options.partSizeBytes, Math.ceil(size / MAX_PARTS))
  }

  override async create(upload: Upload): Promise<Upload> {
    upload.creation_date = new Date().toISOString()
    const created = await this.client.send(
      new CreateMultipartUploadCommand({
        Bucket: this.bucket,
        Key: upload.id,
        ContentType: upload.metadata?.contentType ?? undefined,
      }),
    )
    const state: S3UploadState = {
      key: upload.id,
      multipartUploadId: created.UploadId as string,
      size: upload.size ?? null,
      offset: 0,
      partSize: this.partSizeFor(upload.size),
      parts: [],
      tailKey: null,
      tailSize: 0,
      metadata: (upload.metadata ?? {}) as Record<string, string | null>,
      creationDate: upload.creation_date,
      isCompleted: false,
    }
    try {
      await this.states.insert(state)
      if (state.size === 0) {
        await this.complete(state)
      }
    } catch (error) {
      await this.abortMultipart(state).catch(() => {})
      await this.states.delete(state.key).catch(() => {})
      throw error
    }
    upload.storage = { type: 's3', path: upload.id, bucket: this.bucket }

    return upload
  }

  private async requireState(id: string): Promise<S3UploadState> {
    const state = await this.states.find(id)
    if (!state) {
      throw ERRORS.FILE_NOT_FOUND
    }

    return state
  }

  private toUpload(state: S3UploadState): Upload {
    return new Upload({
      id: state.key,
      size: state.size ?? undefined,
      offset: state.offset,
      metadata: state.metadata,
      creation_date: state.creationDate,
      storage: { type: 's3', path: state.key, bucket: this.bucket },
    })
  }

  override async getUpload(id: string): Promise<Upload> {
    const state = await this.requireState(id)
    // Every byte was recorded but the process stopped before CompleteMultipartUpload finished.
    if (!state.isCompleted && state.size !== null && state.offset === state.size) {
      await this.complete(state)
    }

    return this.toUpload(state)
  }

  /**
   * Stores one request's bytes from `offset`: the tail left by the last
   * request first, then every full part as soon as it is gathered. Bytes at
   * the end too few for a part go to a tail object. When the request body
   * fails, the bytes received are still stored and recorded before the error
   * is raised, so the client resumes after them.
   */
  override async write(body: Readable, id: string, offset: number): Promise<number> {
    const state = await this.requireState(id)
    if (state.isCompleted) {
      body.resume()

      return state.offset
    }
    if (offset !== state.offset) {
      throw ERRORS.INVALID_OFFSET
    }

    const buffer = new PartBuffer()
    if (state.tailKey && state.tailSize > 0) {
      buffer.push(await this.readTail(state.tailKey, state.tailSize))
    }
    const firstNumber = state.parts.length + 1
    const uploaded: StoredPart[] = []
    const inFlight = new Set<Promise<void>>()
    let startedParts = 0
    let partFailure: unknown = null
    const startPart = (bytes: Buffer) => {
      const slot = startedParts
      const number = firstNumber + slot
      startedParts += 1
      const task = this.uploadPart(state, number, bytes)
        .then((part) => {
          uploaded[slot] = part
        })
        .catch((error) => {
          partFailure ??= error
        })
        .finally(() => inFlight.delete(task))
      inFlight.add(task)
    }

    let received = 0
    let bodyFailure: unknown = null
    try {
      for await (const chunk of body) {
        received += chunk.length
        buffer.push(chunk)
        while (buffer.length >= state.partSize) {
          startPart(buffer.take(state.partSize))
          while (inFlight.size >= PARTS_IN_FLIGHT) {
            await Promise.race(inFlight)
          }
          if (partFailure) {
            throw partFailure
          }
        }
      }
    } catch (error) {
      bodyFailure = error
    }

    const isFinal = state.size !== null && state.offset + received === state.size
    const canStoreRest = partFailure === null && buffer.length > 0
    if (canStoreRest && (isFinal || buffer.length >= MIN_PART_BYTES)) {
      startPart(buffer.take(buffer.length))
    }
    await Promise.all(inFlight)

    const next = await this.recordParts(state, firstNumber, uploaded, startedParts, partFailure === null ? buffer : null)
    const failure = partFailure ?? bodyFailure
    if (failure) {
      throw failure
    }
    if (isFinal) {
      await this.complete(next)
    }

    return next.offset
  }

  /**
   * Saves the parts this request uploaded (the run without gaps from
   * `firstNumber`) and the new tail, then deletes the old tail. A tail is
   * named after the part number it will start, so a new tail never
   * overwrites the one the saved state still names.
   */
  private async recordParts(
    state: S3UploadState,
    firstNumber: number,
    uploaded: StoredPart[],
    startedParts: number,
    rest: PartBuffer | null,
  ): Promise<S3UploadState> {
    const contiguous: StoredPart[] = []
    for (let slot = 0; slot < startedParts && uploaded[slot]; slot += 1) {
      contiguous.push(uploaded[slot])
    }
    const isEveryPartStored = contiguous.length === startedParts && rest !== null
    if (contiguous.length === 0 && !(isEveryPartStored && rest.length > 0)) {
      return state
    }

    const parts = [...state.parts, ...contiguous]
    let tailKey: string | null = contiguous.length === 0 ? state.tailKey : null
    let tailSize = contiguous.length === 0 ? state.tailSize : 0
    if (isEveryPartStored && rest.length > 0) {
      tailKey = `${state.key}${TAIL_SUFFIX}.${firstNumber + contiguous.length}`
      const bytes = rest.take(rest.length)
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: tailKey, Body: bytes, ContentLength: bytes.length }),
      )
      tailSize = bytes.length
    }
    const partBytes = parts.reduce((sum, part) => sum + part.size, 0)
    const next: S3UploadState = { ...state, parts, tailKey, tailSize, offset: partBytes + tailSize }
    await this.states.save(next)
    if (state.tailKey && state.tailKey !== tailKey) {
      await deleteS3Objects(this.client, this.bucket, [state.tailKey])
    }

    return next
  }

  private async uploadPart(state: S3UploadState, number: number, bytes: Buffer): Promise<StoredPart> {
    const response = await this.client.send(
      new UploadPartCommand({
        Bucket: this.bucket,
        Key: state.key,
        UploadId: state.multipartUploadId,
        PartNumber: number,
        Body: bytes,
        ContentLength: bytes.length,
      }),
    )

    return { number, etag: response.ETag as string, size: bytes.length }
  }

  private async readTail(tailKey: string, tailSize: number): Promise<Buffer> {
    const response = await this.client.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: tailKey, Range: `bytes=0-${tailSize - 1}` }),
    )
    const bytes = Buffer.from(await (response.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray())
    if (bytes.length !== tailSize) {
      throw new Error(`tail object ${tailKey} has ${bytes.length} bytes; the upload state records ${tailSize}`)
    }

    return bytes
  }

  /**
   * Completes the multipart upload from the recorded parts. When S3 returns
   * NoSuchUpload and the object exists, an earlier attempt completed it.
   */
  private async complete(state: S3UploadState): Promise<void> {
    try {
      let parts = state.parts
      if (parts.length === 0) {
        // S3 needs one part even for an empty object, and only the last part may be empty.
        parts = [await this.uploadPart(state, 1, Buffer.alloc(0))]
      }
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: state.key,
          UploadId: state.multipartUploadId,
          MultipartUpload: { Parts: parts.map((part) => ({ PartNumber: part.number, ETag: part.etag })) },
        }),
      )
    } catch (error) {
      if (!isS3NotFoundError(error) || !(await s3ObjectExists(this.client, this.bucket, state.key))) {
        throw error
      }
    }
    state.isCompleted = true
    state.parts = []
    await this.states.save(state)
    // A crash between a tail's PutObject and the state write leaves a tail that no state names.
    await this.deleteTails(state.key)
  }

  private async deleteTails(key: string) {
    const listed = await this.client.send(
      new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${key}${TAIL_SUFFIX}` }),
    )
    await deleteS3Objects(this.client, this.bucket, (listed.Contents ?? []).map((object) => object.Key as string))
  }

  override async declareUploadLength(id: string, size: number): Promise<void> {
    const state = await this.requireState(id)
    await this.states.save({ ...state, size })
  }

  private async abortMultipart(state: S3UploadState) {
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: state.key, UploadId: state.multipartUploadId }),
      )
    } catch (error) {
      if (!isS3NotFoundError(error)) {
        throw error
      }
    }
  }

  /**
   * Removes an unfinished upload: aborts its multipart upload, deletes every
   * tail object (a crash may have left one the state does not name) and the
   * state row.
   */
  override async remove(id: string): Promise<void> {
    const state = await this.requireState(id)
    await this.abortMultipart(state)
    await this.deleteTails(state.key)
    await this.states.delete(id)
  }

  override getExpiration(): number {
    return this.options.expirationMs
  }
}
