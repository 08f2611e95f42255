import { request } from 'node:http'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { redactQuery } from '../../src/http/middleware.js'
import { readFixture } from '../helpers/fixtures.js'
import { type TestGateway, type TestTenant, createTenant, startGateway, stopGateway } from '../helpers/gateway.js'

/** Collects the gateway's log output: the raw text and each parsed line. */
class LogCapture extends Writable {
  text = ''
  lines: Record<string, any>[] = []

  override _write(chunk: Buffer, _encoding: string, callback: () => void) {
    const text = chunk.toString('utf8')
    this.text += text
    for (const line of text.split('\n').filter(Boolean)) {
      this.lines.push(JSON.parse(line))
    }
    callback()
  }

  /** Waits for the request line with this request id; the line is written when the response closes. */
  async requestLine(reqId: string): Promise<Record<string, any>> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const line = this.lines.find((entry) => entry.type === 'request' && entry.reqId === reqId)
      if (line) {
        return line
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    throw new Error(`no request line for ${reqId} in:\n${this.text}`)
  }
}

const PINO_LEVEL = { info: 30, warn: 40, error: 50 }
const PNG = readFixture('fixture.png')

const Unit = suite('query redaction')

Unit('redacts signature parameters', () => {
  assert.is(redactQuery('expires=1&signature=abc'), 'expires=1&signature=[redacted]')
  assert.is(
    redactQuery('X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F1&X-Amz-Signature=ff&X-Amz-Security-Token=t'),
    'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=[redacted]&X-Amz-Signature=[redacted]&X-Amz-Security-Token=[redacted]',
  )
  assert.is(redactQuery('AWSAccessKeyId=AK&Signature=s&Expires=1'), 'AWSAccessKeyId=[redacted]&Signature=[redacted]&Expires=1')
  assert.is(redactQuery('limit=5&tag=a'), 'limit=5&tag=a')
  assert.is(redactQuery(''), undefined)
})

Unit.run()

const Log = suite('request log')

const logs = new LogCapture()
let test: TestGateway | null = null
let tenant: TestTenant | null = null

Log.before(async () => {
  // The embedded default, so /files serves signed URLs and their query strings reach the log.
  test = await startGateway(
    { LOG_LEVEL: 'info', S3_ENDPOINT: '', S3_BUCKET: '', S3_ACCESS_KEY_ID: '', S3_SECRET_ACCESS_KEY: '' },
    logs,
  )
  tenant = await createTenant(['media:read', 'media:write'], 'live', undefined, test)
})

Log.after(async () => {
  if (test) {
    await stopGateway(test)
  }
})

function postPng(visibility = 'public') {
  const form = new FormData()
  form.append('visibility', visibility)
  form.append('file', new Blob([new Uint8Array(PNG)], { type: 'image/png' }), 'a.png')

  return fetch(`${test?.url}/media`, { method: 'POST', headers: tenant?.auth, body: form })
}

Log('upload line has ids, bytes and duration', async () => {
  const response = await postPng()
  const file = await response.json()
  const line = await logs.requestLine(response.headers.get('x-request-id') as string)

  assert.is(line.level, PINO_LEVEL.info)
  assert.is(line.msg, 'request completed')
  assert.is(line.method, 'POST')
  assert.is(line.path, '/media')
  assert.is(line.status, 201)
  assert.is(line.projectId, tenant?.projectId)
  assert.is(line.fileId, file.id)
  assert.is(line.bytesIn, PNG.length)
  assert.ok(line.bytesOut > JSON.stringify(file).length, `bytesOut ${line.bytesOut}`)
  assert.type(line.durationMs, 'number')
  assert.is(line.aborted, undefined)
})

