import type { Knex } from 'knex'
import type {
  FileRecord,
  MetadataRepository,
  Mode,
  QuotaStatus,
  ReservationRequest,
  ReservationResult,
  SavedInspection,
  UploadRecord,
} from '../uploads/ports.js'
import type { Tiers } from '../uploads/tiers.js'
import { QuotaAccounting } from './quota-accounting.js'

type Row = Record<string, any>

/** Filters and page of a file listing; `contentType` is exact or a family such as `image/*`. */
export interface FileListQuery {
  limit: number
  cursor?: string
  folder?: string
  tag?: string
  contentType?: string
}

function toFileRecord(row: Row): FileRecord {
  return {
    id: row.id,
    projectId: row.project_id,
    mode: row.mode,
    key: row.key,
    size: Number(row.size),
    contentType: row.content_type,
    sha256: row.sha256,
    originalName: row.original_name,
    tags: row.tags,
    folder: row.folder,
    abuseStatus: row.abuse_status,
    visibility: row.visibility,
    storageClass: row.storage_class,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  }
}

function toUploadRecord(row: Row): UploadRecord {
  return {
    id: row.id,
    projectId: row.project_id,
    mode: row.mode,
    storeKey: row.store_key,
    declaredType: row.declared_type,
    size: row.size === null ? null : Number(row.size),
    originalName: row.original_name,
    folder: row.folder,
    tags: row.tags,
    visibility: row.visibility,
    inspection: row.inspection,
    status: row.status,
    expiresAt: new Date(row.expires_at),
  }
}

/**
 * Files, uploads and quota accounting on Postgres or PGlite. PGlite has one
 * connection, so every query inside a transaction goes through that
 * transaction, never through the root knex.
 */
export class KnexMetadataRepository implements MetadataRepository {
  private readonly quotas: QuotaAccounting

  constructor(
    private readonly knex: Knex,
    tiers: Tiers,
  ) {
    this.quotas = new QuotaAccounting(tiers)
  }

  async reserve(request: ReservationRequest): Promise<ReservationResult> {
    return this.knex.transaction((trx) => this.quotas.reserve(trx, request, new Date()))
  }

  async checkQuota(request: Omit<ReservationRequest, 'uploadId'>): Promise<ReservationResult> {
    return this.quotas.check(this.knex, request, new Date())
  }

  async release(uploadId: string): Promise<void> {
    await this.knex('quota_reservations').where({ upload_id: uploadId }).delete()
  }

  async commitFile(file: FileRecord): Promise<FileRecord> {
    return this.knex.transaction(async (trx) => {
      // Two requests may finish one upload at once: the second insert waits for the first
      // transaction and then inserts nothing, so the file is stored and charged once.
      const [row] = await trx('files')
        .insert({
          id: file.id,
          project_id: file.projectId,
          mode: file.mode,
          key: file.key,
          size: file.size,
          content_type: file.contentType,
          sha256: file.sha256,
          original_name: file.originalName,
          tags: JSON.stringify(file.tags),
          folder: file.folder,
          abuse_status: file.abuseStatus,
          visibility: file.visibility,
          storage_class: file.storageClass,
          created_at: file.createdAt,
          updated_at: file.updatedAt,
        })
        .onConflict('id')
        .ignore()
        .returning('*')
      if (!row) {
        return toFileRecord(await trx('files').where({ id: file.id }).first())
      }

      await this.quotas.charge(trx, file, new Date())
      await trx('uploads').where({ id: file.id }).update({ status: 'completed', inspection: null })

      return toFileRecord(row)
    })
  }

  async findFile(projectId: string, mode: Mode, id: string) {
    const row = await this.knex('files').where({ id, project_id: projectId, mode }).first()

    return row ? toFileRecord(row) : undefined
  }

