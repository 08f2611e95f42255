import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { parseForwarded, requestOrigin } from '../../src/http/origin.js'
import { readFixture } from '../helpers/fixtures.js'
import { type TestGateway, type TestTenant, createTenant, startGateway, stopGateway } from '../helpers/gateway.js'

const Origin = suite('request origin')

function reader(headers: Record<string, string>) {
  return (name: string) => headers[name]
}

Origin('ignores forwarded headers unless trusted', () => {
  const headers = reader({ host: 'gw:8080', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'media.example.com' })

  assert.is(requestOrigin(headers, false), 'http://gw:8080')
  assert.is(requestOrigin(headers, true), 'https://media.example.com')
})

Origin('prefers Forwarded over X-Forwarded', () => {
  const headers = reader({
    host: 'gw',
    forwarded: 'for=192.0.2.1;proto=https;host="cdn.example.org", for=10.0.0.1;host=inner',
    'x-forwarded-host': 'other.example.com',
  })

  assert.is(requestOrigin(headers, true), 'https://cdn.example.org')
})

Origin('takes the first of several proxies', () => {
  const headers = reader({ host: 'gw', 'x-forwarded-proto': 'https, http', 'x-forwarded-host': 'a.example.com, b' })

  assert.is(requestOrigin(headers, true), 'https://a.example.com')
})

Origin('ignores unsafe forwarded values', () => {
  for (const [proto, host] of [
    ['javascript', 'evil.example.com/path'],
    ['ftp', 'user@evil.example.com'],
    ['https:', 'a.example.com?x=1'],
  ]) {
    const headers = reader({ host: 'gw:8080', 'x-forwarded-proto': proto, 'x-forwarded-host': host })
    assert.is(requestOrigin(headers, true), 'http://gw:8080', `${proto} ${host}`)
  }
})

Origin('parses a Forwarded element', () => {
  assert.equal(parseForwarded('proto=HTTPS;Host="h.example:8443";for=1.2.3.4'), {
    proto: 'https',
    host: 'h.example:8443',
  })
  assert.equal(parseForwarded(''), {})
  assert.equal(parseForwarded('for=1.2.3.4'), {})
})

Origin.run()

const Proxy = suite('behind a reverse proxy')

/** Embedded default without PUBLIC_MEDIA_URL, so file URLs follow the request. */
const LOCAL = {
  S3_ENDPOINT: '',
  S3_BUCKET: '',
  S3_ACCESS_KEY_ID: '',
  S3_SECRET_ACCESS_KEY: '',
  PUBLIC_MEDIA_URL: '',
}
const FORWARDED = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'media.example.com' }
const PNG = readFixture('fixture.png')

let trusted: TestGateway | null = null
let untrusted: TestGateway | null = null

Proxy.before(async () => {
  trusted = await startGateway({ ...LOCAL, TRUST_PROXY: 'true' })
  untrusted = await startGateway({ ...LOCAL, TRUST_PROXY: 'false' })
})

Proxy.after(async () => {
  for (const test of [trusted, untrusted]) {
    if (test) {
      await stopGateway(test)
    }
  }
})

async function postFile(test: TestGateway, tenant: TestTenant, headers: Record<string, string>, visibility = 'public') {
  const form = new FormData()
  form.append('visibility', visibility)
  form.append('file', new Blob([new Uint8Array(PNG)], { type: 'image/png' }), 'a.png')
  const response = await fetch(`${test.url}/media`, { method: 'POST', headers: { ...tenant.auth, ...headers }, body: form })
  assert.is(response.status, 201)

  return response.json()
}

