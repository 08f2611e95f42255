import { setTimeout as sleep } from 'node:timers/promises'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFixture, sha256Of } from '../helpers/fixtures.js'
import {
  NOTHING_LEFT,
  type TestGateway,
  type TestTenant,
  createTenant,
  findLeftovers,
  getGateway,
  setStorageUsed,
  startGateway,
  stopGateway,
} from '../helpers/gateway.js'

const TUS = { 'Tus-Resumable': '1.0.0' }
const OCTETS = 'application/offset+octet-stream'

function metadataOf(filename: string, filetype: string) {
  return `filename ${Buffer.from(filename).toString('base64')},filetype ${Buffer.from(filetype).toString('base64')}`
}

async function create(url: string, tenant: TestTenant, headers: Record<string, string>) {
  const response = await fetch(`${url}/media/uploads`, { method: 'POST', headers: { ...TUS, ...tenant.auth, ...headers } })
  const location = response.headers.get('location') ?? ''

  return { response, location }
}

function patch(
  location: string,
  tenant: TestTenant,
  offset: number,
  body: Uint8Array | ReadableStream<Uint8Array>,
  headers: Record<string, string> = {},
) {
  return fetch(location, {
    method: 'PATCH',
    headers: { ...TUS, ...tenant.auth, 'Upload-Offset': String(offset), 'Content-Type': OCTETS, ...headers },
    body: body as BodyInit,
    duplex: 'half',
  } as RequestInit)
}

function head(location: string, tenant: TestTenant) {
  return fetch(location, { method: 'HEAD', headers: { ...TUS, ...tenant.auth } })
}

async function fileOf(tenant: TestTenant, location: string) {
  const { url } = await getGateway()
  const id = location.slice(location.lastIndexOf('/') + 1)

  return fetch(`${url}/media/${id}`, { headers: tenant.auth }).then((response) => response.json())
}

const Expiry = suite('tus expiry')

let shortLived: TestGateway | null = null

Expiry.before(async () => {
  shortLived = await startGateway({ TUS_EXPIRATION_MS: '1500' })
})

Expiry.after(async () => {
  if (shortLived) {
    await stopGateway(shortLived)
  }
})

Expiry('sets Upload-Expires while unfinished', async () => {
  const { url } = await getGateway()
  const tenant = await createTenant()
  const bytes = readFixture('fixture.png')
  const { response, location } = await create(url, tenant, {
    'Upload-Length': String(bytes.length),
    'Upload-Metadata': metadataOf('a.png', 'image/png'),
  })
  assert.ok(response.headers.get('upload-expires'))

  const halfway = await patch(location, tenant, 0, bytes.subarray(0, 100))
  assert.ok(halfway.headers.get('upload-expires'), 'PATCH of an unfinished upload')
  const probed = await head(location, tenant)
  assert.ok(Date.parse(probed.headers.get('upload-expires') ?? '') > Date.now(), 'HEAD of an unfinished upload')

  const last = await patch(location, tenant, 100, bytes.subarray(100))
  assert.is(last.headers.get('upload-expires'), null, 'last PATCH')
  const finished = await head(location, tenant)
  assert.is(finished.headers.get('upload-expires'), null, 'HEAD of a finished upload')
})

Expiry('answers 410 once expired and cleans up', async () => {
  const test = shortLived as TestGateway
  const tenant = await createTenant(['media:read', 'media:write'], 'live', undefined, test)
  const video = readFixture('fixture.mp4')
  const { location } = await create(test.url, tenant, {
    'Upload-Length': String(video.length * 2),
    'Upload-Metadata': metadataOf('a.mp4', 'video/mp4'),
  })
  const first = await patch(location, tenant, 0, video)
  assert.is(first.status, 204)
  await sleep(1600)

  const late = await patch(location, tenant, video.length, video)
  const error = await late.json()
  assert.is(late.status, 410)
  assert.is(error.error.code, 'gone')
  assert.is((await head(location, tenant)).status, 410)

  assert.is(await test.gateway.uploads.cleanupExpired(), 1)
  assert.equal(await findLeftovers(tenant.projectId, test), NOTHING_LEFT)
})

const Deferred = suite('tus deferred length')

Deferred('finishes a small deferred upload', async () => {
  const { url } = await getGateway()
  const tenant = await createTenant()
  const bytes = readFixture('fixture.pdf')
  const { response, location } = await create(url, tenant, {
    'Upload-Defer-Length': '1',
    'Upload-Metadata': metadataOf('a.pdf', 'application/pdf'),
  })
  assert.is(response.status, 201)

  const first = await patch(location, tenant, 0, bytes.subarray(0, 5000))
  assert.is(first.status, 204)
  const last = await patch(location, tenant, 5000, bytes.subarray(5000), { 'Upload-Length': String(bytes.length) })
  assert.is(last.status, 204)
  const file = await fileOf(tenant, location)

  assert.is(file.sha256, sha256Of(bytes))
  assert.is(file.content_type, 'application/pdf')
})

