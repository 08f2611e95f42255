import { rm, symlink, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { Validator } from '@seriousme/openapi-schema-validator'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createOpenApiDocument } from '../../src/http/openapi.js'
import { readFixture } from '../helpers/fixtures.js'
import {
  type TestGateway,
  type TestTenant,
  createTenant,
  findLeftovers,
  getGateway,
  setStorageUsed,
  startGateway,
  stopGateway,
} from '../helpers/gateway.js'
import { OpenApiContract, contractFetch } from '../helpers/openapi-contract.js'

const Document = suite('openapi document')

Document('is a valid OpenAPI 3.1 document', async () => {
  const validator = new Validator()
  const result = await validator.validate(structuredClone(createOpenApiDocument()))

  assert.is(validator.version, '3.1')
  assert.equal(result.errors ?? [], [])
  assert.ok(result.valid)
})

Document('documents every error code', () => {
  const document = createOpenApiDocument()
  const codes = document.components.schemas.ErrorBody.properties.code.enum

  for (const code of ['bad_request', 'unauthorized', 'forbidden', 'not_found', 'gone', 'too_large']) {
    assert.ok(codes.includes(code), code)
  }
  for (const code of ['unsupported_media_type', 'quota_exceeded', 'internal', 'storage_error']) {
    assert.ok(codes.includes(code), code)
  }
  for (const code of ['offset_mismatch', 'unsupported_version', 'not_implemented']) {
    assert.ok(codes.includes(code), code)
  }
})

Document.run()

/**
 * Drives every operation to every status it documents, checking each
 * response against the document, then requires that no documented status
 * went unseen.
 */
const Contract = suite('openapi contract')

const contract = new OpenApiContract(createOpenApiDocument())
const call = contractFetch(contract)

/** A gateway with files in the data folder and 1 s tus expiry: it serves /files and returns 410. */
let local: TestGateway | null = null
/** A gateway whose object store is a closed port: storage calls fail with 503. */
let broken: TestGateway | null = null

const TUS = { 'Tus-Resumable': '1.0.0' }
const PNG = readFixture('fixture.png')
const NO_SUCH_FILE = 'f_01M90X1KHWY3Q6RT87JC46AD2G'

function metadataOf(name: string, type: string, extra: Record<string, string> = {}): string {
  return Object.entries({ filename: name, filetype: type, ...extra })
    .map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`)
    .join(',')
}

function pngForm(type = 'image/png', fields: Record<string, string> = {}): FormData {
  const form = new FormData()
  for (const [name, value] of Object.entries(fields)) {
    form.append(name, value)
  }
  form.append('file', new Blob([new Uint8Array(PNG)], { type }), 'a.png')

  return form
}

/**
 * Sends a request with node:http and checks its response against the contract.
 * fetch cannot be used where it changes the request (conditional GETs get
 * `Cache-Control: no-cache`), or where the gateway resets the connection
 * before the body is sent, because node:http still reads the response then.
 */
async function rawRequest(method: string, url: string, headers: Record<string, string | number>, body?: Buffer) {
  const { status, responseHeaders, text } = await new Promise<{ status: number; responseHeaders: Headers; text: string }>(
    (resolve, reject) => {
      const client = request(url, { method, headers })
      client.on('response', (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('end', () => {
          const received = new Headers()
          for (const [name, value] of Object.entries(response.headers)) {
            received.set(name, String(value))
          }
          resolve({ status: response.statusCode ?? 0, responseHeaders: received, text: Buffer.concat(chunks).toString('utf8') })
        })
      })
      // The gateway may close the connection while the body is still being written.
      client.on('error', (error) => setTimeout(() => reject(error), 1000))
      client.end(body)
    },
  )
  const problems = contract.check(method, new URL(url).pathname, status, responseHeaders, text)
  assert.equal(problems, [])

  return status
}

/** Posts an image one byte over its limit. */
async function postOverLimit(base: string, tenant: TestTenant): Promise<number> {
  const boundary = 'openapi-over-limit'
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\nContent-Type: image/png\r\n\r\n`,
  )
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  const fileBytes = Buffer.alloc(50_000_001)
  PNG.copy(fileBytes)
  const body = Buffer.concat([head, fileBytes, tail])
  const headers = { ...tenant.auth, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': body.length }

  return rawRequest('POST', `${base}/media`, headers, body)
}

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))

  return port
}

/** Drops headers given as empty strings, so a test can leave out a default one. */
function withoutEmpty(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== ''))
}

