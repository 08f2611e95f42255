import { randomBytes } from 'node:crypto'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFixture, sha256Of } from '../helpers/fixtures.js'
import { type TestTenant, createTenant, findLeftovers, getGateway } from '../helpers/gateway.js'
import { type GatewayProcess, startGatewayProcess } from '../helpers/instances.js'

const MIB = 1024 * 1024
const TUS = { 'Tus-Resumable': '1.0.0' }

const Instances = suite('two gateway instances')

let first: GatewayProcess | null = null
let second: GatewayProcess | null = null
let isShared = false

Instances.before(async () => {
  const test = await getGateway()
  isShared = test.isPostgres && test.isS3
  if (!isShared) {
    console.log('  two-instance suite skipped: it needs DATABASE_URL and S3_ENDPOINT, which instances share')

    return
  }
  ;[first, second] = await Promise.all([startGatewayProcess(), startGatewayProcess()])
})

Instances.after(async () => {
  await Promise.all([first?.stop(), second?.stop()])
})

function makeVideo(sizeBytes: number): Buffer {
  const bytes = randomBytes(sizeBytes)
  readFixture('fixture.mp4').copy(bytes)

  return bytes
}

async function create(base: string, tenant: TestTenant, length: number) {
  const metadata = `filename ${Buffer.from('clip.mp4').toString('base64')},filetype ${Buffer.from('video/mp4').toString('base64')}`
  const response = await fetch(`${base}/media/uploads`, {
    method: 'POST',
    headers: { ...TUS, ...tenant.auth, 'Upload-Length': String(length), 'Upload-Metadata': metadata },
  })
  assert.is(response.status, 201)
  const location = response.headers.get('location') ?? ''

  return location.slice(location.lastIndexOf('/') + 1)
}

function patch(base: string, tenant: TestTenant, id: string, offset: number, bytes: Uint8Array) {
  return fetch(`${base}/media/uploads/${id}`, {
    method: 'PATCH',
    headers: {
      ...TUS,
      ...tenant.auth,
      'Upload-Offset': String(offset),
      'Content-Type': 'application/offset+octet-stream',
    },
    body: bytes as Uint8Array<ArrayBuffer>,
  })
}

async function headOffset(base: string, tenant: TestTenant, id: string) {
  const response = await fetch(`${base}/media/uploads/${id}`, { method: 'HEAD', headers: { ...TUS, ...tenant.auth } })
  assert.is(response.status, 200, `HEAD on ${base}`)

  return Number(response.headers.get('upload-offset'))
}

async function expectOneFile(tenant: TestTenant, id: string, bytes: Buffer) {
  const test = await getGateway()
  const response = await fetch(`${test.url}/media/${id}`, { headers: tenant.auth })
  const json = await response.json()
  assert.is(response.status, 200)
  assert.is(json.sha256, sha256Of(bytes))
  assert.is(json.size, bytes.length)

  const leftovers = await findLeftovers(tenant.projectId)
  assert.is(leftovers.files, 1)
  assert.is(leftovers.openUploads, 0)
  assert.is(leftovers.reservations, 0)
  assert.equal(leftovers.multipartUploads, [])
  const usage = await fetch(`${test.url}/usage`, { headers: tenant.auth }).then((reply) => reply.json())
  assert.is(usage.quotas[0].used, bytes.length, 'storage is charged once')
}

Instances('alternates PATCHes around part boundaries', async () => {
  if (!isShared || !first || !second) {
    return
  }
  const tenant = await createTenant(['media:read', 'media:write', 'usage:read'])
  const chunks = [MIB, 5 * MIB - 1, 5 * MIB + 1, 6 * MIB, 3]
  const bytes = makeVideo(chunks.reduce((total, size) => total + size, 0))
  const id = await create(first.url, tenant, bytes.length)
  let offset = 0
  for (const [index, size] of chunks.entries()) {
    const base = index % 2 === 0 ? first.url : second.url
    const response = await patch(base, tenant, id, offset, bytes.subarray(offset, offset + size))
    assert.is(response.status, 204, `chunk ${index} of ${size} bytes`)
    offset += size
    assert.is(Number(response.headers.get('upload-offset')), offset)
    assert.is(await headOffset(first.url, tenant, id), offset, `HEAD on the first after chunk ${index}`)
    assert.is(await headOffset(second.url, tenant, id), offset, `HEAD on the second after chunk ${index}`)
  }

  await expectOneFile(tenant, id, bytes)
})

