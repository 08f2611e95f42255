import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { hasCurl, runCommand } from '../helpers/curl.js'
import { readFixture } from '../helpers/fixtures.js'
import { sendRaw } from '../helpers/raw-http.js'
import {
  NOTHING_LEFT,
  type TestGateway,
  type TestTenant,
  createTenant,
  findLeftovers,
  startGateway,
  stopGateway,
} from '../helpers/gateway.js'


/** Every file is capped at 1 MB here, so a body several times over the limit stays small. */
const MAX_FILE_BYTES = 1_000_000
/** Storage of the "tiny" tier: any file of a few hundred kilobytes passes it. */
const TINY_STORAGE_BYTES = 100_000
const SCOPES = ['media:read', 'media:write']

interface Setup {
  test: TestGateway
  folder: string
  tenant: TestTenant
  tinyTenant: TestTenant
}

let setup: Setup | null = null

async function getSetup(): Promise<Setup> {
  if (setup) {
    return setup
  }
  const folder = await mkdtemp(join(tmpdir(), 'media-gateway-oversize-'))
  const tiersFile = join(folder, 'tiers.json')
  await writeFile(
    tiersFile,
    JSON.stringify({
      default: { storage_bytes: 10 ** 12, upload_bytes: 10 ** 12 },
      tiny: { storage_bytes: TINY_STORAGE_BYTES, upload_bytes: 10 ** 12 },
    }),
  )
  const test = await startGateway({ MAX_FILE_BYTES: String(MAX_FILE_BYTES), TIERS_FILE: tiersFile })
  const tenant = await createTenant(SCOPES, 'live', undefined, test)
  const tinyTenant = await createTenant(SCOPES, 'live', undefined, test)
  await test.gateway.database.knex('projects').where({ id: tinyTenant.projectId }).update({ tier: 'tiny' })
  setup = { test, folder, tenant, tinyTenant }

  return setup
}

/** Writes a PNG of `size` bytes: the real PNG head, then padding, so only its size is wrong. */
async function writePng(size: number): Promise<string> {
  const { folder } = await getSetup()
  const head = readFixture('fixture.png')
  const bytes = Buffer.alloc(size)
  head.copy(bytes)
  const path = join(folder, `big-${size}.png`)
  await writeFile(path, bytes)

  return path
}

/** Uploads with curl; returns the status and body that curl read. */
async function curlUpload(tenant: TestTenant, path: string, extraArgs: string[] = []) {
  const { test } = await getSetup()
  const { stdout } = await runCommand('curl', [
    '-sS',
    '-o',
    '-',
    '-w',
    '\n%{http_code}',
    '-H',
    `Authorization: Bearer ${tenant.token}`,
    ...extraArgs,
    '-F',
    `file=@${path};type=image/png`,
    `${test.url}/media`,
  ])
  const newline = stdout.lastIndexOf('\n')

  return { status: Number(stdout.slice(newline + 1)), json: JSON.parse(stdout.slice(0, newline)) }
}

