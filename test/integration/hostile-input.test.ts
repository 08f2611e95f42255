import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { NOTHING_LEFT, type TestTenant, createTenant, findLeftovers, getGateway } from '../helpers/gateway.js'
import { type RawResponse, sendRaw } from '../helpers/raw-http.js'
import { HOSTILE_ROWS, type HostileContext, type HostileRow, PNG, type UploadSetup } from './hostile-requests.js'

const SCOPES = ['media:read', 'media:write', 'usage:read']
const TUS = { 'Tus-Resumable': '1.0.0' }

async function createContext(): Promise<HostileContext> {
  const live = await createTenant(SCOPES)
  const testMode = await createTenant(SCOPES, 'test', live.projectName)
  const other = await createTenant(SCOPES)

  return { live, testMode, other, uploadPath: '' }
}

/** Creates the upload a row needs and sends its first bytes; returns its path. */
async function createSetupUpload(tenant: TestTenant, setup: UploadSetup): Promise<string> {
  const { url } = await getGateway()
  const length: Record<string, string> =
    setup.length === null ? { 'Upload-Defer-Length': '1' } : { 'Upload-Length': String(setup.length) }
  const metadata = `filename ${Buffer.from('a.png').toString('base64')},filetype ${Buffer.from('image/png').toString('base64')}`
  const created = await fetch(`${url}/media/uploads`, {
    method: 'POST',
    headers: { ...TUS, ...tenant.auth, ...length, 'Upload-Metadata': metadata },
  })
  assert.is(created.status, 201, `setup upload: ${await created.text()}`)
  const path = new URL(created.headers.get('location') as string).pathname
  if (setup.sentBytes > 0) {
    const patched = await fetch(`${url}${path}`, {
      method: 'PATCH',
      headers: { ...TUS, ...tenant.auth, 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
      body: new Uint8Array(PNG.subarray(0, setup.sentBytes)),
    })
    assert.is(patched.status, 204, `setup PATCH: ${await patched.text()}`)
  }

  return path
}

function assertExpected(row: HostileRow, response: RawResponse) {
  const { expect } = row
  const json = response.json as { error?: { code?: unknown; message?: unknown; field?: unknown } } & Record<string, unknown>
  const shown = `${response.status} ${response.body.toString('utf8').slice(0, 300)}`
  assert.is(response.status, expect.status, shown)

  if (expect.code !== undefined) {
    assert.match(response.headers['content-type'] ?? '', /^application\/json/, `content-type: ${JSON.stringify(response.headers)} ${shown}`)
    assert.type(json?.error, 'object', `envelope: ${shown}`)
    assert.is(json.error?.code, expect.code, shown)
    assert.type(json.error?.message, 'string', 'message')
  }
  if (expect.message !== undefined) {
    assert.match(String(json.error?.message), expect.message, 'message')
  }
  if (expect.field !== undefined) {
    assert.is(json.error?.field, expect.field, 'field')
  }
  if (expect.allow) {
    const allow = (response.headers.allow ?? '').split(',').map((method) => method.trim())
    assert.equal(allow.sort(), [...expect.allow].sort(), 'Allow')
  }
  for (const [name, value] of Object.entries(expect.headers ?? {})) {
    const actual = response.headers[name]
    if (value instanceof RegExp) {
      assert.match(actual ?? '', value, name)
    } else {
      assert.is(actual, value, name)
    }
  }
  for (const [name, value] of Object.entries(expect.body ?? {})) {
    const actual = expect.code === undefined ? json?.[name] : json?.error?.[name as 'code']
    assert.equal(actual, value, name)
  }
}

/** Removes what a successful row made on purpose: the stored file or the created upload. */
async function removeCreated(context: HostileContext, response: RawResponse) {
  const { url } = await getGateway()
  const json = response.json as { id?: string } | undefined
  if (response.status === 201 && json?.id) {
    const deleted = await fetch(`${url}/media/${json.id}`, { method: 'DELETE', headers: context.live.auth })
    assert.is(deleted.status, 204, 'delete stored file')
  }
  const location = response.headers.location
  if (response.status === 201 && location && !json?.id) {
    const deleted = await fetch(location, { method: 'DELETE', headers: { ...TUS, ...context.live.auth } })
    assert.is(deleted.status, 204, 'terminate created upload')
  }
}

/** Checks that a rejected request left the setup upload as it was, then ends that upload. */
async function endSetupUpload(row: HostileRow, context: HostileContext) {
  const { url } = await getGateway()
  const head = await fetch(`${url}${context.uploadPath}`, { method: 'HEAD', headers: { ...TUS, ...context.live.auth } })
  if (head.status === 200 && row.expect.status >= 400) {
    assert.is(head.headers.get('upload-offset'), String(row.setup?.sentBytes), 'offset after a rejected request')
  }
  if (head.status === 200) {
    const deleted = await fetch(`${url}${context.uploadPath}`, {
      method: 'DELETE',
      headers: { ...TUS, ...context.live.auth },
    })
    assert.is(deleted.status, 204, 'terminate setup upload')
  } else {
    assert.is(head.status, 404, 'setup upload is open or gone')
  }
}

/**
 * Returns a project's leftovers once they are gone, or as they are after
 * LEFTOVER_WAIT_MS. A request whose connection broke mid-body gets its
 * response at once and is cleaned up as its handler unwinds, a moment later.
 */
async function settledLeftovers(projectId: string) {
  const deadline = Date.now() + LEFTOVER_WAIT_MS
  for (;;) {
    const leftovers = await findLeftovers(projectId)
    if (Date.now() > deadline || JSON.stringify(leftovers) === JSON.stringify(NOTHING_LEFT)) {
      return leftovers
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const LEFTOVER_WAIT_MS = 5000

const Hostile = suite('hostile input')

for (const row of HOSTILE_ROWS) {
  Hostile(`${row.group}: ${row.name}`, async () => {
    const test = await getGateway()
    const context = await createContext()
    if (row.setup) {
      context.uploadPath = await createSetupUpload(context.live, row.setup)
    }

    const response = await sendRaw(test.url, row.request(context))
    assertExpected(row, response)

    const health = await fetch(`${test.url}/healthz`)
    assert.is(health.status, 200, 'gateway still answers')

    await removeCreated(context, response)
    if (row.setup) {
      await endSetupUpload(row, context)
    }
    assert.equal(await settledLeftovers(context.live.projectId), NOTHING_LEFT, 'nothing left in the project')
    assert.equal(await settledLeftovers(context.other.projectId), NOTHING_LEFT, 'nothing left in the other project')
  })
}

Hostile('table has at least 100 rows', () => {
  assert.ok(HOSTILE_ROWS.length >= 100, `${HOSTILE_ROWS.length} rows`)
  const names = new Set(HOSTILE_ROWS.map((row) => row.name))
  assert.is(names.size, HOSTILE_ROWS.length, 'row names are unique')
})

Hostile.run()
