/**
 * Backends failing in the middle of an upload: S3 unreachable mid-body and
 * Postgres unreachable at commit, through each door. The gateway under test
 * reaches RGW and Postgres through proxies that the tests cut; the audit uses
 * the shared test gateway, which connects directly.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { sha256Of } from '../helpers/fixtures.js'
import {
  expectNothingLeftAfterReconcile,
  expectOnlyFiles,
  hasFaultBackends,
  hostAndPort,
} from '../helpers/faults.js'
import {
  type TestGateway,
  type TestTenant,
  createTenant,
  startGateway,
  stopGateway,
} from '../helpers/gateway.js'
import { TcpProxy } from '../helpers/tcp-proxy.js'
import { createTusUpload, makeVideo, patchTusUpload, uploadWithTusClient } from '../helpers/tus-requests.js'

const MIB = 1024 * 1024

let s3Proxy: TcpProxy
let pgProxy: TcpProxy
let faulty: TestGateway | null = null
let isEnabled = false

const Backends = suite('backend faults')

Backends.before(async () => {
  isEnabled = hasFaultBackends('backend fault suite')
  if (!isEnabled) {
    return
  }
  const s3 = hostAndPort(process.env.S3_ENDPOINT as string)
  const pg = hostAndPort(process.env.DATABASE_URL as string)
  s3Proxy = await TcpProxy.start(s3.host, s3.port)
  pgProxy = await TcpProxy.start(pg.host, pg.port)
  faulty = await startGateway({
    S3_ENDPOINT: s3Proxy.proxiedUrl(process.env.S3_ENDPOINT as string),
    DATABASE_URL: pgProxy.proxiedUrl(process.env.DATABASE_URL as string),
  })
})

Backends.after(async () => {
  if (faulty) {
    s3Proxy.restore()
    pgProxy.restore()
    await stopGateway(faulty)
    await s3Proxy.close()
    await pgProxy.close()
  }
})

Backends.after.each(() => {
  s3Proxy?.restore()
  pgProxy?.restore()
})

function videoForm(bytes: Buffer) {
  const form = new FormData()
  form.append('file', new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'video/mp4' }), 'clip.mp4')

  return form
}

/** Cuts S3 once `bytes` more have gone up to it. */
function cutS3After(bytes: number) {
  let seen = 0

  return s3Proxy.cutWhen((direction, chunk) => direction === 'up' && (seen += chunk.length) > bytes)
}

/** Cuts Postgres when the gateway sends CompleteMultipartUpload, so every byte is stored. */
function cutPostgresAtComplete() {
  let isCompleting = false
  const remove = s3Proxy.addTap((direction, chunk) => {
    if (direction === 'up' && /^POST [^ ]*uploadId=/.test(chunk.subarray(0, 300).toString('latin1'))) {
      isCompleting = true
      remove()
      pgProxy.cut()
    }
  })

  return () => {
    remove()

    return isCompleting
  }
}

async function expectStorageError(response: Response) {
  const body = await response.json()
  assert.is(response.status, 503, JSON.stringify(body))
  assert.is(body.error.code, 'storage_error')
}

async function expectFile(tenant: TestTenant, id: string, bytes: Buffer) {
  const test = faulty as TestGateway
  const response = await fetch(`${test.url}/media/${id}`, { headers: tenant.auth })
  const file = await response.json()
  assert.is(response.status, 200)
  assert.is(file.sha256, sha256Of(bytes))
  assert.is(file.size, bytes.length)
  await expectOnlyFiles(tenant.projectId, 1)
}

Backends('S3 cut mid-body: POST /media', async () => {
  if (!isEnabled) {
    return
  }
  const tenant = await createTenant()
  const bytes = makeVideo(24 * MIB)
  const cut = cutS3After(6 * MIB)

  const response = await fetch(`${faulty?.url}/media`, { method: 'POST', headers: tenant.auth, body: videoForm(bytes) })
  await cut
  await expectStorageError(response)
  s3Proxy.restore()
  const left = await expectNothingLeftAfterReconcile(tenant.projectId, 'S3 cut, POST /media')
  assert.is(left.files, 0)
  assert.is(left.reservations, 0, 'the reservation is released at once')
})

Backends('S3 cut mid-body: tus resumes', async () => {
  if (!isEnabled) {
    return
  }
  const test = faulty as TestGateway
  const tenant = await createTenant()
  const bytes = makeVideo(24 * MIB)
  const id = await createTusUpload(test.url, tenant, bytes.length)
  const cut = cutS3After(10 * MIB)

  const response = await patchTusUpload(test.url, tenant, id, 0, bytes)
  await cut
  await expectStorageError(response)
  s3Proxy.restore()

  await uploadWithTusClient(bytes, tenant, {
    endpoint: `${test.url}/media/uploads`,
    uploadUrl: `${test.url}/media/uploads/${id}`,
  })
  await expectFile(tenant, id, bytes)
})

Backends('Postgres cut at commit: POST /media', async () => {
  if (!isEnabled) {
    return
  }
  const tenant = await createTenant()
  // Two parts, so the object is stored by CompleteMultipartUpload, which the cut follows.
  const bytes = makeVideo(12 * MIB)
  const wasCut = cutPostgresAtComplete()

  const response = await fetch(`${faulty?.url}/media`, { method: 'POST', headers: tenant.auth, body: videoForm(bytes) })
  assert.ok(wasCut(), 'Postgres was cut when the upload completed')
  await expectStorageError(response)
  pgProxy.restore()
  const left = await expectNothingLeftAfterReconcile(tenant.projectId, 'Postgres cut, POST /media')
  assert.is(left.files, 0)
})

Backends('Postgres cut at commit: tus finishes', async () => {
  if (!isEnabled) {
    return
  }
  const test = faulty as TestGateway
  const tenant = await createTenant()
  const bytes = makeVideo(12 * MIB)
  const id = await createTusUpload(test.url, tenant, bytes.length)
  const wasCut = cutPostgresAtComplete()

  const response = await patchTusUpload(test.url, tenant, id, 0, bytes)
  assert.ok(wasCut(), 'Postgres was cut when the upload completed')
  await expectStorageError(response)
  pgProxy.restore()

  await uploadWithTusClient(bytes, tenant, {
    endpoint: `${test.url}/media/uploads`,
    uploadUrl: `${test.url}/media/uploads/${id}`,
  })
  await expectFile(tenant, id, bytes)
})

Backends.run()