/** Uploads with fetch, streaming a multipart body of unknown length (chunked). */
async function fetchUpload(tenant: TestTenant, fileSize: number) {
  const { test } = await getSetup()
  const boundary = 'oversize-boundary'
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\nContent-Type: image/png\r\n\r\n`,
  )
  const png = readFixture('fixture.png')
  const chunkSize = 64 * 1024
  let sent = 0
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(head)
    },
    pull(controller) {
      if (sent >= fileSize) {
        controller.enqueue(Buffer.from(`\r\n--${boundary}--\r\n`))
        controller.close()

        return
      }
      const chunk = Buffer.alloc(Math.min(chunkSize, fileSize - sent))
      if (sent === 0) {
        png.copy(chunk)
      }
      sent += chunk.length
      controller.enqueue(chunk)
    },
  })
  const response = await fetch(`${test.url}/media`, {
    method: 'POST',
    headers: { ...tenant.auth, 'Content-Type': `multipart/form-data; boundary=${boundary}` },
    body,
    duplex: 'half',
  } as RequestInit)

  return { status: response.status, connection: response.headers.get('connection'), json: await response.json() }
}

async function assertNothingLeft(tenant: TestTenant) {
  const { test } = await getSetup()
  assert.equal(await findLeftovers(tenant.projectId, test), NOTHING_LEFT)
}

const Oversize = suite('oversize multipart body')

Oversize.after(async () => {
  if (setup) {
    await stopGateway(setup.test)
    await rm(setup.folder, { recursive: true, force: true })
    setup = null
  }
})

Oversize('curl reads 413 with Expect: 100-continue', async () => {
  if (!(await hasCurl())) {
    console.log('  skipped: curl is not installed')

    return
  }
  const { tenant } = await getSetup()
  const path = await writePng(5 * MAX_FILE_BYTES)
  const { status, json } = await curlUpload(tenant, path, ['-H', 'Expect: 100-continue'])

  assert.is(status, 413)
  assert.is(json.error.code, 'too_large')
  assert.is(json.error.limit, MAX_FILE_BYTES)
  await assertNothingLeft(tenant)
})

Oversize('curl reads 413 without Expect', async () => {
  if (!(await hasCurl())) {
    return
  }
  const { tenant } = await getSetup()
  const path = await writePng(5 * MAX_FILE_BYTES)
  const { status, json } = await curlUpload(tenant, path, ['-H', 'Expect:'])

  assert.is(status, 413)
  assert.is(json.error.code, 'too_large')
  await assertNothingLeft(tenant)
})

Oversize('curl reads 413 found while streaming', async () => {
  if (!(await hasCurl())) {
    return
  }
  const { tenant } = await getSetup()
  // Under the limit plus the form allowance, so only counting the bytes finds it too large.
  const path = await writePng(2 * MAX_FILE_BYTES)
  for (const expect of ['Expect: 100-continue', 'Expect:']) {
    const { status, json } = await curlUpload(tenant, path, ['-H', expect])
    assert.is(status, 413, expect)
    assert.is(json.error.code, 'too_large', expect)
    assert.is(json.error.category, 'image', expect)
  }
  await assertNothingLeft(tenant)
})

Oversize('fetch reads 413 of a streamed body', async () => {
  const { tenant } = await getSetup()
  const { status, connection, json } = await fetchUpload(tenant, 5 * MAX_FILE_BYTES)

  assert.is(status, 413)
  assert.is(connection, 'close')
  assert.is(json.error.code, 'too_large')
  assert.is(json.error.category, 'image')
  await assertNothingLeft(tenant)
})

Oversize('curl reads 429 over quota', async () => {
  if (!(await hasCurl())) {
    return
  }
  const { tinyTenant } = await getSetup()
  const path = await writePng(5 * TINY_STORAGE_BYTES)
  for (const expect of ['Expect: 100-continue', 'Expect:']) {
    const { status, json } = await curlUpload(tinyTenant, path, ['-H', expect])
    assert.is(status, 429, expect)
    assert.is(json.error.code, 'quota_exceeded', expect)
    assert.is(json.error.metric, 'storage_bytes', expect)
  }
  await assertNothingLeft(tinyTenant)
})

Oversize('fetch reads 429 of a streamed body', async () => {
  const { tinyTenant } = await getSetup()
  const { status, json } = await fetchUpload(tinyTenant, 5 * TINY_STORAGE_BYTES)

  assert.is(status, 429)
  assert.is(json.error.code, 'quota_exceeded')
  await assertNothingLeft(tinyTenant)
})

/** Sends only the headers of a multipart POST with `Expect: 100-continue`, as curl does first. */
async function postHeadersOnly(tenant: TestTenant, contentLength: number) {
  const { test } = await getSetup()

  return sendRaw(test.url, {
    method: 'POST',
    target: '/media',
    headers: [
      ['Authorization', `Bearer ${tenant.token}`],
      ['Content-Type', 'multipart/form-data; boundary=x'],
      ['Expect', '100-continue'],
    ],
    contentLength,
  })
}

Oversize('413 comes before 100 Continue', async () => {
  const { tenant } = await getSetup()
  const response = await postHeadersOnly(tenant, 5 * MAX_FILE_BYTES)

  assert.equal(response.interimStatuses, [])
  assert.is(response.status, 413)
  assert.is(response.headers.connection, 'close')
  assert.is((response.json as { error: { code: string } }).error.code, 'too_large')
})

Oversize('429 comes before 100 Continue', async () => {
  const { tinyTenant } = await getSetup()
  const response = await postHeadersOnly(tinyTenant, 5 * TINY_STORAGE_BYTES)

  assert.equal(response.interimStatuses, [])
  assert.is(response.status, 429)
  assert.is(response.headers.connection, 'close')
  assert.is((response.json as { error: { code: string } }).error.code, 'quota_exceeded')
  await assertNothingLeft(tinyTenant)
})

Oversize('gateway serves on after a discarded body', async () => {
  const { test, tenant } = await getSetup()
  await fetchUpload(tenant, 3 * MAX_FILE_BYTES)
  const health = await fetch(`${test.url}/healthz`)

  assert.is(health.status, 200)
})

Oversize.run()
