import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFixture } from '../helpers/fixtures.js'
import { type TestGateway, type TestTenant, createTenant, startGateway, stopGateway } from '../helpers/gateway.js'

const Operations = suite('readiness and metrics')

let test: TestGateway | null = null

Operations.before(async () => {
  test = await startGateway()
})

Operations.after(async () => {
  if (test) {
    await stopGateway(test)
  }
})

function upload(gateway: TestGateway, tenant: TestTenant, name: string, type: string) {
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array(readFixture(name))], { type }), name)

  return fetch(`${gateway.url}/media`, { method: 'POST', headers: tenant.auth, body: form })
}

async function tusUpload(gateway: TestGateway, tenant: TestTenant, name: string, type: string) {
  const bytes = readFixture(name)
  const metadata = `filetype ${Buffer.from(type).toString('base64')}`
  const headers = { ...tenant.auth, 'Tus-Resumable': '1.0.0' }
  const created = await fetch(`${gateway.url}/media/uploads`, {
    method: 'POST',
    headers: { ...headers, 'Upload-Length': String(bytes.length), 'Upload-Metadata': metadata },
  })
  if (created.status !== 201) {
    return created
  }

  return fetch(created.headers.get('location') ?? '', {
    method: 'PATCH',
    headers: { ...headers, 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
    body: new Uint8Array(bytes),
  })
}

/** Reads one sample of a metric from the Prometheus text format; 0 when absent. */
function sample(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{${labels}}`))

  return line ? Number(line.split(' ').at(-1)) : 0
}

Operations('reports ready with both backends', async () => {
  const gateway = test as TestGateway
  const response = await fetch(`${gateway.url}/readyz`)
  const json = await response.json()

  assert.is(response.status, 200)
  assert.equal(json, { status: 'ready', checks: { database: 'ok', storage: 'ok' } })
})

Operations('counts uploads by door and outcome', async () => {
  const gateway = test as TestGateway
  const tenant = await createTenant(['media:read', 'media:write'], 'live', undefined, gateway)
  const png = readFixture('fixture.png').length
  const gif = readFixture('fixture.gif').length

  assert.is((await upload(gateway, tenant, 'fixture.png', 'image/png')).status, 201)
  assert.is((await upload(gateway, tenant, 'fixture.gif', 'image/gif')).status, 201)
  assert.is((await upload(gateway, tenant, 'fixture.png', 'image/jpeg')).status, 400)
  assert.is((await tusUpload(gateway, tenant, 'fixture.png', 'image/png')).status, 204)
  assert.is((await tusUpload(gateway, tenant, 'hostile-zip.zip', 'application/zip')).status, 415)
  const text = await fetch(`${gateway.url}/metrics`).then((response) => response.text())
  const uploads = 'media_gateway_uploads_total'

  assert.is(sample(text, uploads, 'door="multipart",outcome="stored",reason=""'), 2)
  assert.is(sample(text, uploads, 'door="multipart",outcome="rejected",reason="bad_request"'), 1)
  assert.is(sample(text, uploads, 'door="tus",outcome="stored",reason=""'), 1)
  assert.is(sample(text, uploads, 'door="tus",outcome="rejected",reason="unsupported_media_type"'), 1)
  assert.is(sample(text, 'media_gateway_received_bytes_total', 'door="multipart"'), png + gif)
  assert.is(sample(text, 'media_gateway_received_bytes_total', 'door="tus"'), png)
  assert.is(sample(text, 'media_gateway_upload_requests_in_flight', 'door="tus"'), 0)
})

Operations.run()
