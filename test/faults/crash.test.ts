/**
 * The gateway process killed with SIGKILL in the middle of a tus upload, at
 * seeded random points: the client resumes on the restarted process and the
 * file ends with the right SHA-256 and one row. FAULT_SEED replays a run,
 * and CRASH_ROUNDS changes the number of kills (20 by default).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { sha256Of } from '../helpers/fixtures.js'
import { listFiles } from '../../src/storage/local-object-store.js'
import { expectOnlyFiles, hasFaultBackends, seededRandom } from '../helpers/faults.js'
import { type TestTenant, createTenant } from '../helpers/gateway.js'
import { type GatewayProcess, startGatewayProcess } from '../helpers/instances.js'
import { TUS_HEADERS, createTusUpload, makeVideo, uploadWithTusClient } from '../helpers/tus-requests.js'

const MIB = 1024 * 1024
const CHUNK_BYTES = 256 * 1024

const Crash = suite('SIGKILL during tus uploads')

let gateway: GatewayProcess | null = null
let processTmp = ''

/** Starts a gateway process whose temporary files go to a folder of its own, so they can be audited. */
function startProcess() {
  return startGatewayProcess({ env: { TMPDIR: processTmp } })
}

Crash.after(async () => {
  await gateway?.stop()
  if (processTmp) {
    await rm(processTmp, { recursive: true, force: true })
  }
})

/**
 * Sends every byte in one PATCH from offset 0 and kills the gateway once
 * `killAt` bytes have been handed to the connection, or `afterEndMs` after
 * the body ended when `killAt` is past the end. Resolves with how the request ended.
 */
async function patchAndKill(
  target: GatewayProcess,
  tenant: TestTenant,
  id: string,
  bytes: Buffer,
  killAt: number,
  afterEndMs: number,
) {
  let sent = 0
  let isKilled = false
  const kill = () => {
    if (!isKilled) {
      isKilled = true
      target.child.kill('SIGKILL')
    }
  }
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= killAt) {
        kill()
      }
      if (sent >= bytes.length) {
        controller.close()
        setTimeout(kill, afterEndMs)

        return
      }
      controller.enqueue(bytes.subarray(sent, sent + CHUNK_BYTES))
      sent += CHUNK_BYTES
    },
  })
  const outcome = await fetch(`${target.url}/media/uploads/${id}`, {
    method: 'PATCH',
    headers: { ...TUS_HEADERS, ...tenant.auth, 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
    body,
    duplex: 'half',
  } as RequestInit).then(
    (response) => `status ${response.status}`,
    () => 'cut',
  )
  kill()
  await target.exited

  return outcome
}

Crash('client resumes after each kill', async () => {
  if (!hasFaultBackends('SIGKILL suite')) {
    return
  }
  const seed = Number(process.env.FAULT_SEED ?? Date.now() % 1_000_000)
  const rounds = Number(process.env.CRASH_ROUNDS ?? 20)
  console.log(`  SIGKILL suite: seed ${seed} (FAULT_SEED=${seed} replays it), ${rounds} kills`)
  const random = seededRandom(seed)
  processTmp = await mkdtemp(join(tmpdir(), 'media-gateway-crash-tmp-'))
  const tenant = await createTenant()
  gateway = await startProcess()

  const uploads: { id: string; bytes: Buffer }[] = []
  const outcomes: string[] = []
  for (let round = 0; round < rounds; round++) {
    const size = Math.floor(2 * MIB + random() * 12 * MIB)
    const bytes = makeVideo(size)
    const id = await createTusUpload(gateway.url, tenant, size)
    // One round in ten kills after the whole body was sent, while the gateway stores or commits it.
    const isAfterBody = random() < 0.1
    const killAt = isAfterBody ? size : Math.floor(random() * size)
    const afterEndMs = Math.floor(random() * 200)
    const outcome = await patchAndKill(gateway, tenant, id, bytes, killAt, afterEndMs)
    outcomes.push(`${round}: ${size} bytes, kill at ${isAfterBody ? `end+${afterEndMs} ms` : killAt}: ${outcome}`)

    gateway = await startProcess()
    await uploadWithTusClient(bytes, tenant, {
      endpoint: `${gateway.url}/media/uploads`,
      uploadUrl: `${gateway.url}/media/uploads/${id}`,
      retryDelays: [200, 1000],
    })
    uploads.push({ id, bytes })
  }

  for (const { id, bytes } of uploads) {
    const response = await fetch(`${gateway.url}/media/${id}`, { headers: tenant.auth })
    const file = await response.json()
    assert.is(response.status, 200, `file ${id}`)
    assert.is(file.sha256, sha256Of(bytes), `SHA-256 of ${id}`)
  }
  await expectOnlyFiles(tenant.projectId, rounds)

  await sleep(200)
  // tsx keeps its compile cache in TMPDIR too, under tsx-<uid>; every other file is the gateway's.
  const tempFiles = (await listFiles(processTmp)).filter((path) => !/^tsx-\d+\//.test(path))
  console.log(`  SIGKILL suite: ${uploads.length}/${rounds} uploads resumed and finished; temporary files left: ${tempFiles.length}`)
  for (const line of outcomes) {
    console.log(`    ${line}`)
  }
  assert.equal(tempFiles, [], 'no temporary file is left')
})

Crash.run()