/** Uploads through tus; returns the Location of the upload and the file object read back. */
async function tusFile(test: TestGateway, tenant: TestTenant, headers: Record<string, string>) {
  const tus = { ...tenant.auth, 'Tus-Resumable': '1.0.0', ...headers }
  const created = await fetch(`${test.url}/media/uploads`, {
    method: 'POST',
    headers: { ...tus, 'Upload-Length': String(PNG.length), 'Upload-Metadata': `filetype ${Buffer.from('image/png').toString('base64')}` },
  })
  assert.is(created.status, 201)
  const location = created.headers.get('location') as string
  const id = location.split('/').at(-1) as string
  const patched = await fetch(`${test.url}/media/uploads/${id}`, {
    method: 'PATCH',
    headers: { ...tus, 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
    body: new Uint8Array(PNG),
  })
  assert.is(patched.status, 204)
  const file = await fetch(`${test.url}/media/${id}`, { headers: { ...tenant.auth, ...headers } }).then((response) => response.json())

  return { location, file }
}

Proxy('trusted: both doors use forwarded origin', async () => {
  const test = trusted as TestGateway
  const tenant = await createTenant(['media:read', 'media:write'], 'live', undefined, test)

  const posted = await postFile(test, tenant, FORWARDED)
  assert.is(posted.url, `https://media.example.com/files/${posted.key}`)

  const { location, file } = await tusFile(test, tenant, FORWARDED)
  assert.match(location, /^https:\/\/media\.example\.com\/media\/uploads\/f_[0-9A-Z]{26}$/)
  assert.is(file.url, `https://media.example.com/files/${file.key}`)

  const listed = await fetch(`${test.url}/media`, { headers: { ...tenant.auth, Forwarded: 'proto=https;host=cdn.example.org' } })
  const page = await listed.json()
  assert.is(page.data.length, 2)
  for (const item of page.data) {
    assert.is(item.url, `https://cdn.example.org/files/${item.key}`)
  }
})

Proxy('trusted: signed URL names the proxy', async () => {
  const test = trusted as TestGateway
  const tenant = await createTenant(['media:read', 'media:write'], 'live', undefined, test)
  const file = await postFile(test, tenant, FORWARDED, 'private')
  const signed = new URL(file.url)

  assert.is(signed.origin, 'https://media.example.com')
  assert.is(signed.pathname, `/files/${file.key}`)
  assert.ok(signed.searchParams.get('signature'))
  // The proxy passes the path and query on unchanged, so the same URL downloads through it.
  const download = await fetch(`${test.url}${signed.pathname}${signed.search}`)
  assert.is(download.status, 200)
  assert.equal(new Uint8Array(await download.arrayBuffer()), new Uint8Array(PNG))
})

Proxy('trusted: no forwarded headers use Host', async () => {
  const test = trusted as TestGateway
  const tenant = await createTenant(['media:read', 'media:write'], 'live', undefined, test)
  const posted = await postFile(test, tenant, {})
  const { location } = await tusFile(test, tenant, {})

  assert.is(posted.url, `${test.url}/files/${posted.key}`)
  assert.ok(location.startsWith(`${test.url}/media/uploads/`), location)
})

Proxy('untrusted: forwarded headers are ignored', async () => {
  const test = untrusted as TestGateway
  const tenant = await createTenant(['media:read', 'media:write'], 'live', undefined, test)
  const headers = { ...FORWARDED, Forwarded: 'proto=https;host=cdn.example.org' }

  const posted = await postFile(test, tenant, headers)
  assert.is(posted.url, `${test.url}/files/${posted.key}`)

  const { location, file } = await tusFile(test, tenant, headers)
  assert.ok(location.startsWith(`${test.url}/media/uploads/`), location)
  assert.is(file.url, `${test.url}/files/${file.key}`)

  const privateFile = await postFile(test, tenant, headers, 'private')
  assert.ok(privateFile.url.startsWith(`${test.url}/files/`), privateFile.url)
})

Proxy('set PUBLIC_MEDIA_URL wins over forwarded', async () => {
  const test = await startGateway({ ...LOCAL, TRUST_PROXY: 'true', PUBLIC_MEDIA_URL: 'https://static.example.net/m' })
  try {
    const tenant = await createTenant(['media:read', 'media:write'], 'live', undefined, test)
    const posted = await postFile(test, tenant, FORWARDED)
    const { location } = await tusFile(test, tenant, FORWARDED)

    assert.is(posted.url, `https://static.example.net/m/${posted.key}`)
    // The upload URL is the gateway's own, so it follows the proxy.
    assert.match(location, /^https:\/\/media\.example\.com\/media\/uploads\//)
  } finally {
    await stopGateway(test)
  }
})

Proxy.run()
