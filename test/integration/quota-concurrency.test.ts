import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFixture } from '../helpers/fixtures.js'
import { type TestTenant, createTenant, findLeftovers, getGateway, setStorageUsed } from '../helpers/gateway.js'

const PNG = readFixture('fixture.png')
const GIF = readFixture('fixture.gif')
const TUS_HEADERS = { 'Tus-Resumable': '1.0.0' }
const SCOPES = ['media:read', 'media:write', 'usage:read']

interface QuotaJson {
  metric: string
  used: number
  limit: number
  cumulative: boolean
}

/** Builds a multipart body up front, so its Content-Length is known before it is sent. */
async function buildForm(name: string, bytes: Buffer, type: string) {
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array(bytes)], { type }), name)
  const encoded = new Request('http://127.0.0.1/', { method: 'POST', body: form })

  return {
    body: new Uint8Array(await encoded.arrayBuffer()),
    contentType: encoded.headers.get('content-type') as string,
  }
}

async function postForm(tenant: TestTenant, form: { body: Uint8Array; contentType: string }) {
  const { url } = await getGateway()
  const response = await fetch(`${url}/media`, {
    method: 'POST',
    headers: { ...tenant.auth, 'Content-Type': form.contentType },
    body: form.body as Uint8Array<ArrayBuffer>,
  })

  return { response, json: await response.json() }
}

