import { randomBytes } from 'node:crypto'
import * as tus from 'tus-js-client'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFixture, sha256Of } from '../helpers/fixtures.js'
import { NOTHING_LEFT, type TestTenant, createTenant, findLeftovers, getGateway, setStorageUsed } from '../helpers/gateway.js'

const TUS_HEADERS = { 'Tus-Resumable': '1.0.0' }

function encodeMetadata(metadata: Record<string, string>): string {
  return Object.entries(metadata)
    .map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`)
    .join(',')
}

async function createUpload(tenant: TestTenant, length: number, metadata: Record<string, string>) {
  const { url } = await getGateway()

  return fetch(`${url}/media/uploads`, {
    method: 'POST',
    headers: {
      ...TUS_HEADERS,
      ...tenant.auth,
      'Upload-Length': String(length),
      'Upload-Metadata': encodeMetadata(metadata),
    },
  })
}

/** Creates an upload and sends its bytes in the same request (creation-with-upload). */
async function createWithUpload(tenant: TestTenant, length: number, bytes: Uint8Array) {
  const { url } = await getGateway()

  return fetch(`${url}/media/uploads`, {
    method: 'POST',
    headers: {
      ...TUS_HEADERS,
      ...tenant.auth,
      'Upload-Length': String(length),
      'Upload-Metadata': encodeMetadata({ filename: 'a.png', filetype: 'image/png' }),
      'Content-Type': 'application/offset+octet-stream',
    },
    body: bytes as Uint8Array<ArrayBuffer>,
  })
}

async function patchUpload(tenant: TestTenant, location: string, offset: number, bytes: Uint8Array) {
  return fetch(location, {
    method: 'PATCH',
    headers: {
      ...TUS_HEADERS,
      ...tenant.auth,
      'Upload-Offset': String(offset),
      'Content-Type': 'application/offset+octet-stream',
    },
    body: bytes as Uint8Array<ArrayBuffer>,
  })
}

/** Uploads with the real tus-js-client; resolves with the upload URL. */
function uploadWithClient(
  tenant: TestTenant,
  bytes: Buffer,
  metadata: Record<string, string>,
  options: Partial<tus.UploadOptions> = {},
) {
  return new Promise<string>((resolve, reject) => {
    getGateway().then(({ url }) => {
      const upload = new tus.Upload(bytes, {
        endpoint: `${url}/media/uploads`,
        headers: tenant.auth,
        metadata,
        retryDelays: [],
        onError: reject,
        onSuccess: () => resolve(upload.url as string),
        ...options,
      })
      upload.start()
    }, reject)
  })
}

async function getFile(tenant: TestTenant, id: string) {
  const { url } = await getGateway()
  const response = await fetch(`${url}/media/${id}`, { headers: tenant.auth })

  return { response, json: await response.json() }
}

/** Makes a real MP4 head followed by random bytes, for uploads large enough to span parts. */
function makeVideo(sizeBytes: number): Buffer {
  const head = readFixture('fixture.mp4')
  const bytes = randomBytes(sizeBytes)
  head.copy(bytes)

  return bytes
}

const Tus = suite('tus uploads')

Tus('finishes as the same file object', async () => {
  const tenant = await createTenant()
  const bytes = readFixture('fixture.mp4')
  const location = await uploadWithClient(
    tenant,
    bytes,
    { filename: 'clip.mp4', filetype: 'video/mp4', folder: 'clips', tags: 'a,b' },
    { chunkSize: 1000 },
  )
  const id = location.slice(location.lastIndexOf('/') + 1)
  const { response, json } = await getFile(tenant, id)

  assert.is(response.status, 200)
  assert.is(json.id, id)
  assert.is(json.sha256, sha256Of(bytes))
  assert.is(json.size, bytes.length)
  assert.is(json.content_type, 'video/mp4')
  assert.is(json.original_name, 'clip.mp4')
  assert.is(json.folder, 'clips')
  assert.equal(json.tags, ['a', 'b'])
  assert.is(json.key, `${tenant.projectId}/live/${id}`)
  const leftovers = await findLeftovers(tenant.projectId)
  assert.is(leftovers.files, 1)
  assert.is(leftovers.openUploads, 0)
  assert.is(leftovers.reservations, 0)
})

Tus('accepts the name and type metadata keys', async () => {
  const tenant = await createTenant()
  const bytes = readFixture('fixture.txt')
  const location = await uploadWithClient(tenant, bytes, { name: 'notes.txt', type: 'text/plain' })
  const { json } = await getFile(tenant, location.slice(location.lastIndexOf('/') + 1))

  assert.is(json.original_name, 'notes.txt')
  assert.is(json.content_type, 'text/plain')
  assert.is(json.sha256, sha256Of(bytes))
})

Tus('hashes text split inside a character', async () => {
  const tenant = await createTenant()
  const bytes = Buffer.from('zürich, 東京, '.repeat(50))
  const location = await uploadWithClient(
    tenant,
    bytes,
    { filename: 'cities.txt', filetype: 'text/plain' },
    { chunkSize: 7 },
  )
  const { json } = await getFile(tenant, location.slice(location.lastIndexOf('/') + 1))

  assert.is(json.sha256, sha256Of(bytes))
})

Tus('resumes a cut-off 30 MB video', async () => {
  const tenant = await createTenant()
  const bytes = makeVideo(30 * 1024 * 1024)
  const { url } = await getGateway()
  const metadata = { filename: 'big.mp4', filetype: 'video/mp4' }
  let uploadUrl = ''
  await new Promise<void>((resolve, reject) => {
    const upload: tus.Upload = new tus.Upload(bytes, {
      endpoint: `${url}/media/uploads`,
      headers: tenant.auth,
      metadata,
      chunkSize: 4 * 1024 * 1024,
      retryDelays: [],
      onError: reject,
      onSuccess: () => reject(new Error('the upload finished before it was cut off')),
      onChunkComplete: (_chunk, accepted) => {
        if (accepted >= bytes.length / 2) {
          uploadUrl = upload.url as string
          upload.abort().then(resolve, reject)
        }
      },
    })
    upload.start()
  })
  const id = uploadUrl.slice(uploadUrl.lastIndexOf('/') + 1)
  const before = await getFile(tenant, id)
  assert.is(before.response.status, 404)

  await uploadWithClient(tenant, bytes, metadata, { uploadUrl, chunkSize: 4 * 1024 * 1024 })
  const { json } = await getFile(tenant, id)

  assert.is(json.sha256, sha256Of(bytes))
  assert.is(json.size, bytes.length)
})

Tus('finishes a creation-with-upload', async () => {
  const tenant = await createTenant()
  const bytes = readFixture('fixture.png')
  const response = await createWithUpload(tenant, bytes.length, bytes)
  const location = response.headers.get('location') ?? ''

  assert.is(response.status, 201)
  assert.is(response.headers.get('upload-offset'), String(bytes.length))
  const { json } = await getFile(tenant, location.slice(location.lastIndexOf('/') + 1))
  assert.is(json.sha256, sha256Of(bytes))
})

Tus('sets Upload-Expires on unfinished uploads', async () => {
  const tenant = await createTenant()
  const response = await createUpload(tenant, 1000, { filename: 'a.png', filetype: 'image/png' })
  const expires = Date.parse(response.headers.get('upload-expires') ?? '')

  assert.is(response.status, 201)
  assert.ok(expires > Date.now())
})

const Rejections = suite('tus rejections')

async function expectEnvelope(response: Response, status: number, code: string) {
  const json = await response.json()
  assert.is(response.status, status, JSON.stringify(json))
  assert.is(json.error.code, code)
  assert.type(json.error.message, 'string')

  return json.error
}

Rejections('rejects an unsupported type at creation', async () => {
  const tenant = await createTenant()
  const response = await createUpload(tenant, 100, { filename: 'a.zip', filetype: 'application/zip' })

  await expectEnvelope(response, 415, 'unsupported_media_type')
  assert.equal(await findLeftovers(tenant.projectId), NOTHING_LEFT)
})

Rejections('rejects NUL in metadata at creation', async () => {
  const tenant = await createTenant()
  const response = await createUpload(tenant, 100, { filename: 'a\u0000b.png', filetype: 'image/png' })
  const error = await expectEnvelope(response, 400, 'bad_request')

  assert.is(error.field, 'filename')
  assert.equal(await findLeftovers(tenant.projectId), NOTHING_LEFT)
})

Rejections('rejects a length over the limit at creation', async () => {
  const tenant = await createTenant()
  const response = await createUpload(tenant, 500_000_001, { filename: 'a.mp4', filetype: 'video/mp4' })
  const error = await expectEnvelope(response, 413, 'too_large')

  assert.is(error.limit, 500_000_000)
  assert.is(error.category, 'video')
  assert.equal(await findLeftovers(tenant.projectId), NOTHING_LEFT)
})

Rejections('rejects an upload over quota at creation', async () => {
  const test = await getGateway()
  const tenant = await createTenant()
  const limit = test.config.quotaStorageBytes
  await setStorageUsed(tenant, limit - 10)
  const response = await createUpload(tenant, 100, { filename: 'a.png', filetype: 'image/png' })
  const error = await expectEnvelope(response, 429, 'quota_exceeded')

  assert.is(error.metric, 'storage_bytes')
  assert.equal(error.quotas, [
    { metric: 'storage_bytes', used: limit - 10, limit, cumulative: true },
    { metric: 'upload_bytes', used: 0, limit: test.config.quotaUploadBytesPerMonth, cumulative: false },
  ])
  assert.equal(await findLeftovers(tenant.projectId), NOTHING_LEFT)
})

Rejections('rejects mismatched first bytes and ends the upload', async () => {
  const tenant = await createTenant()
  const bytes = makeVideo(200 * 1024)
  const created = await createUpload(tenant, bytes.length, { filename: 'a.png', filetype: 'image/png' })
  const location = created.headers.get('location') ?? ''
  const response = await patchUpload(tenant, location, 0, bytes.subarray(0, 100 * 1024))
  const error = await expectEnvelope(response, 400, 'bad_request')

  assert.is(error.declared_content_type, 'image/png')
  assert.is(error.detected_content_type, 'video/mp4')
  const head = await fetch(location, { method: 'HEAD', headers: { ...TUS_HEADERS, ...tenant.auth } })
  assert.is(head.status, 404)
  assert.equal(await findLeftovers(tenant.projectId), NOTHING_LEFT)
})

Rejections('removes a failed creation-with-upload', async () => {
  const tenant = await createTenant()
  // The body is longer than the declared length of 100 bytes.
  const response = await createWithUpload(tenant, 100, readFixture('fixture.png'))

  await expectEnvelope(response, 413, 'too_large')
  assert.equal(await findLeftovers(tenant.projectId), NOTHING_LEFT)
})

Rejections('terminates an unfinished upload', async () => {
  const tenant = await createTenant()
  const bytes = makeVideo(100 * 1024)
  const created = await createUpload(tenant, bytes.length, { filename: 'a.mp4', filetype: 'video/mp4' })
  const location = created.headers.get('location') ?? ''
  await patchUpload(tenant, location, 0, bytes.subarray(0, 70 * 1024))
  const response = await fetch(location, { method: 'DELETE', headers: { ...TUS_HEADERS, ...tenant.auth } })

  assert.is(response.status, 204)
  assert.equal(await findLeftovers(tenant.projectId), NOTHING_LEFT)
})

Rejections('keeps a finished upload from termination', async () => {
  const tenant = await createTenant()
  const location = await uploadWithClient(tenant, readFixture('fixture.gif'), {
    filename: 'a.gif',
    filetype: 'image/gif',
  })
  const response = await fetch(location, { method: 'DELETE', headers: { ...TUS_HEADERS, ...tenant.auth } })

  await expectEnvelope(response, 400, 'bad_request')
  const { json } = await getFile(tenant, location.slice(location.lastIndexOf('/') + 1))
  assert.is(json.content_type, 'image/gif')
})

Rejections('removes expired uploads in cleanup', async () => {
  const test = await getGateway()
  const tenant = await createTenant()
  const bytes = makeVideo(100 * 1024)
  const created = await createUpload(tenant, bytes.length, { filename: 'a.mp4', filetype: 'video/mp4' })
  const location = created.headers.get('location') ?? ''
  await patchUpload(tenant, location, 0, bytes.subarray(0, 70 * 1024))
  const later = new Date(Date.now() + test.config.tusExpirationMs + 60_000)
  await test.gateway.uploads.cleanupExpired(later)

  assert.equal(await findLeftovers(tenant.projectId), NOTHING_LEFT)
})

Rejections('wraps tus errors in the envelope', async () => {
  const tenant = await createTenant()
  const { url } = await getGateway()
  const response = await fetch(`${url}/media/uploads`, {
    method: 'POST',
    headers: { ...tenant.auth, 'Upload-Length': '10' },
  })

  await expectEnvelope(response, 412, 'unsupported_version')
})

Rejections('rejects a wrong offset with 409', async () => {
  const tenant = await createTenant()
  const created = await createUpload(tenant, 1000, { filename: 'a.txt', filetype: 'text/plain' })
  const response = await patchUpload(tenant, created.headers.get('location') ?? '', 5, Buffer.from('hello'))

  await expectEnvelope(response, 409, 'offset_mismatch')
})

const Access = suite('tus access')

Access('requires a token with media:write', async () => {
  const { url } = await getGateway()
  const missing = await fetch(`${url}/media/uploads`, {
    method: 'POST',
    headers: { ...TUS_HEADERS, 'Upload-Length': '10' },
  })
  await expectEnvelope(missing, 401, 'unauthorized')
  assert.is(missing.headers.get('www-authenticate'), 'Bearer')

  const reader = await createTenant(['media:read'])
  const forbidden = await createUpload(reader, 10, { filename: 'a.txt', filetype: 'text/plain' })
  const error = await expectEnvelope(forbidden, 403, 'forbidden')
  assert.is(error.required_scope, 'media:write')
})

Access('hides uploads from other projects and modes', async () => {
  const owner = await createTenant()
  const created = await createUpload(owner, 1000, { filename: 'a.txt', filetype: 'text/plain' })
  const location = created.headers.get('location') ?? ''
  const stranger = await createTenant()
  const otherMode = await createTenant(['media:read', 'media:write'], 'test', owner.projectName)
  for (const tenant of [stranger, otherMode]) {
    const head = await fetch(location, { method: 'HEAD', headers: { ...TUS_HEADERS, ...tenant.auth } })
    assert.is(head.status, 404)
    const patch = await patchUpload(tenant, location, 0, Buffer.from('hello'))
    assert.is(patch.status, 404)
    const remove = await fetch(location, { method: 'DELETE', headers: { ...TUS_HEADERS, ...tenant.auth } })
    assert.is(remove.status, 404)
  }
  const head = await fetch(location, { method: 'HEAD', headers: { ...TUS_HEADERS, ...owner.auth } })
  assert.is(head.status, 200)
})

Tus.run()
Rejections.run()
Access.run()
