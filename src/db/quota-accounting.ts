import type { Knex } from 'knex'
import type { FileRecord, Mode, QuotaStatus, ReservationRequest, ReservationResult } from '../uploads/ports.js'
import { DEFAULT_TIER, type TierQuota, type Tiers, periodOf } from '../uploads/tiers.js'

type Queryable = Knex | Knex.Transaction

/**
 * Quota accounting inside the caller's transaction. Usage rows are locked in
 * one fixed order (the tier's metric order), so concurrent reservations and
 * commits of a project queue behind each other instead of deadlocking.
 * Reservations count against every metric, since every metric counts bytes.
 */
export class QuotaAccounting {
  constructor(private readonly tiers: Tiers) {}

  async getTier(db: Queryable, projectId: string) {
    const project = await db('projects').where({ id: projectId }).first('tier')
    const name: string = project?.tier ?? DEFAULT_TIER
    const quotas = this.tiers[name] ?? this.tiers[DEFAULT_TIER]

    return { name: name in this.tiers ? name : DEFAULT_TIER, quotas }
  }

  /** Locks a metric's usage row for the current period, creating it first; returns its usage. */
  private async lockUsage(trx: Knex.Transaction, projectId: string, mode: Mode, quota: TierQuota, now: Date) {
    const key = { project_id: projectId, mode, metric: quota.metric, period: periodOf(quota, now) }
    await trx('usage')
      .insert({ ...key, used: 0 })
      .onConflict(['project_id', 'mode', 'metric', 'period'])
      .ignore()
    const row = await trx('usage').where(key).forUpdate().first('used')

    return Number(row.used)
  }

  private async sumReservations(db: Queryable, projectId: string, mode: Mode) {
    const row = await db('quota_reservations')
      .where({ project_id: projectId, mode })
      .sum({ total: 'bytes' })
      .first()

    return Number(row?.total ?? 0)
  }

  /** Reserves bytes for an upload, replacing its earlier reservation, unless a quota would be passed. */
  async reserve(trx: Knex.Transaction, request: ReservationRequest, now: Date): Promise<ReservationResult> {
    const { quotas } = await this.getTier(trx, request.projectId)
    const used = new Map<string, number>()
    for (const quota of quotas) {
      used.set(quota.metric, await this.lockUsage(trx, request.projectId, request.mode, quota, now))
    }
    await trx('quota_reservations').where({ upload_id: request.uploadId }).delete()
    const reserved = await this.sumReservations(trx, request.projectId, request.mode)

    const failed = quotas.find((quota) => (used.get(quota.metric) ?? 0) + reserved + request.bytes > quota.limit)
    if (failed) {
      return {
        isGranted: false,
        metric: failed.metric,
        quotas: await this.readQuotas(trx, request.projectId, request.mode, now),
      }
    }

    await trx('quota_reservations').insert({
      upload_id: request.uploadId,
      project_id: request.projectId,
      mode: request.mode,
      bytes: request.bytes,
    })

    return { isGranted: true }
  }

  /**
   * Checks whether bytes would fit every quota, without locking or reserving.
   * It reads the same usage and reservations as reserve(), so it rejects what
   * reserve() would reject at this moment.
   */
  async check(db: Queryable, request: Omit<ReservationRequest, 'uploadId'>, now: Date): Promise<ReservationResult> {
    const quotas = await this.readQuotas(db, request.projectId, request.mode, now)
    const reserved = await this.sumReservations(db, request.projectId, request.mode)
    const failed = quotas.find((quota) => quota.used + reserved + request.bytes > quota.limit)

    return failed ? { isGranted: false, metric: failed.metric, quotas } : { isGranted: true }
  }

  /** Turns a committed file's reservation into usage of its real size, on every metric. */
  async charge(trx: Knex.Transaction, file: FileRecord, now: Date) {
    const { quotas } = await this.getTier(trx, file.projectId)
    for (const quota of quotas) {
      await this.lockUsage(trx, file.projectId, file.mode, quota, now)
      await trx('usage')
        .where({ project_id: file.projectId, mode: file.mode, metric: quota.metric, period: periodOf(quota, now) })
        .increment('used', file.size)
    }
    await trx('quota_reservations').where({ upload_id: file.id }).delete()
  }

  /** Gives back a deleted file's bytes on cumulative metrics; bytes uploaded this month stay counted. */
  async refund(trx: Knex.Transaction, file: FileRecord, now: Date) {
    const { quotas } = await this.getTier(trx, file.projectId)
    for (const quota of quotas.filter((candidate) => candidate.cumulative)) {
      const used = await this.lockUsage(trx, file.projectId, file.mode, quota, now)
      await trx('usage')
        .where({ project_id: file.projectId, mode: file.mode, metric: quota.metric, period: '' })
        .update({ used: Math.max(0, used - file.size) })
    }
  }

  /** Reads committed usage of every quota of the project's tier, for the current period. */
  async readQuotas(db: Queryable, projectId: string, mode: Mode, now: Date): Promise<QuotaStatus[]> {
    const { quotas } = await this.getTier(db, projectId)
    const rows = await db('usage').where({ project_id: projectId, mode })
    const usedByKey = new Map(rows.map((row: Record<string, any>) => [`${row.metric}/${row.period}`, Number(row.used)]))

    return quotas.map((quota) => ({
      metric: quota.metric,
      used: usedByKey.get(`${quota.metric}/${periodOf(quota, now)}`) ?? 0,
      limit: quota.limit,
      cumulative: quota.cumulative,
    }))
  }

  async getReservedBytes(db: Queryable, projectId: string, mode: Mode) {
    return this.sumReservations(db, projectId, mode)
  }
}
