import { AppError } from '../errors.js'

/** Probes of the backends the gateway needs; each rejects when its backend is unreachable. */
export interface ReadinessChecks {
  database: () => Promise<unknown>
  storage: () => Promise<unknown>
}

const CHECK_TIMEOUT_MS = 5000

function withTimeout(probe: () => Promise<unknown>): Promise<unknown> {
  return Promise.race([
    probe(),
    new Promise((_resolve, reject) => setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS).unref()),
  ])
}

/** Runs every probe; returns their states, or throws 503 naming the backends that failed. */
export async function checkReadiness(checks: ReadinessChecks) {
  const names = Object.keys(checks) as (keyof ReadinessChecks)[]
  const results = await Promise.allSettled(names.map((name) => withTimeout(checks[name])))
  const states = Object.fromEntries(
    names.map((name, index) => [name, results[index].status === 'fulfilled' ? 'ok' : 'unreachable']),
  )
  const failed = results.find((result) => result.status === 'rejected')
  if (failed) {
    throw new AppError('storage_error', 'A backend is unreachable.', {
      details: { checks: states },
      cause: (failed as PromiseRejectedResult).reason,
    })
  }

  return { status: 'ready', checks: states }
}
