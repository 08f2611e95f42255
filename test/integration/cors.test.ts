import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFixture } from '../helpers/fixtures.js'
import { type TestGateway, createTenant, getGateway, startGateway, stopGateway } from '../helpers/gateway.js'

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
  for (const name of ['location', 'upload-offset', 'upload-length', 'upload-expires', 'tus-resumable']) {
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

Cors.run()
