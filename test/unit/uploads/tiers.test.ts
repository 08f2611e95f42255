import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ConfigError, loadConfig } from '../../../src/config.js'
import { createDefaultTiers, periodOf } from '../../../src/uploads/tiers.js'

const Tiers = suite('tiers')

Tiers('counts monthly metrics per UTC month', () => {
  const monthly = { cumulative: false }

  assert.is(periodOf(monthly, new Date('2026-12-31T23:59:59Z')), '2026-12')
  assert.is(periodOf(monthly, new Date('2027-01-01T00:00:00Z')), '2027-01')
  assert.is(periodOf({ cumulative: true }, new Date('2027-01-01T00:00:00Z')), '')
})

Tiers('builds default tiers from limits', () => {
  const tiers = createDefaultTiers(100, 200)

  assert.equal(tiers.default, [
    { metric: 'storage_bytes', limit: 100, cumulative: true },
    { metric: 'upload_bytes', limit: 200, cumulative: false },
  ])
  assert.ok('pro' in tiers)
})

Tiers('reads tiers from a file', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'media-gateway-tiers-'))
  try {
    const valid = join(folder, 'tiers.json')
    await writeFile(valid, JSON.stringify({ default: { storage_bytes: 5, upload_bytes: 6 }, team: { storage_bytes: 7, upload_bytes: 8 } }))
    const config = loadConfig({ TIERS_FILE: valid })
    assert.equal(Object.keys(config.tiers), ['default', 'team'])
    assert.is(config.tiers.team[0].limit, 7)

    const withoutDefault = join(folder, 'no-default.json')
    await writeFile(withoutDefault, JSON.stringify({ team: { storage_bytes: 7, upload_bytes: 8 } }))
    assert.throws(() => loadConfig({ TIERS_FILE: withoutDefault }), (error: Error) => error instanceof ConfigError && /default/.test(error.message))

    const unknownMetric = join(folder, 'unknown-metric.json')
    await writeFile(unknownMetric, JSON.stringify({ default: { storage_bytes: 1, upload_bytes: 1, files: 3 } }))
    assert.throws(() => loadConfig({ TIERS_FILE: unknownMetric }), (error: Error) => error instanceof ConfigError)

    assert.throws(() => loadConfig({ TIERS_FILE: join(folder, 'missing.json') }), /TIERS_FILE/)
  } finally {
    await rm(folder, { recursive: true, force: true })
  }
})

Tiers.run()