Log('tus lines carry the upload id', async () => {
  const headers = { ...tenant?.auth, 'Tus-Resumable': '1.0.0' }
  const created = await fetch(`${test?.url}/media/uploads`, {
    method: 'POST',
    headers: { ...headers, 'Upload-Length': String(PNG.length), 'Upload-Metadata': `filetype ${Buffer.from('image/png').toString('base64')}` },
  })
  const location = created.headers.get('location') as string
  const uploadId = location.split('/').at(-1)
  const patched = await fetch(location, {
    method: 'PATCH',
    headers: { ...headers, 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
    body: new Uint8Array(PNG),
  })
  const creation = await logs.requestLine(created.headers.get('x-request-id') as string)
  const patch = await logs.requestLine(patched.headers.get('x-request-id') as string)

  assert.is(creation.status, 201)
  assert.is(creation.uploadId, uploadId)
  assert.is(creation.projectId, tenant?.projectId)
  assert.is(patch.status, 204)
  assert.is(patch.uploadId, uploadId)
  assert.is(patch.bytesIn, PNG.length)
  assert.is(patch.level, PINO_LEVEL.info)
})

Log('rejection is warn without the token', async () => {
  const token = tenant?.token as string
  const unknown = `${token.slice(0, -4)}abcd`
  const rejected = await fetch(`${test?.url}/media`, { headers: { Authorization: `Bearer ${unknown}` } })
  const accepted = await fetch(`${test?.url}/media?limit=1`, { headers: tenant?.auth })
  const rejectedLine = await logs.requestLine(rejected.headers.get('x-request-id') as string)
  const acceptedLine = await logs.requestLine(accepted.headers.get('x-request-id') as string)

  assert.is(rejectedLine.status, 401)
  assert.is(rejectedLine.level, PINO_LEVEL.warn)
  assert.is(rejectedLine.errorCode, 'unauthorized')
  assert.is(acceptedLine.query, 'limit=1')
  assert.not.ok(logs.text.includes(token), 'a valid token reached the log')
  assert.not.ok(logs.text.includes(unknown), 'a rejected token reached the log')
  assert.not.ok(logs.text.toLowerCase().includes('bearer '), 'an Authorization header reached the log')
})

Log('signed URL query is redacted', async () => {
  const file = await (await postPng('private')).json()
  const signed = new URL(file.url)
  const signature = signed.searchParams.get('signature') as string
  const download = await fetch(signed)
  const line = await logs.requestLine(download.headers.get('x-request-id') as string)

  assert.is(download.status, 200)
  assert.is(line.fileId, file.id)
  assert.is(line.projectId, tenant?.projectId)
  assert.is(line.query, `expires=${signed.searchParams.get('expires')}&signature=[redacted]`)
  assert.ok(line.bytesOut > PNG.length, `bytesOut ${line.bytesOut}`)
  assert.not.ok(logs.text.includes(signature), 'the signature reached the log')

  const presigned = await fetch(`${test?.url}/files/${file.key}?X-Amz-Credential=AKIDSECRET&X-Amz-Signature=f00dfeed`)
  const presignedLine = await logs.requestLine(presigned.headers.get('x-request-id') as string)
  assert.is(presignedLine.status, 404)
  assert.is(presignedLine.query, 'X-Amz-Credential=[redacted]&X-Amz-Signature=[redacted]')
  assert.not.ok(logs.text.includes('f00dfeed'), 'an S3 signature reached the log')
})

Log('aborted upload is logged as aborted', async () => {
  const url = new URL(`${test?.url}/media`)
  const boundary = 'log-test-boundary'
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\nContent-Type: image/png\r\n\r\n`
  const reqId = `abort-${Date.now()}`
  const client = request(url, {
    method: 'POST',
    headers: {
      ...tenant?.auth,
      'Content-Type': `multipart/form-data; boundary=${boundary}`,
      'Content-Length': String(10_000_000),
      'X-Request-Id': reqId,
    },
  })
  client.on('error', () => {})
  client.write(head)
  client.write(PNG)
  client.write(Buffer.alloc(200_000))
  await new Promise((resolve) => setTimeout(resolve, 300))
  client.destroy()
  const line = await logs.requestLine(reqId)

  assert.is(line.msg, 'request aborted')
  assert.is(line.aborted, true)
  assert.is(line.level, PINO_LEVEL.warn)
  assert.is(line.status, undefined)
  assert.is(line.projectId, tenant?.projectId)
})

Log('server error is logged at error', async () => {
  const closed = createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const { port } = closed.address() as AddressInfo
  await new Promise((resolve) => closed.close(resolve))
  const brokenLogs = new LogCapture()
  const broken = await startGateway(
    {
      LOG_LEVEL: 'info',
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
      S3_BUCKET: 'media',
      S3_ACCESS_KEY_ID: 'test',
      S3_SECRET_ACCESS_KEY: 'test-secret',
    },
    brokenLogs,
  )
  try {
    const response = await fetch(`${broken.url}/readyz`)
    const line = await brokenLogs.requestLine(response.headers.get('x-request-id') as string)

    assert.is(response.status, 503)
    assert.is(line.level, PINO_LEVEL.error)
    assert.is(line.msg, 'request failed')
    assert.is(line.errorCode, 'storage_error')
    assert.ok(line.err, 'the cause is logged')
  } finally {
    await stopGateway(broken)
  }
})

Log.run()