Deferred('declares the length before the last PATCH', async () => {
  const { url } = await getGateway()
  const tenant = await createTenant()
  const bytes = readFixture('fixture.pdf')
  const { location } = await create(url, tenant, {
    'Upload-Defer-Length': '1',
    'Upload-Metadata': metadataOf('a.pdf', 'application/pdf'),
  })
  const first = await patch(location, tenant, 0, bytes.subarray(0, 5000), { 'Upload-Length': String(bytes.length) })
  assert.is(first.status, 204)
  const probed = await head(location, tenant)
  assert.is(probed.headers.get('upload-length'), String(bytes.length))

  const last = await patch(location, tenant, 5000, bytes.subarray(5000))
  assert.is(last.status, 204)
  const file = await fileOf(tenant, location)
  assert.is(file.sha256, sha256Of(bytes))
})

Deferred('finishes a zero-byte deferred upload', async () => {
  const { url } = await getGateway()
  const tenant = await createTenant()
  const { location } = await create(url, tenant, {
    'Upload-Defer-Length': '1',
    'Upload-Metadata': metadataOf('empty.txt', 'text/plain'),
  })
  const last = await patch(location, tenant, 0, new Uint8Array(0), { 'Upload-Length': '0' })
  assert.is(last.status, 204)
  const file = await fileOf(tenant, location)

  assert.is(file.size, 0)
  assert.is(file.sha256, sha256Of(new Uint8Array(0)))
})

Deferred('reserves quota when the length is known', async () => {
  const test = await getGateway()
  const tenant = await createTenant()
  await setStorageUsed(tenant, test.config.quotaStorageBytes - 1000)
  const { response, location } = await create(test.url, tenant, {
    'Upload-Defer-Length': '1',
    'Upload-Metadata': metadataOf('a.mp4', 'video/mp4'),
  })
  assert.is(response.status, 201, 'creation reserves nothing while the length is unknown')

  const video = readFixture('fixture.mp4')
  const declared = await patch(location, tenant, 0, video, { 'Upload-Length': '5000000' })
  const error = await declared.json()
  assert.is(declared.status, 429)
  assert.is(error.error.code, 'quota_exceeded')
  assert.equal(await findLeftovers(tenant.projectId), NOTHING_LEFT)
})

Deferred('stops a chunked PATCH at the limit', async () => {
  const { url } = await getGateway()
  const tenant = await createTenant()
  const { location } = await create(url, tenant, {
    'Upload-Defer-Length': '1',
    'Upload-Metadata': metadataOf('big.png', 'image/png'),
  })
  const png = readFixture('fixture.png')
  const chunk = new Uint8Array(1024 * 1024)
  let sent = 0
  // A streamed body has no Content-Length, so only counting bytes can find the limit.
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === 0) {
        controller.enqueue(png)
        sent += png.length
      } else if (sent < 51_000_000) {
        controller.enqueue(chunk)
        sent += chunk.length
      } else {
        controller.close()
      }
    },
  })
  const response = await patch(location, tenant, 0, body)
  const error = await response.json()

  assert.is(response.status, 413)
  assert.is(error.error.code, 'too_large')
  assert.equal(await findLeftovers(tenant.projectId), NOTHING_LEFT)
})

const Resume = suite('tus resume')

Resume('resumes after a cut mid-chunk', async () => {
  const { url } = await getGateway()
  const tenant = await createTenant()
  const bytes = Buffer.concat([readFixture('fixture.mp4'), Buffer.alloc(12 * 1024 * 1024, 7)])
  const { location } = await create(url, tenant, {
    'Upload-Length': String(bytes.length),
    'Upload-Metadata': metadataOf('cut.mp4', 'video/mp4'),
  })
  // The body sends about 7 MiB of a 12 MiB chunk, then the connection fails.
  let sent = 0
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent >= 7 * 1024 * 1024) {
        controller.error(new Error('link dropped'))

        return
      }
      const piece = bytes.subarray(sent, sent + 256 * 1024)
      sent += piece.length
      controller.enqueue(piece)
      await sleep(1)
    },
  })
  await patch(location, tenant, 0, body).then(
    (response) => response.arrayBuffer(),
    () => undefined,
  )
  await sleep(200)

  const probed = await head(location, tenant)
  const offset = Number(probed.headers.get('upload-offset'))
  assert.ok(offset > 0 && offset <= sent, `offset ${offset} after sending ${sent}`)
  const rest = await patch(location, tenant, offset, bytes.subarray(offset))
  assert.is(rest.status, 204)
  const file = await fileOf(tenant, location)
  assert.is(file.sha256, sha256Of(bytes))
})

