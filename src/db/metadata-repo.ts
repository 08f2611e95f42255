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
import { DEFAULT_TIER, type TierQuota, type Tiers } from '../uploads/tiers.js'

type Row = Record<string, any>

const STORAGE_METRIC = 'storage_bytes'

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
  constructor(
    private readonly knex: Knex,
    private readonly tiers: Tiers,
  ) {}

  private async getTierQuotas(trx: Knex.Transaction | Knex, projectId: string) {
    const project = await trx('projects').where({ id: projectId }).first('tier')
    const tier: string = project?.tier ?? DEFAULT_TIER

    return this.tiers[tier] ?? this.tiers[DEFAULT_TIER]
  }

  /** Locks the usage row of a metric, creating it first, so concurrent reservations queue. */
  private async lockUsage(trx: Knex.Transaction, projectId: string, mode: Mode, metric: string) {
    await trx('usage')
      .insert({ project_id: projectId, mode, metric, used: 0 })
      .onConflict(['project_id', 'mode', 'metric'])
      .ignore()
    const row = await trx('usage')
      .where({ project_id: projectId, mode, metric })
      .forUpdate()
      .first('used')

    return Number(row.used)
  }

  private async sumReservations(trx: Knex.Transaction | Knex, projectId: string, mode: Mode) {
    const row = await trx('quota_reservations')
      .where({ project_id: projectId, mode })
      .sum({ total: 'bytes' })
      .first()

    return Number(row?.total ?? 0)
  }

  async reserve(request: ReservationRequest): Promise<ReservationResult> {
    return this.knex.transaction(async (trx) => {
      const quotas = await this.getTierQuotas(trx, request.projectId)
      const storage = quotas.find((quota) => quota.metric === STORAGE_METRIC)
      const used = await this.lockUsage(trx, request.projectId, request.mode, STORAGE_METRIC)
      await trx('quota_reservations').where({ upload_id: request.uploadId }).delete()
      const reserved = await this.sumReservations(trx, request.projectId, request.mode)

      if (storage && used + reserved + request.bytes > storage.limit) {
        return {
          isGranted: false,
          metric: STORAGE_METRIC,
          quotas: await this.readQuotas(trx, request.projectId, request.mode, quotas),
        }
      }

      await trx('quota_reservations').insert({
        upload_id: request.uploadId,
        project_id: request.projectId,
        mode: request.mode,
        bytes: request.bytes,
      })

      return { isGranted: true }
    })
  }

  async release(uploadId: string): Promise<void> {
    await this.knex('quota_reservations').where({ upload_id: uploadId }).delete()
  }

  async commitFile(file: FileRecord): Promise<FileRecord> {
    return this.knex.transaction(async (trx) => {
      const existing = await trx('files').where({ id: file.id }).first()
      if (existing) {
        return toFileRecord(existing)
      }

      await this.lockUsage(trx, file.projectId, file.mode, STORAGE_METRIC)
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
        .returning('*')
      await trx('usage')
        .where({ project_id: file.projectId, mode: file.mode, metric: STORAGE_METRIC })
        .increment('used', file.size)
      await trx('quota_reservations').where({ upload_id: file.id }).delete()
      await trx('uploads').where({ id: file.id }).update({ status: 'completed', inspection: null })

      return toFileRecord(row)
    })
  }

  async findFile(projectId: string, mode: Mode, id: string) {
    const row = await this.knex('files').where({ id, project_id: projectId, mode }).first()

    return row ? toFileRecord(row) : undefined
  }

  async findFileByKey(key: string) {
    const row = await this.knex('files').where({ key }).first()

    return row ? toFileRecord(row) : undefined
  }

  private async readQuotas(
    trx: Knex.Transaction | Knex,
    projectId: string,
    mode: Mode,
    quotas: readonly TierQuota[],
  ): Promise<QuotaStatus[]> {
    const rows = await trx('usage').where({ project_id: projectId, mode })
    const used = new Map(rows.map((row: Row) => [row.metric, Number(row.used)]))

    return quotas.map((quota) => ({
      metric: quota.metric,
      used: used.get(quota.metric) ?? 0,
      limit: quota.limit,
      cumulative: quota.cumulative,
    }))
  }

  async getQuotas(projectId: string, mode: Mode) {
    const quotas = await this.getTierQuotas(this.knex, projectId)

    return this.readQuotas(this.knex, projectId, mode, quotas)
  }

  /** Bytes reserved by uploads in progress; exposed for tests and the cleanup report. */
  async getReservedBytes(projectId: string, mode: Mode) {
    return this.sumReservations(this.knex, projectId, mode)
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