Instances('repeats a lost final PATCH harmlessly', async () => {
  if (!isShared || !first || !second) {
    return
  }
  const tenant = await createTenant(['media:read', 'media:write', 'usage:read'])
  const bytes = makeVideo(2 * MIB)
  const id = await create(first.url, tenant, bytes.length)
  const finished = await patch(first.url, tenant, id, 0, bytes)
  assert.is(finished.status, 204)

  // The client never saw that answer: it asks the other instance and repeats the last PATCH.
  assert.is(await headOffset(second.url, tenant, id), bytes.length)
  const repeated = await patch(second.url, tenant, id, bytes.length, new Uint8Array(0))
  assert.is(repeated.status, 204)
  assert.is(Number(repeated.headers.get('upload-offset')), bytes.length)

  await expectOneFile(tenant, id, bytes)
})

Instances('serializes PATCH and HEAD across instances', async () => {
  if (!isShared || !first || !second) {
    return
  }
  const tenant = await createTenant(['media:read', 'media:write', 'usage:read'])
  const bytes = makeVideo(12 * MIB)
  const id = await create(first.url, tenant, bytes.length)
  const half = 6 * MIB
  const [patched, offsetSeen] = await Promise.all([
    patch(first.url, tenant, id, 0, bytes.subarray(0, half)),
    headOffset(second.url, tenant, id),
  ])

  // A HEAD that asks for the lock may cut the PATCH short, which then reports what it stored.
  assert.is(patched.status, 204)
  const offset = await headOffset(second.url, tenant, id)
  assert.ok(offsetSeen === 0 || offsetSeen === offset, `HEAD saw ${offsetSeen}, later ${offset}`)
  const rest = await patch(second.url, tenant, id, offset, bytes.subarray(offset))
  assert.is(rest.status, 204)

  await expectOneFile(tenant, id, bytes)
})

Instances('lets one of two racing PATCHes write', async () => {
  if (!isShared || !first || !second) {
    return
  }
  const tenant = await createTenant(['media:read', 'media:write', 'usage:read'])
  const bytes = makeVideo(8 * MIB)
  const id = await create(first.url, tenant, bytes.length)
  const [one, two] = await Promise.all([
    patch(first.url, tenant, id, 0, bytes.subarray(0, 4 * MIB)),
    patch(second.url, tenant, id, 0, bytes.subarray(0, 4 * MIB)),
  ])
  const statuses = [one.status, two.status].sort()

  // The lock lets one write; the other then finds the offset moved.
  assert.equal(statuses, [204, 409])
  const offset = await headOffset(first.url, tenant, id)
  assert.ok(offset <= 4 * MIB, `offset ${offset}`)
  assert.is(await headOffset(second.url, tenant, id), offset)
  const rest = await patch(first.url, tenant, id, offset, bytes.subarray(offset))
  assert.is(rest.status, 204)

  await expectOneFile(tenant, id, bytes)
})

Instances('resumes on a restarted instance', async () => {
  if (!isShared || !first || !second) {
    return
  }
  const tenant = await createTenant(['media:read', 'media:write', 'usage:read'])
  const bytes = makeVideo(7 * MIB)
  const id = await create(first.url, tenant, bytes.length)
  assert.is((await patch(first.url, tenant, id, 0, bytes.subarray(0, 3 * MIB))).status, 204)

  await first.stop()
  first = await startGatewayProcess()
  const offset = await headOffset(first.url, tenant, id)
  assert.is(offset, 3 * MIB)
  assert.is((await patch(first.url, tenant, id, offset, bytes.subarray(offset))).status, 204)

  await expectOneFile(tenant, id, bytes)
})

Instances.run()