function encodeMetadata(metadata: Record<string, string>): string {
  return Object.entries(metadata)
    .map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`)
    .join(',')
}

async function createUpload(tenant: TestTenant, length: number) {
  const { url } = await getGateway()
  const response = await fetch(`${url}/media/uploads`, {
    method: 'POST',
    headers: {
      ...TUS_HEADERS,
      ...tenant.auth,
      'Upload-Length': String(length),
      'Upload-Metadata': encodeMetadata({ filename: 'a.png', filetype: 'image/png' }),
    },
  })
  const json = response.status >= 400 ? await response.json() : null

  return { response, json }
}

async function patchUpload(tenant: TestTenant, location: string, bytes: Buffer) {
  return fetch(location, {
    method: 'PATCH',
    headers: {
      ...TUS_HEADERS,
      ...tenant.auth,
      'Upload-Offset': '0',
      'Content-Type': 'application/offset+octet-stream',
    },
    body: new Uint8Array(bytes),
  })
}

async function getUsage(tenant: TestTenant) {
  const { url } = await getGateway()
  const response = await fetch(`${url}/usage`, { headers: tenant.auth })
  assert.is(response.status, 200, 'GET /usage status')
  const json = (await response.json()) as { tier: string; quotas: QuotaJson[] }

  return json
}

function usedOf(usage: { quotas: QuotaJson[] }, metric: string): number | undefined {
  return usage.quotas.find((quota) => quota.metric === metric)?.used
}

const Concurrency = suite('quota under concurrency')

Concurrency('admits only what fits', async () => {
  const test = await getGateway()
  const limit = test.config.quotaStorageBytes
  const tenant = await createTenant(SCOPES)
  const form = await buildForm('a.png', PNG, 'image/png')
  // Room for the 12 tus reservations and one multipart reservation, so at most 14 of the 24
  // uploads fit. A multipart upload is rejected only after another multipart upload has
  // taken room, so at least one gets in whatever the order.
  const room = 12 * PNG.length + form.body.length
  await setStorageUsed(tenant, limit - room)

  const attempts = Array.from({ length: 24 }, (_, index) => {
    const door = index % 2 === 0 ? 'multipart' : 'tus'
    const label = `${door} upload ${index}`
    if (door === 'multipart') {
      return postForm(tenant, form).then(({ response, json }) => ({
        door,
        label,
        status: response.status,
        error: json.error,
        location: null,
      }))
    }

    return createUpload(tenant, PNG.length).then(({ response, json }) => ({
      door,
      label,
      status: response.status,
      error: json?.error,
      location: response.headers.get('location'),
    }))
  })
  const results = await Promise.all(attempts)

  for (const result of results) {
    const details = `${result.label}: status ${result.status} ${JSON.stringify(result.error)}`
    assert.ok([201, 429].includes(result.status), details)
    if (result.status === 429) {
      assert.is(result.error?.code, 'quota_exceeded', `${result.label}: error.code`)
      assert.is(result.error?.metric, 'storage_bytes', `${result.label}: error.metric`)
    }
  }
  const acceptedMultipart = results.filter((result) => result.door === 'multipart' && result.status === 201)
  const acceptedTus = results.filter((result) => result.door === 'tus' && result.status === 201)
  const acceptedCount = acceptedMultipart.length + acceptedTus.length
  assert.ok(acceptedMultipart.length >= 1, 'no multipart upload was accepted')
  assert.ok(acceptedCount < results.length, 'every upload was accepted')
  assert.ok(acceptedCount * PNG.length <= room, `${acceptedCount} accepted uploads exceed the room of ${room} bytes`)

  // Multipart uploads are committed by now, and accepted tus uploads keep their reservations
  // until their bytes arrive.
  const reserved = await test.gateway.metadata.getReservedBytes(tenant.projectId, tenant.mode)
  const settledUsage = await getUsage(tenant)
  assert.is(reserved, acceptedTus.length * PNG.length, 'bytes reserved by open tus uploads')
  const settledStorage = usedOf(settledUsage, 'storage_bytes') ?? 0
  const expectedSettled = limit - room + acceptedMultipart.length * PNG.length
  assert.is(settledStorage, expectedSettled, 'storage_bytes used before the tus uploads finish')
  assert.ok(settledStorage + reserved <= limit, 'usage and reservations exceed the limit')

  for (const result of acceptedTus) {
    const response = await patchUpload(tenant, result.location as string, PNG)
    assert.is(response.status, 204, `${result.label}: PATCH status ${await response.text()}`)
  }

  const usage = await getUsage(tenant)
  const expectedStorage = limit - room + acceptedCount * PNG.length
  assert.is(usedOf(usage, 'storage_bytes'), expectedStorage, 'storage_bytes used after every upload finished')
  assert.is(usedOf(usage, 'upload_bytes'), acceptedCount * PNG.length, 'upload_bytes used after every upload finished')
  const list = await fetch(`${test.url}/media?limit=100`, { headers: tenant.auth })
  const listJson = await list.json()
  assert.is(listJson.data.length, acceptedCount, 'files listed by GET /media')
  const leftovers = await findLeftovers(tenant.projectId)
  assert.is(leftovers.reservations, 0, 'reservations left')
  assert.is(leftovers.openUploads, 0, 'open uploads left')
  assert.is(leftovers.files, acceptedCount, 'file rows')
  // tus keeps an upload's metadata beside its object, as `<key>.json` in the data folder and `<key>.info` in S3.
  const fileObjects = leftovers.objects.filter((key) => !key.endsWith('.json') && !key.endsWith('.info'))
  assert.is(fileObjects.length, acceptedCount, `stored objects: ${leftovers.objects.join(', ')}`)
  assert.equal(leftovers.multipartUploads, [], 'open S3 multipart uploads')
})

Concurrency('multipart reserves its Content-Length', async () => {
  const test = await getGateway()
  const limit = test.config.quotaStorageBytes
  const form = await buildForm('a.png', PNG, 'image/png')
  const contentLength = form.body.length
  assert.ok(contentLength > PNG.length + 1, 'the form is larger than its file')

  // The file fits in the room left, but the reservation of the whole request does not.
  const oneByteShort = await createTenant(SCOPES)
  await setStorageUsed(oneByteShort, limit - (contentLength - 1))
  const rejected = await postForm(oneByteShort, form)
  assert.is(rejected.response.status, 429, `one byte short: status ${JSON.stringify(rejected.json)}`)
  assert.is(rejected.json.error.code, 'quota_exceeded', 'one byte short: error.code')
  assert.is((await findLeftovers(oneByteShort.projectId)).reservations, 0, 'one byte short: reservations left')

  const exactRoom = await createTenant(SCOPES)
  await setStorageUsed(exactRoom, limit - contentLength)
  const accepted = await postForm(exactRoom, form)
  assert.is(accepted.response.status, 201, `exact room: status ${JSON.stringify(accepted.json)}`)
  const exactUsage = await getUsage(exactRoom)
  assert.is(usedOf(exactUsage, 'storage_bytes'), limit - contentLength + PNG.length, 'exact room: storage_bytes used')
  assert.is((await findLeftovers(exactRoom.projectId)).reservations, 0, 'exact room: reservations left')
})

Concurrency('multipart settles on the file size', async () => {
  const tenant = await createTenant(SCOPES)
  const form = await buildForm('a.png', PNG, 'image/png')
  const { response, json } = await postForm(tenant, form)
  assert.is(response.status, 201, JSON.stringify(json))

  const usage = await getUsage(tenant)
  assert.is(usedOf(usage, 'storage_bytes'), PNG.length, 'storage_bytes used')
  assert.is(usedOf(usage, 'upload_bytes'), PNG.length, 'upload_bytes used')
  assert.is((await findLeftovers(tenant.projectId)).reservations, 0, 'reservations left')
})

Concurrency.run()

const Usage = suite('GET /usage')

Usage('lists the default tier quotas', async () => {
  const test = await getGateway()
  const tenant = await createTenant(SCOPES)
  const usage = await getUsage(tenant)

  assert.equal(usage, {
    tier: 'default',
    quotas: [
      { metric: 'storage_bytes', used: 0, limit: test.config.quotaStorageBytes, cumulative: true },
      { metric: 'upload_bytes', used: 0, limit: test.config.quotaUploadBytesPerMonth, cumulative: false },
    ],
  })
})

Usage('DELETE lowers storage, not uploads', async () => {
  const test = await getGateway()
  const tenant = await createTenant(SCOPES)
  const png = await postForm(tenant, await buildForm('a.png', PNG, 'image/png'))
  const gif = await postForm(tenant, await buildForm('a.gif', GIF, 'image/gif'))
  assert.is(png.response.status, 201, `PNG upload: ${JSON.stringify(png.json)}`)
  assert.is(gif.response.status, 201, `GIF upload: ${JSON.stringify(gif.json)}`)

  const deleted = await fetch(`${test.url}/media/${png.json.id}`, { method: 'DELETE', headers: tenant.auth })
  assert.is(deleted.status, 204, 'DELETE status')

  const usage = await getUsage(tenant)
  assert.is(usedOf(usage, 'storage_bytes'), GIF.length, 'storage_bytes used after DELETE')
  assert.is(usedOf(usage, 'upload_bytes'), PNG.length + GIF.length, 'upload_bytes used after DELETE')
})

Usage.run()
