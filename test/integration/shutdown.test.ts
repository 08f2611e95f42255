import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { sha256Of } from '../helpers/fixtures.js'
import { type GatewayProcess, createTenantWithCli, startGatewayProcess } from '../helpers/instances.js'
import { TUS_HEADERS, createTusUpload, makeVideo, uploadWithTusClient } from '../helpers/tus-requests.js'

const KIB = 1024
const MIB = 1024 * KIB

type Tenant = Awaited<ReturnType<typeof createTenantWithCli>>

/** Builds a PATCH body that sends `bytes` in 64 KiB chunks, one every `delayMs`. */
function slowBody(bytes: Uint8Array, delayMs: number): ReadableStream<Uint8Array> {
  let offset = 0

  return new ReadableStream({
    async pull(controller) {
      await sleep(delayMs)
      if (offset >= bytes.length) {
        controller.close()

        return
      }
      controller.enqueue(bytes.subarray(offset, offset + 64 * KIB))
      offset += 64 * KIB
    },
  })
}

/**
 * Starts a slow PATCH from offset 0. Resolves with the response, or with the
 * error that ended the request, so a cut never becomes an unhandled rejection.
 */
function slowPatch(base: string, tenant: Tenant, id: string, bytes: Uint8Array, delayMs: number) {
  return fetch(`${base}/media/uploads/${id}`, {
    method: 'PATCH',
    headers: { ...TUS_HEADERS, ...tenant.auth, 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
    body: slowBody(bytes, delayMs),
    duplex: 'half',
  } as RequestInit).then(
    (response) => response,
    (error: Error) => error,
  )
}

/** Waits until the gateway reports a tus request in flight, so the PATCH is being handled, not queued. */
async function waitForTusRequest(base: string) {
  for (;;) {
    const metrics = await fetch(`${base}/metrics`).then((response) => response.text())
    if (/media_gateway_upload_requests_in_flight\{door="tus"\} [1-9]/.test(metrics)) {
      return
    }
    await sleep(50)
  }
}

/**
 * Sends the head of a GET /readyz now and its last line later, so the
 * connection is busy, not idle, when the signal arrives. `finish` returns the response text.
 */
function startSplitReadiness(base: string) {
  const { hostname, port } = new URL(base)
  const socket = connect(Number(port), hostname)
  const chunks: Buffer[] = []
  socket.on('data', (chunk) => chunks.push(chunk))
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(Buffer.concat(chunks).toString())))
  socket.on('error', () => {})
  socket.write(`GET /readyz HTTP/1.1\r\nHost: ${hostname}:${port}\r\n`)

  return {
    finish: () => {
      socket.write('\r\n')

      return closed
    },
  }
}

async function expectOneFile(base: string, tenant: Tenant, id: string, bytes: Buffer) {
  const file = await fetch(`${base}/media/${id}`, { headers: tenant.auth }).then((response) => response.json())
  assert.is(file.sha256, sha256Of(bytes))
  assert.is(file.size, bytes.length)
  const list = await fetch(`${base}/media?limit=100`, { headers: tenant.auth }).then((response) => response.json())
  const copies = list.data.filter((candidate: { sha256: string }) => candidate.sha256 === file.sha256)
  assert.is(copies.length, 1, 'one row for the bytes')
}

let processes: GatewayProcess[] = []

interface SharedSetup {
  dataDir: string
  tenant: Tenant
}

let shared: SharedSetup | null = null

const Shutdown = suite('graceful shutdown')

// One data folder and tenant for the suite: a new embedded database takes many seconds to create.
Shutdown.before(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'media-gateway-shutdown-'))
  shared = { dataDir, tenant: await createTenantWithCli(dataDir) }
})

Shutdown.after.each(async () => {
  await Promise.all(processes.map((gateway) => gateway.stop()))
  processes = []
})

Shutdown.after(async () => {
  if (shared) {
    await rm(shared.dataDir, { recursive: true, force: true })
  }
})

Shutdown('upload in flight finishes within the grace', async () => {
  const { dataDir, tenant } = shared as SharedSetup
  const first = await startGatewayProcess({ dataDir, env: { SHUTDOWN_GRACE_MS: '20000' } })
  processes.push(first)
  const bytes = makeVideo(3 * MIB)
  const id = await createTusUpload(first.url, tenant, bytes.length)
  const readiness = startSplitReadiness(first.url)

  // 1 MiB in 16 chunks, one every 100 ms: in flight for about 1.7 s.
  const patching = slowPatch(first.url, tenant, id, bytes.subarray(0, MIB), 100)
  await waitForTusRequest(first.url)
  first.child.kill('SIGTERM')
  await sleep(300)

  const refused = await fetch(`${first.url}/healthz`).then(
    () => 'answered',
    (error: Error & { cause?: { code?: string } }) => error.cause?.code ?? error.message,
  )
  assert.is(refused, 'ECONNREFUSED', 'no new connections while draining')
  const readyText = await readiness.finish()
  assert.match(readyText, /^HTTP\/1\.1 503/)
  assert.match(readyText, /connection: close/i)
  assert.match(readyText, '"draining":true')

  const response = await patching
  if (response instanceof Error) {
    throw new Error(`the PATCH in flight failed: ${response.message}`, { cause: response })
  }
  assert.is(response.status, 204, 'the PATCH in flight finished')
  assert.is(response.headers.get('upload-offset'), String(MIB))
  assert.is(await first.exited, 0)

  const second = await startGatewayProcess({ dataDir: first.dataDir })
  processes.push(second)
  await uploadWithTusClient(bytes, tenant, {
    endpoint: `${second.url}/media/uploads`,
    uploadUrl: `${second.url}/media/uploads/${id}`,
  })
  await expectOneFile(second.url, tenant, id, bytes)
})

Shutdown('upload past the grace is cut and resumes', async () => {
  const { dataDir, tenant } = shared as SharedSetup
  const first = await startGatewayProcess({ dataDir, env: { SHUTDOWN_GRACE_MS: '500' } })
  processes.push(first)
  const bytes = makeVideo(3 * MIB)
  const id = await createTusUpload(first.url, tenant, bytes.length)

  // 2 MiB in 32 chunks, one every 150 ms: still in flight when the 500 ms grace ends.
  const patching = slowPatch(first.url, tenant, id, bytes.subarray(0, 2 * MIB), 150)
  await waitForTusRequest(first.url)
  await sleep(300)
  const signalledAt = Date.now()
  first.child.kill('SIGTERM')
  const settled = await patching
  const outcome = settled instanceof Error ? 'cut' : `status ${settled.status}`
  assert.is(outcome, 'cut')
  assert.is(await first.exited, 0)
  const stopMs = Date.now() - signalledAt
  assert.ok(stopMs < 500 + 4000, `stopped ${stopMs} ms after SIGTERM`)
  assert.ok(
    first.logs.some((entry) => entry.msg === 'grace period over; closing the remaining connections'),
    'the cut is logged',
  )

  const second = await startGatewayProcess({ dataDir: first.dataDir })
  processes.push(second)
  const head = await fetch(`${second.url}/media/uploads/${id}`, { method: 'HEAD', headers: { ...TUS_HEADERS, ...tenant.auth } })
  assert.is(head.status, 200)
  const offset = Number(head.headers.get('upload-offset'))
  assert.ok(offset < 2 * MIB, `offset ${offset} is short of the cut body`)
  await uploadWithTusClient(bytes, tenant, {
    endpoint: `${second.url}/media/uploads`,
    uploadUrl: `${second.url}/media/uploads/${id}`,
  })
  await expectOneFile(second.url, tenant, id, bytes)
})

Shutdown.run()
