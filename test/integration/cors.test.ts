import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFixture } from '../helpers/fixtures.js'
import {
  type TestGateway,
  createTenant,
  getGateway,
  setStorageUsed,
  startGateway,
  stopGateway,
} from '../helpers/gateway.js'

const PAGE = 'http://127.0.0.1:5173'

const Cors = suite('CORS')

let restricted: TestGateway | null = null

Cors.before(async () => {
  restricted = await startGateway({ CORS_ALLOWED_ORIGINS: `${PAGE},https://app.example.com` })
})

Cors.after(async () => {
  if (restricted) {
    await stopGateway(restricted)
  }
})

function exposed(response: Response): string[] {
  return (response.headers.get('access-control-expose-headers') ?? '').split(/,\s*/).map((name) => name.toLowerCase())
}

Cors('answers a preflight for POST /media', async () => {
  const { url } = await getGateway()
  const response = await fetch(`${url}/media`, {
    method: 'OPTIONS',
    headers: { Origin: PAGE, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization' },
  })

  assert.is(response.status, 204)
  assert.is(response.headers.get('access-control-allow-origin'), '*')
  assert.match(response.headers.get('access-control-allow-methods') ?? '', /POST/)
  assert.match(response.headers.get('access-control-allow-headers') ?? '', /Authorization/)
})

Cors('lets a page read an error', async () => {
  const { url } = await getGateway()
  const response = await fetch(`${url}/media`, { method: 'POST', headers: { Origin: PAGE } })
  const json = await response.json()

  assert.is(response.status, 401)
  assert.is(json.error.code, 'unauthorized')
  assert.is(response.headers.get('access-control-allow-origin'), '*')
  assert.ok(exposed(response).includes('x-request-id'))
})

Cors('exposes tus headers', async () => {
  const { url } = await getGateway()
  const tenant = await createTenant()
  const preflight = await fetch(`${url}/media/uploads`, {
    method: 'OPTIONS',
    headers: { Origin: PAGE, 'Access-Control-Request-Method': 'POST' },
  })
  assert.is(preflight.status, 204)
  assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /Upload-Metadata/)

  const created = await fetch(`${url}/media/uploads`, {
    method: 'POST',
    headers: {
      ...tenant.auth,
      Origin: PAGE,
      'Tus-Resumable': '1.0.0',
      'Upload-Length': String(readFixture('fixture.png').length),
      'Upload-Metadata': `filetype ${Buffer.from('image/png').toString('base64')}`,
    },
  })
  assert.is(created.status, 201)
  assert.is(created.headers.get('access-control-allow-origin'), '*')
  const names = ['location', 'upload-offset', 'upload-length', 'upload-expires', 'tus-resumable', 'x-request-id']
  for (const name of names) {
    assert.ok(exposed(created).includes(name), name)
  }
})

Cors('echoes only listed origins', async () => {
  const test = restricted as TestGateway
  const allowed = await fetch(`${test.url}/media`, { headers: { Origin: PAGE } })
  assert.is(allowed.headers.get('access-control-allow-origin'), PAGE)
  assert.match(allowed.headers.get('vary') ?? '', /Origin/)

  const other = await fetch(`${test.url}/media`, { headers: { Origin: 'https://evil.example.net' } })
  assert.is(other.headers.get('access-control-allow-origin'), null)
})

const TUS_HEADERS = { Origin: PAGE, 'Tus-Resumable': '1.0.0' }

function pngMetadata(): string {
  return `filetype ${Buffer.from('image/png').toString('base64')}`
}

Cors('exposes tus headers on HEAD and PATCH', async () => {
  const test = restricted as TestGateway
  const tenant = await createTenant(undefined, 'live', undefined, test)
  const png = readFixture('fixture.png')
  const created = await fetch(`${test.url}/media/uploads`, {
    method: 'POST',
    headers: {
      ...tenant.auth,
      ...TUS_HEADERS,
      'Upload-Length': String(png.length),
      'Upload-Metadata': pngMetadata(),
    },
  })
  const location = created.headers.get('location') as string

  const head = await fetch(location, { method: 'HEAD', headers: { ...tenant.auth, ...TUS_HEADERS } })
  assert.is(head.status, 200)
  assert.is(head.headers.get('access-control-allow-origin'), PAGE)
  assert.match(head.headers.get('vary') ?? '', /Origin/)
  for (const name of ['upload-offset', 'upload-length', 'upload-expires', 'tus-resumable', 'x-request-id']) {
    assert.ok(head.headers.has(name), `HEAD sends ${name}`)
    assert.ok(exposed(head).includes(name), `HEAD exposes ${name}`)
  }

  const patch = await fetch(location, {
    method: 'PATCH',
    headers: {
      ...tenant.auth,
      ...TUS_HEADERS,
      'Upload-Offset': '0',
      'Content-Type': 'application/offset+octet-stream',
    },
    body: new Uint8Array(png.subarray(0, 100)),
  })
  assert.is(patch.status, 204)
  assert.is(patch.headers.get('access-control-allow-origin'), PAGE)
  for (const name of ['upload-offset', 'upload-expires', 'tus-resumable', 'x-request-id']) {
    assert.ok(patch.headers.has(name), `PATCH sends ${name}`)
    assert.ok(exposed(patch).includes(name), `PATCH exposes ${name}`)
  }
})

