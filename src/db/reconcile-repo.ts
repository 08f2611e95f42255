import type { Knex } from 'knex'

/** The database's view of one object key: its file row, its tus upload row and its reservation. */
export interface KeyState {
  hasFile: boolean
  uploadStatus: 'open' | 'completed' | 'aborted' | null
  uploadExpiresAt: Date | null
  reservationCreatedAt: Date | null
}

export interface FileRowSummary {
  id: string
  projectId: string
  mode: 'live' | 'test'
  key: string
  size: number
  createdAt: Date
}

export interface ReservationSummary {
  uploadId: string
  projectId: string
  bytes: number
  createdAt: Date
  hasFile: boolean
  uploadStatus: 'open' | 'completed' | 'aborted' | null
}

const BATCH_SIZE = 500

/**
 * The queries of `reconcile`: which rows stand behind a set of object keys,
 * file rows page by page, and reservations with what they were made for.
 * Every query can be narrowed to one project.
 */
export class ReconcileRepository {
  constructor(private readonly knex: Knex) {}

  async listProjectIds(projectId: string | null): Promise<Set<string>> {
    const rows = await this.knex('projects')
      .modify((builder) => {
        if (projectId) {
          builder.where({ id: projectId })
        }
      })
      .select('id')

    return new Set(rows.map((row: { id: string }) => row.id))
  }

  /** Looks up the rows behind each key `<project>/<mode>/<file id>`, in batches. */
  async findKeyStates(keys: { key: string; fileId: string }[]): Promise<Map<string, KeyState>> {
    const states = new Map<string, KeyState>()
    for (let start = 0; start < keys.length; start += BATCH_SIZE) {
      const batch = keys.slice(start, start + BATCH_SIZE)
      const fileIds = batch.map((entry) => entry.fileId)
      const [files, uploads, reservations] = await Promise.all([
        this.knex('files').whereIn('key', batch.map((entry) => entry.key)).select('key'),
        this.knex('uploads').whereIn('id', fileIds).select('id', 'store_key', 'status', 'expires_at'),
        this.knex('quota_reservations').whereIn('upload_id', fileIds).select('upload_id', 'created_at'),
      ])
      const fileKeys = new Set(files.map((row: { key: string }) => row.key))
      const uploadsByKey = new Map(uploads.map((row: Record<string, any>) => [row.store_key as string, row]))
      const reservedAt = new Map(
        reservations.map((row: Record<string, any>) => [row.upload_id as string, new Date(row.created_at)]),
      )
      for (const { key, fileId } of batch) {
        const upload = uploadsByKey.get(key)
        states.set(key, {
          hasFile: fileKeys.has(key),
          uploadStatus: upload?.status ?? null,
          uploadExpiresAt: upload ? new Date(upload.expires_at) : null,
          reservationCreatedAt: reservedAt.get(fileId) ?? null,
        })
      }
    }

    return states
  }

  /** Yields file rows in id order, a page at a time. */
  async *listFiles(projectId: string | null): AsyncGenerator<FileRowSummary> {
    let after = ''
    for (;;) {
      const rows = await this.knex('files')
        .where('id', '>', after)
        .modify((builder) => {
          if (projectId) {
            builder.where({ project_id: projectId })
          }
        })
        .orderBy('id')
        .limit(BATCH_SIZE)
        .select('id', 'project_id', 'mode', 'key', 'size', 'created_at')
      for (const row of rows) {
        yield {
          id: row.id,
          projectId: row.project_id,
          mode: row.mode,
          key: row.key,
          size: Number(row.size),
          createdAt: new Date(row.created_at),
        }
      }
      if (rows.length < BATCH_SIZE) {
        return
      }
      after = rows[rows.length - 1].id
    }
  }

  async hasFileWithKey(key: string): Promise<boolean> {
    const row = await this.knex('files').where({ key }).first('id')

    return row !== undefined
  }

  /** Lists every reservation with the file row and upload row of the same id, if any. */
  async listReservations(projectId: string | null): Promise<ReservationSummary[]> {
    const rows = await this.knex('quota_reservations as r')
      .leftJoin('uploads as u', 'u.id', 'r.upload_id')
      .leftJoin('files as f', 'f.id', 'r.upload_id')
      .modify((builder) => {
        if (projectId) {
          builder.where('r.project_id', projectId)
        }
      })
      .select('r.upload_id', 'r.project_id', 'r.bytes', 'r.created_at', 'u.status', 'f.id as file_id')

    return rows.map((row: Record<string, any>) => ({
      uploadId: row.upload_id,
      projectId: row.project_id,
      bytes: Number(row.bytes),
      createdAt: new Date(row.created_at),
      hasFile: row.file_id !== null,
      uploadStatus: row.status ?? null,
    }))
  }

  /**
   * Lists the keys of S3 upload state rows (`tus_s3_uploads`) with neither an
   * open upload nor a file behind them, last updated before `updatedBefore`.
   */
  async listOrphanUploadStates(projectId: string | null, updatedBefore: Date) {
    const rows = await this.knex('tus_s3_uploads as s')
      .where('s.updated_at', '<', updatedBefore)
      .whereNotExists((query) => query.select(1).from('files as f').whereRaw('f.key = s.key'))
      .whereNotExists((query) =>
        query.select(1).from('uploads as u').whereRaw('u.store_key = s.key').where('u.status', 'open'),
      )
      .modify((builder) => {
        if (projectId) {
          builder.where('s.key', 'like', `${projectId}/%`)
        }
      })
      .select('s.key', 's.updated_at')

    return rows.map((row: Record<string, any>) => ({ key: row.key as string, updatedAt: new Date(row.updated_at) }))
  }

  async deleteUploadState(key: string): Promise<void> {
    await this.knex('tus_s3_uploads').where({ key }).delete()
  }

  /**
   * Deletes a reservation. With `createdBefore`, only one made before then, so
   * an upload that reserved again meanwhile keeps its new reservation.
   */
  async releaseReservation(uploadId: string, createdBefore: Date | null): Promise<void> {
    await this.knex('quota_reservations')
      .where({ upload_id: uploadId })
      .modify((builder) => {
        if (createdBefore) {
          builder.where('created_at', '<', createdBefore)
        }
      })
      .delete()
  }
}
