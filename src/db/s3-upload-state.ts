import type { Knex } from 'knex'

/** One S3 multipart part, as CompleteMultipartUpload needs it. */
export interface StoredPart {
  number: number
  etag: string
  size: number
}

/** The state the S3 upload store keeps per tus upload, one row of `tus_s3_uploads`. */
export interface S3UploadState {
  key: string
  multipartUploadId: string
  size: number | null
  /** Bytes stored: the parts plus the tail. */
  offset: number
  partSize: number
  /** Parts 1..n in order; their sizes add up to `offset - tailSize`. */
  parts: StoredPart[]
  /** Object holding the bytes after the last part, fewer than S3's minimum part size. */
  tailKey: string | null
  tailSize: number
  metadata: Record<string, string | null>
  creationDate: string
  isCompleted: boolean
}

interface StateRow {
  key: string
  multipart_upload_id: string
  size: string | number | null
  offset: string | number
  part_size: number
  parts: StoredPart[] | string
  tail_key: string | null
  tail_size: number
  metadata: Record<string, string | null> | string
  creation_date: string
  is_completed: boolean
}

/** Reads jsonb, which pg parses and PGlite may return as text. */
function parseJson<T>(value: T | string): T {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value
}

function toState(row: StateRow): S3UploadState {
  return {
    key: row.key,
    multipartUploadId: row.multipart_upload_id,
    size: row.size === null ? null : Number(row.size),
    offset: Number(row.offset),
    partSize: row.part_size,
    parts: parseJson(row.parts),
    tailKey: row.tail_key,
    tailSize: row.tail_size,
    metadata: parseJson(row.metadata),
    creationDate: row.creation_date,
    isCompleted: row.is_completed,
  }
}

function toRow(state: S3UploadState) {
  return {
    key: state.key,
    multipart_upload_id: state.multipartUploadId,
    size: state.size,
    offset: state.offset,
    part_size: state.partSize,
    parts: JSON.stringify(state.parts),
    tail_key: state.tailKey,
    tail_size: state.tailSize,
    metadata: JSON.stringify(state.metadata),
    creation_date: state.creationDate,
    is_completed: state.isCompleted,
    updated_at: new Date(),
  }
}

/** The `tus_s3_uploads` table: one row per tus upload stored on S3. */
export class S3UploadStateRepository {
  constructor(private readonly knex: Knex) {}

  async find(key: string): Promise<S3UploadState | undefined> {
    const row = await this.knex<StateRow>('tus_s3_uploads').where({ key }).first()

    return row ? toState(row) : undefined
  }

  async insert(state: S3UploadState): Promise<void> {
    await this.knex('tus_s3_uploads').insert(toRow(state))
  }

  /** Replaces the row of `state.key`; each write happens under the upload's tus lock. */
  async save(state: S3UploadState): Promise<void> {
    await this.knex('tus_s3_uploads').where({ key: state.key }).update(toRow(state))
  }

  async delete(key: string): Promise<void> {
    await this.knex('tus_s3_uploads').where({ key }).delete()
  }
}