async function createUpload(base: string, tenant: TestTenant, headers: Record<string, string> = {}) {
  return call(`${base}/media/uploads`, {
    method: 'POST',
    headers: withoutEmpty({
      ...TUS,
      ...tenant.auth,
      'Upload-Length': String(PNG.length),
      'Upload-Metadata': metadataOf('a.png', 'image/png'),
      ...headers,
    }),
  })
}

async function patchUpload(location: string, tenant: TestTenant, offset: number, bytes: Uint8Array, headers = {}) {
  return call(location, {
    method: 'PATCH',
    headers: withoutEmpty({
      ...TUS,
      ...tenant.auth,
      'Upload-Offset': String(offset),
      'Content-Type': 'application/offset+octet-stream',
      ...headers,
    }),
    body: bytes as Uint8Array<ArrayBuffer>,
  })
}

Contract.before(async () => {
  local = await startGateway({
    S3_ENDPOINT: '',
    S3_BUCKET: '',
    S3_ACCESS_KEY_ID: '',
    S3_SECRET_ACCESS_KEY: '',
    TUS_EXPIRATION_MS: '1000',
  })
  broken = await startGateway({
    S3_ENDPOINT: `http://127.0.0.1:${await closedPort()}`,
    S3_BUCKET: 'media',
    S3_ACCESS_KEY_ID: 'test',
    S3_SECRET_ACCESS_KEY: 'test-secret',
    S3_FORCE_PATH_STYLE: 'true',
  })
})

Contract.after(async () => {
  for (const test of [local, broken]) {
    if (test) {
      await stopGateway(test)
    }
  }
})

Contract('operations routes', async () => {
  const { url } = await getGateway()

  assert.is((await call(`${url}/healthz`)).status, 200)
  assert.is((await call(`${url}/readyz`)).status, 200)
  assert.is((await call(`${url}/metrics`)).status, 200)
  const served = await call(`${url}/openapi.json`)
  assert.is(served.status, 200)
  assert.equal(served.json(), JSON.parse(JSON.stringify(createOpenApiDocument())))
  assert.is((await call(`${(broken as TestGateway).url}/readyz`)).status, 503)
})