Cors('sends CORS headers on tus errors', async () => {
  const test = restricted as TestGateway
  const tenant = await createTenant(undefined, 'live', undefined, test)
  const full = await createTenant(undefined, 'live', undefined, test)
  await setStorageUsed(full, test.config.quotaStorageBytes, test)
  const create = (auth: Record<string, string>, metadata: string) =>
    fetch(`${test.url}/media/uploads`, {
      method: 'POST',
      headers: { ...auth, ...TUS_HEADERS, 'Upload-Length': '178', 'Upload-Metadata': metadata },
    })
  const executable = `filetype ${Buffer.from('application/x-msdownload').toString('base64')}`
  const headUnknownUpload = fetch(`${test.url}/media/uploads/f_01M914RXFMQSDH6CRB85CVB4W6`, {
    method: 'HEAD',
    headers: { ...tenant.auth, ...TUS_HEADERS },
  })
  // A HEAD response has no body, so its case names no error code.
  const cases: [string, Promise<Response>, number, string][] = [
    ['no token', create({}, pngMetadata()), 401, 'unauthorized'],
    ['unknown type', create(tenant.auth, executable), 415, 'unsupported_media_type'],
    ['over quota', create(full.auth, pngMetadata()), 429, 'quota_exceeded'],
    ['unknown upload', headUnknownUpload, 404, ''],
  ]
  for (const [name, pending, status, code] of cases) {
    const response = await pending
    assert.is(response.status, status, name)
    assert.is(response.headers.get('access-control-allow-origin'), PAGE, name)
    assert.ok(exposed(response).includes('x-request-id'), name)
    if (code) {
      assert.is((await response.json()).error.code, code, name)
    }
  }
})

Cors('omits CORS headers for other origins', async () => {
  const test = restricted as TestGateway
  const tenant = await createTenant(undefined, 'live', undefined, test)
  const other = 'http://127.0.0.1:6006'
  const preflight = await fetch(`${test.url}/media/uploads`, {
    method: 'OPTIONS',
    headers: { Origin: other, 'Access-Control-Request-Method': 'POST' },
  })
  assert.is(preflight.status, 204)
  assert.is(preflight.headers.get('access-control-allow-origin'), null)
  assert.is(preflight.headers.get('access-control-allow-headers'), null)
  assert.match(preflight.headers.get('vary') ?? '', /Origin/)

  const created = await fetch(`${test.url}/media/uploads`, {
    method: 'POST',
    headers: {
      ...tenant.auth,
      ...TUS_HEADERS,
      Origin: other,
      'Upload-Length': '178',
      'Upload-Metadata': pngMetadata(),
    },
  })
  assert.is(created.status, 201)
  assert.is(created.headers.get('access-control-allow-origin'), null)
  assert.is(created.headers.get('access-control-expose-headers'), null)
  assert.match(created.headers.get('vary') ?? '', /Origin/)
})

Cors('answers a tus preflight for PATCH', async () => {
  const test = restricted as TestGateway
  const preflight = await fetch(`${test.url}/media/uploads/f_01M914RXFMQSDH6CRB85CVB4W6`, {
    method: 'OPTIONS',
    headers: {
      Origin: PAGE,
      'Access-Control-Request-Method': 'PATCH',
      'Access-Control-Request-Headers': 'authorization,content-type,tus-resumable,upload-offset,x-request-id',
    },
  })
  assert.is(preflight.status, 204)
  assert.is(preflight.headers.get('access-control-allow-origin'), PAGE)
  assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /PATCH/)
  const allowed = (preflight.headers.get('access-control-allow-headers') ?? '').toLowerCase()
  for (const name of ['authorization', 'content-type', 'tus-resumable', 'upload-offset', 'x-request-id']) {
    assert.ok(allowed.includes(name), name)
  }
})

Cors.run()