Resume('reads back when the saved hash is lost', async () => {
  const test = await getGateway()
  const tenant = await createTenant()
  const bytes = Buffer.concat([readFixture('fixture.mp4'), Buffer.alloc(3 * 1024 * 1024, 9)])
  const { location } = await create(test.url, tenant, {
    'Upload-Length': String(bytes.length),
    'Upload-Metadata': metadataOf('lost.mp4', 'video/mp4'),
  })
  const half = 1024 * 1024
  assert.is((await patch(location, tenant, 0, bytes.subarray(0, half))).status, 204)
  // As after a crash between storing bytes and saving their hash state.
  const id = location.slice(location.lastIndexOf('/') + 1)
  await test.gateway.database.knex('uploads').where({ id }).update({ inspection: null })

  assert.is((await patch(location, tenant, half, bytes.subarray(half))).status, 204)
  const file = await fileOf(tenant, location)
  assert.is(file.sha256, sha256Of(bytes))
})

/** Puts a finished upload back as a crash between storing and committing would leave it. */
async function undoCommit(test: TestGateway, tenant: TestTenant, location: string, size: number) {
  const id = location.slice(location.lastIndexOf('/') + 1)
  const knex = test.gateway.database.knex
  await knex('files').where({ id }).delete()
  await knex('usage').where({ project_id: tenant.projectId }).update({ used: 0 })
  await knex('uploads').where({ id }).update({ status: 'open' })
  await knex('quota_reservations').insert({ upload_id: id, project_id: tenant.projectId, mode: 'live', bytes: size })
}

for (const [name, recover] of [
  ['commits a stored upload on HEAD', (location: string, tenant: TestTenant) => head(location, tenant)],
  [
    'commits a stored upload on a repeated PATCH',
    (location: string, tenant: TestTenant, size: number) => patch(location, tenant, size, new Uint8Array(0)),
  ],
] as const) {
  Resume(name, async () => {
    const test = await getGateway()
    const tenant = await createTenant(['media:read', 'media:write', 'usage:read'])
    const bytes = readFixture('fixture.mp4')
    const { location } = await create(test.url, tenant, {
      'Upload-Length': String(bytes.length),
      'Upload-Metadata': metadataOf('a.mp4', 'video/mp4'),
    })
    assert.is((await patch(location, tenant, 0, bytes)).status, 204)
    await undoCommit(test, tenant, location, bytes.length)

    const response = await recover(location, tenant, bytes.length)
    assert.ok(response.status === 200 || response.status === 204, `status ${response.status}`)
    const file = await fileOf(tenant, location)
    assert.is(file.sha256, sha256Of(bytes))
    const usage = await fetch(`${test.url}/usage`, { headers: tenant.auth }).then((reply) => reply.json())
    assert.is(usage.quotas[0].used, bytes.length)
    const leftovers = await findLeftovers(tenant.projectId)
    assert.is(leftovers.reservations, 0)
    assert.is(leftovers.openUploads, 0)
  })
}

Deferred('counts deferred bytes against the quota', async () => {
  const test = await getGateway()
  const tenant = await createTenant()
  await setStorageUsed(tenant, test.config.quotaStorageBytes - 1_000_000)
  const { location } = await create(test.url, tenant, {
    'Upload-Defer-Length': '1',
    'Upload-Metadata': metadataOf('a.mp4', 'video/mp4'),
  })
  const bytes = Buffer.concat([readFixture('fixture.mp4'), Buffer.alloc(2_000_000)])
  const response = await patch(location, tenant, 0, bytes)
  const error = await response.json()

  assert.is(response.status, 429)
  assert.is(error.error.code, 'quota_exceeded')
  assert.equal(await findLeftovers(tenant.projectId), NOTHING_LEFT)
})

const Sniffing = suite('tus early sniffing')

Sniffing('rejects after one small chunk', async () => {
  const { url } = await getGateway()
  const tenant = await createTenant()
  const video = Buffer.concat([readFixture('fixture.mp4'), Buffer.alloc(2_000_000)])
  const { location } = await create(url, tenant, {
    'Upload-Length': String(video.length),
    'Upload-Metadata': metadataOf('a.png', 'image/png'),
  })
  const first = await patch(location, tenant, 0, video.subarray(0, 8192))
  const error = await first.json()

  assert.is(first.status, 400)
  assert.is(error.error.detected_content_type, 'video/mp4')
  assert.is((await head(location, tenant)).status, 404)
  assert.equal(await findLeftovers(tenant.projectId), NOTHING_LEFT)
})

Expiry.run()
Deferred.run()
Resume.run()
Sniffing.run()
