/**
 * Shared setup of the fault tests: they run only on Postgres + S3, where a
 * proxy can stand between the gateway and each backend.
 */
import * as assert from 'uvu/assert'
import { NOTHING_LEFT, findLeftovers, getGateway } from './gateway.js'

/** Returns true when LONG_FAULT_TESTS=1 requests the slow fault tests; otherwise prints one line naming the skipped test. */
export function isLongRun(testName: string): boolean {
  if (process.env.LONG_FAULT_TESTS === '1') {
    return true
  }
  console.log(`  ${testName} skipped: set LONG_FAULT_TESTS=1 to run it`)

  return false
}

/** Checks that Postgres and S3 are configured; otherwise prints one line naming the suite it skips. */
export function hasFaultBackends(suiteName: string): boolean {
  const isReady = Boolean(process.env.DATABASE_URL && process.env.S3_ENDPOINT)
  if (!isReady) {
    console.log(`  ${suiteName} skipped: fault tests need DATABASE_URL and S3_ENDPOINT (Postgres + RGW)`)
  }

  return isReady
}

/** Reads `host:port` of a URL, with the protocol's default port. */
export function hostAndPort(url: string): { host: string; port: number } {
  const parsed = new URL(url)
  const defaultPort = parsed.protocol === 'https:' ? 443 : parsed.protocol.startsWith('postgres') ? 5432 : 80

  return { host: parsed.hostname, port: parsed.port ? Number(parsed.port) : defaultPort }
}

/** Runs `reconcile --fix` on one project with no minimum age; returns the findings it repaired. */
export async function reconcileProject(projectId: string) {
  const { gateway } = await getGateway()
  const report = await gateway.reconcile({ isFix: true, projectId, minAgeMs: 0 })
  for (const finding of report.findings) {
    assert.ok(finding.action, `reconcile could not repair ${finding.kind} ${finding.key}: ${finding.error ?? ''}`)
  }

  return report.findings
}

/**
 * Reports what a fault left behind, then proves that reconciliation removes
 * it all and that a second run finds nothing. Returns the first audit.
 */
export async function expectNothingLeftAfterReconcile(projectId: string, label: string) {
  const before = await findLeftovers(projectId)
  const repaired = await reconcileProject(projectId)
  console.log(
    `  ${label}: left before reconcile ${JSON.stringify(before)}; repaired ${repaired.map((finding) => finding.kind).join(', ') || 'nothing'}`,
  )
  assert.equal(await findLeftovers(projectId), NOTHING_LEFT)
  await expectReconcileFindsNothing(projectId)

  return before
}

/**
 * Checks that a project has exactly `fileCount` files and nothing else in
 * progress: no open upload, reservation or S3 multipart upload, and that
 * reconciliation finds no leftover.
 */
export async function expectOnlyFiles(projectId: string, fileCount: number) {
  const leftovers = await findLeftovers(projectId)
  assert.is(leftovers.files, fileCount, 'one row per upload')
  assert.is(leftovers.openUploads, 0)
  assert.is(leftovers.reservations, 0)
  assert.equal(leftovers.multipartUploads, [])
  await expectReconcileFindsNothing(projectId)
}

/** Checks that a report-only reconcile of one project finds no leftover. */
export async function expectReconcileFindsNothing(projectId: string) {
  const { gateway } = await getGateway()
  const report = await gateway.reconcile({ isFix: false, projectId, minAgeMs: 0 })
  assert.equal(report.findings, [], 'reconcile finds no leftover')
}

/** A small seeded generator (mulberry32), so a failing run can be replayed with its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0

  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let value = state
    value = Math.imul(value ^ (value >>> 15), value | 1)
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61)

    return ((value ^ (value >>> 14)) >>> 0) / 4294967296
  }
}