Contract('demo page statuses', async () => {
  const { url } = await getGateway()
  const page = await call(`${url}/`)
  const asset = /\/demo\/assets\/[^"]+\.js/.exec(page.text)?.[0] as string
  const lastModified = page.headers.get('last-modified') as string

  assert.is(page.status, 200)
  assert.ok(asset, 'the page names its script')
  assert.is(await rawRequest('GET', `${url}/`, { 'If-Modified-Since': lastModified }), 304)
  const script = await call(`${url}${asset}`)
  assert.is(script.status, 200)
  const scriptModified = script.headers.get('last-modified') as string
  assert.is(await rawRequest('GET', `${url}${asset}`, { 'If-Modified-Since': scriptModified }), 304)
  assert.is((await call(`${url}/demo/assets/missing.js`)).status, 404)
})

Contract('multipart upload statuses', async () => {
  const { url } = await getGateway()
  const tenant = await createTenant()
  const reader = await createTenant(['media:read'])
  const post = (body: FormData, auth: Record<string, string> = tenant.auth) =>
    call(`${url}/media`, { method: 'POST', headers: auth, body })

  assert.is((await post(pngForm())).status, 201)
  assert.is((await post(new FormData())).status, 400)
  assert.is((await post(pngForm(), {})).status, 401)
  assert.is((await post(pngForm(), reader.auth)).status, 403)
  assert.is((await post(pngForm('application/zip'))).status, 415)

  assert.is((await postOverLimit(url, tenant)), 413)

  const full = await createTenant()
  await setStorageUsed(full, (await getGateway()).config.quotaStorageBytes - 10)
  assert.is((await post(pngForm(), full.auth)).status, 429)

  const brokenTenant = await createTenant(['media:write'], 'live', undefined, broken as TestGateway)
  const failed = await call(`${(broken as TestGateway).url}/media`, {
    method: 'POST',
    headers: brokenTenant.auth,
    body: pngForm(),
  })
  assert.is(failed.status, 503)
})

Contract('read and delete statuses', async () => {
  const { url } = await getGateway()
  const tenant = await createTenant(['media:read', 'media:write', 'usage:read'])
  const writer = await createTenant(['media:write'])
  const reader = await createTenant(['media:read'])
  const created = await call(`${url}/media`, {
    method: 'POST',
    headers: tenant.auth,
    body: pngForm('image/png', { visibility: 'private', folder: 'a/b', tags: 'x,y' }),
  })
  const { id } = created.json()

  assert.is((await call(`${url}/media?limit=1`, { headers: tenant.auth })).status, 200)
  assert.is((await call(`${url}/media?limit=0`, { headers: tenant.auth })).status, 400)
  assert.is((await call(`${url}/media`)).status, 401)
  assert.is((await call(`${url}/media`, { headers: writer.auth })).status, 403)

  assert.is((await call(`${url}/media/${id}`, { headers: tenant.auth })).status, 200)
  assert.is((await call(`${url}/media/${id}`)).status, 401)
  assert.is((await call(`${url}/media/${id}`, { headers: writer.auth })).status, 403)
  assert.is((await call(`${url}/media/${NO_SUCH_FILE}`, { headers: tenant.auth })).status, 404)

  assert.is((await call(`${url}/usage`, { headers: tenant.auth })).status, 200)
  assert.is((await call(`${url}/usage`)).status, 401)
  assert.is((await call(`${url}/usage`, { headers: reader.auth })).status, 403)

  assert.is((await call(`${url}/media/${id}`, { method: 'DELETE' })).status, 401)
  assert.is((await call(`${url}/media/${id}`, { method: 'DELETE', headers: reader.auth })).status, 403)
  assert.is((await call(`${url}/media/${id}`, { method: 'DELETE', headers: tenant.auth })).status, 204)
  assert.is((await call(`${url}/media/${id}`, { method: 'DELETE', headers: tenant.auth })).status, 404)
})

Contract('file download statuses', async () => {
  const test = local as TestGateway
  const tenant = await createTenant(['media:read', 'media:write'], 'live', undefined, test)
  for (const visibility of ['public', 'private']) {
    const created = await call(`${test.url}/media`, {
      method: 'POST',
      headers: tenant.auth,
      body: pngForm('image/png', { visibility }),
    })
    const file = created.json()
    const download = await call(file.url)

    assert.is(download.status, 200, visibility)
    assert.is(download.headers.get('x-content-type-options'), 'nosniff')
    if (visibility === 'private') {
      assert.is((await call(file.url.split('?')[0])).status, 404)
    }
  }
  assert.is((await call(`${test.url}/files/p_none/live/${NO_SUCH_FILE}`)).status, 404)
})

Contract('tus creation statuses', async () => {
  const { url, config } = await getGateway()
  const tenant = await createTenant()
  const reader = await createTenant(['media:read'])

  assert.is((await call(`${url}/media/uploads`, { method: 'OPTIONS' })).status, 204)
  assert.is((await createUpload(url, tenant)).status, 201)
  const withBytes = await createUpload(url, tenant, { 'Content-Type': 'application/offset+octet-stream' })
  assert.is(withBytes.status, 201)
  assert.is((await createUpload(url, tenant, { 'Upload-Length': '' })).status, 400)
  assert.is((await createUpload(url, {} as TestTenant)).status, 401)
  assert.is((await createUpload(url, reader)).status, 403)
  assert.is((await createUpload(url, tenant, { 'Tus-Resumable': '' })).status, 412)
  assert.is((await createUpload(url, tenant, { 'Tus-Resumable': '0.2.2' })).status, 412)
  assert.is((await createUpload(url, tenant, { 'Upload-Length': '50000001' })).status, 413)
  const zip = { 'Upload-Metadata': metadataOf('a.zip', 'application/zip') }
  assert.is((await createUpload(url, tenant, zip)).status, 415)
  assert.is((await createUpload(url, tenant, { 'Upload-Concat': 'partial' })).status, 501)

  const full = await createTenant()
  await setStorageUsed(full, config.quotaStorageBytes - 10)
  assert.is((await createUpload(url, full)).status, 429)

  const brokenTenant = await createTenant(['media:write'], 'live', undefined, broken as TestGateway)
  assert.is((await createUpload((broken as TestGateway).url, brokenTenant)).status, 503)
  // The store is unreachable, so only the database can be checked for leftovers.
  const knex = (broken as TestGateway).gateway.database.knex
  const projectId = brokenTenant.projectId
  assert.equal(await knex('uploads').where({ project_id: projectId, status: 'open' }), [])
  assert.equal(await knex('quota_reservations').where({ project_id: projectId }), [])
})

Contract('tus upload statuses', async () => {
  const { url, config } = await getGateway()
  const tenant = await createTenant()
  const reader = await createTenant(['media:read'])
  const location = (await createUpload(url, tenant)).headers.get('location') as string
  const missing = `${url}/media/uploads/${NO_SUCH_FILE}`
  const head = (target: string, headers: Record<string, string>) => call(target, { method: 'HEAD', headers })
  const terminate = (target: string, headers: Record<string, string>) => call(target, { method: 'DELETE', headers })

  for (const [name, request] of [
    ['HEAD', head],
    ['DELETE', terminate],
  ] as const) {
    assert.is((await request(location, TUS)).status, 401, name)
    assert.is((await request(location, { ...TUS, ...reader.auth })).status, 403, name)
    assert.is((await request(location, tenant.auth)).status, 412, name)
    assert.is((await request(missing, { ...TUS, ...tenant.auth })).status, 404, name)
  }
  assert.is((await patchUpload(location, { auth: {} } as TestTenant, 0, PNG)).status, 401)
  assert.is((await patchUpload(location, reader, 0, PNG)).status, 403)
  assert.is((await patchUpload(location, tenant, 0, PNG, { 'Tus-Resumable': '' })).status, 412)
  assert.is((await patchUpload(missing, tenant, 0, PNG)).status, 404)
  assert.is((await patchUpload(location, tenant, 0, PNG, { 'Content-Type': 'text/plain' })).status, 400)
  assert.is((await patchUpload(location, tenant, 5, PNG)).status, 409)

  assert.is((await patchUpload(location, tenant, 0, PNG.subarray(0, 10))).status, 204)
  assert.is((await head(location, { ...TUS, ...tenant.auth })).status, 200)
  assert.is((await patchUpload(location, tenant, 10, PNG.subarray(10))).status, 204)
  // A finished upload is a file, so tus termination rejects it.
  assert.is((await terminate(location, { ...TUS, ...tenant.auth })).status, 400)

  const deferred = { 'Upload-Length': '', 'Upload-Defer-Length': '1' }
  const tooLong = (await createUpload(url, tenant, deferred)).headers.get('location') as string
  assert.is((await patchUpload(tooLong, tenant, 0, new Uint8Array(0), { 'Upload-Length': '50000001' })).status, 413)

  const full = await createTenant()
  await setStorageUsed(full, config.quotaStorageBytes - 1000)
  const overQuota = (await createUpload(url, full, deferred)).headers.get('location') as string
  assert.is((await patchUpload(overQuota, full, 0, new Uint8Array(0), { 'Upload-Length': '5000' })).status, 429)

  const ended = (await createUpload(url, tenant)).headers.get('location') as string
  assert.is((await terminate(ended, { ...TUS, ...tenant.auth })).status, 204)
})

Contract('tus expired and failing store statuses', async () => {
  const test = local as TestGateway
  const tenant = await createTenant(['media:write'], 'live', undefined, test)
  const created = await createUpload(test.url, tenant)
  const location = created.headers.get('location') as string
  await new Promise((resolve) => setTimeout(resolve, 1200))

  assert.is((await call(location, { method: 'HEAD', headers: { ...TUS, ...tenant.auth } })).status, 410)
  assert.is((await patchUpload(location, tenant, 0, PNG)).status, 410)
  // Termination removes an expired upload like any other.
  assert.is((await call(location, { method: 'DELETE', headers: { ...TUS, ...tenant.auth } })).status, 204)

  // An upload's bytes replaced by a symlink to itself: reading the upload fails with ELOOP.
  const failing = await createTenant(['media:write'], 'live', undefined, test)
  const upload = (await createUpload(test.url, failing)).headers.get('location') as string
  const bytesPath = join(test.dataDir, 'objects', failing.projectId, 'live', upload.split('/').at(-1) as string)
  await rm(bytesPath)
  await symlink(bytesPath, bytesPath)
  const headers = { ...TUS, ...failing.auth }
  assert.is((await call(upload, { method: 'HEAD', headers })).status, 503)
  assert.is((await patchUpload(upload, failing, 0, PNG)).status, 503)
  assert.is((await call(upload, { method: 'DELETE', headers })).status, 503)

  // With its bytes back, the upload can be terminated, so no expired upload outlives the suite.
  await rm(bytesPath)
  await writeFile(bytesPath, '')
  assert.is((await call(upload, { method: 'DELETE', headers })).status, 204)
  assert.is((await findLeftovers(failing.projectId, test)).openUploads, 0)
})

Contract('every documented status was seen', () => {
  assert.equal(contract.unobserved(), [])
})

Contract.run()