  /**
   * Lists files newest first. The cursor is the id of the last file of the
   * previous page; ids are ULIDs, so they sort by creation time, and files
   * inserted meanwhile land before the cursor and never shift a later page.
   */
  async listFiles(projectId: string, mode: Mode, query: FileListQuery) {
    const rows = await this.knex('files')
      .where({ project_id: projectId, mode })
      .modify((builder) => {
        if (query.folder !== undefined) {
          builder.where({ folder: query.folder })
        }
        if (query.tag !== undefined) {
          builder.whereRaw('tags @> ?::jsonb', [JSON.stringify([query.tag])])
        }
        if (query.contentType?.endsWith('/*')) {
          // LIKE treats _ and % as wildcards, and _ is valid in a media type.
          const family = query.contentType.slice(0, -1).replace(/[\\%_]/g, (character) => `\\${character}`)
          builder.where('content_type', 'like', `${family}%`)
        } else if (query.contentType !== undefined) {
          builder.where({ content_type: query.contentType })
        }
        if (query.cursor !== undefined) {
          builder.where('id', '<', query.cursor)
        }
      })
      .orderBy('id', 'desc')
      .limit(query.limit + 1)
    const files = rows.slice(0, query.limit).map(toFileRecord)

    return { files, hasMore: rows.length > query.limit }
  }

  /** Deletes a file's row and gives back its storage usage, in one transaction; returns the row. */
  async deleteFile(projectId: string, mode: Mode, id: string) {
    return this.knex.transaction(async (trx) => {
      const row = await trx('files').where({ id, project_id: projectId, mode }).forUpdate().first()
      if (!row) {
        return undefined
      }

      const file = toFileRecord(row)
      await trx('files').where({ id }).delete()
      await trx('uploads').where({ id }).delete()
      // The S3 upload state would let a tus HEAD still find the deleted upload.
      await trx('tus_s3_uploads').where({ key: file.key }).delete()
      await this.quotas.refund(trx, file, new Date())

      return file
    })
  }

  async findFileByKey(key: string) {
    const row = await this.knex('files').where({ key }).first()

    return row ? toFileRecord(row) : undefined
  }

  async getQuotas(projectId: string, mode: Mode) {
    return this.quotas.readQuotas(this.knex, projectId, mode, new Date())
  }

  /** Returns the tier name of a project and every quota of it with current usage. */
  async getUsage(projectId: string, mode: Mode) {
    const tier = await this.quotas.getTier(this.knex, projectId)

    return { tier: tier.name, quotas: await this.getQuotas(projectId, mode) }
  }

  /** Bytes reserved by uploads in progress; exposed for tests. */
  async getReservedBytes(projectId: string, mode: Mode) {
    return this.quotas.getReservedBytes(this.knex, projectId, mode)
  }

  async createUpload(upload: UploadRecord) {
    await this.knex('uploads').insert({
      id: upload.id,
      project_id: upload.projectId,
      mode: upload.mode,
      store_key: upload.storeKey,
      declared_type: upload.declaredType,
      size: upload.size,
      original_name: upload.originalName,
      folder: upload.folder,
      tags: JSON.stringify(upload.tags),
      visibility: upload.visibility,
      inspection: upload.inspection === null ? null : JSON.stringify(upload.inspection),
      status: upload.status,
      expires_at: upload.expiresAt,
    })
  }

  async findUpload(id: string) {
    const row = await this.knex('uploads').where({ id }).first()

    return row ? toUploadRecord(row) : undefined
  }

  async saveInspection(id: string, inspection: SavedInspection | null) {
    await this.knex('uploads')
      .where({ id })
      .update({ inspection: inspection === null ? null : JSON.stringify(inspection) })
  }

  async setUploadSize(id: string, size: number) {
    await this.knex('uploads').where({ id }).update({ size })
  }

  async markUploadAborted(id: string) {
    await this.knex.transaction(async (trx) => {
      await trx('uploads').where({ id, status: 'open' }).update({ status: 'aborted', inspection: null })
      await trx('quota_reservations').where({ upload_id: id }).delete()
    })
  }

  async listExpiredUploads(now: Date) {
    const rows = await this.knex('uploads').where({ status: 'open' }).andWhere('expires_at', '<', now)

    return rows.map(toUploadRecord)
  }
}
