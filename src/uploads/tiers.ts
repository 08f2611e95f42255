/** A quota of a tier. Cumulative metrics never reset; the others reset each period. */
export interface TierQuota {
  metric: string
  limit: number
  cumulative: boolean
}

export type Tiers = Readonly<Record<string, readonly TierQuota[]>>

export const DEFAULT_TIER = 'default'

/** Builds the tiers a project can be on. The default tier bounds stored bytes per project and mode. */
export function createTiers(storageBytes: number): Tiers {
  return Object.freeze({
    [DEFAULT_TIER]: [{ metric: 'storage_bytes', limit: storageBytes, cumulative: true }],
  })
}
