/**
 * Quota tiers. Every metric counts bytes: `storage_bytes` is what a project
 * and mode store now (cumulative, released when a file is deleted), and
 * `upload_bytes` is what they uploaded in the current calendar month (UTC),
 * which starts again at zero each month.
 */

/** A quota of a tier. Cumulative metrics never reset; the others reset each period. */
export interface TierQuota {
  metric: QuotaMetric
  limit: number
  cumulative: boolean
}

export type QuotaMetric = 'storage_bytes' | 'upload_bytes'

export const QUOTA_METRICS: readonly QuotaMetric[] = ['storage_bytes', 'upload_bytes']

export type Tiers = Readonly<Record<string, readonly TierQuota[]>>

export const DEFAULT_TIER = 'default'

const GIB = 1024 ** 3

/** Limits in bytes for each metric of a tier. */
export type TierLimits = Record<QuotaMetric, number>

/** Builds quota lists from limits; metrics keep the order of QUOTA_METRICS. */
export function createTiers(limitsByTier: Readonly<Record<string, TierLimits>>): Tiers {
  const tiers: Record<string, TierQuota[]> = {}
  for (const [name, limits] of Object.entries(limitsByTier)) {
    tiers[name] = QUOTA_METRICS.map((metric) => ({
      metric,
      limit: limits[metric],
      cumulative: metric === 'storage_bytes',
    }))
  }

  return Object.freeze(tiers)
}

/** The tiers used when no tiers file is configured. */
export function createDefaultTiers(storageBytes: number, uploadBytesPerMonth: number): Tiers {
  return createTiers({
    [DEFAULT_TIER]: { storage_bytes: storageBytes, upload_bytes: uploadBytesPerMonth },
    pro: { storage_bytes: 100 * GIB, upload_bytes: 1024 * GIB },
  })
}

/** Returns the usage period a quota counts in at `now`: '' for cumulative metrics, else `YYYY-MM` (UTC). */
export function periodOf(quota: Pick<TierQuota, 'cumulative'>, now: Date): string {
  if (quota.cumulative) {
    return ''
  }

  return now.toISOString().slice(0, 7)
}
