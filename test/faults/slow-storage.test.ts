/**
 * Slow S3 under many concurrent POST /media uploads: a throttled proxy is
 * between a gateway process and RGW. The gateway's memory must stay bounded,
 * which means backpressure reaches the clients. Every client must get a
 * response (a file or a clear error) instead of hanging.
 */
import { readFile } from 'node:fs/promises'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { sha256Of } from '../helpers/fixtures.js'
import { expectOnlyFiles, hasFaultBackends, hostAndPort, isLongRun } from '../helpers/faults.js'
import { createTenant } from '../helpers/gateway.js'
import { startGatewayProcess } from '../helpers/instances.js'
import { TcpProxy } from '../helpers/tcp-proxy.js'
import { makeVideo } from '../helpers/tus-requests.js'

const MIB = 1024 * 1024
const CLIENTS = 6
const FILE_BYTES = 60 * MIB
const PART_BYTES = 5 * MIB
/** lib-storage keeps up to 4 parts in flight and fills a fifth; sockets and streams add a little. */
const BUFFER_PER_UPLOAD_BYTES = 5 * PART_BYTES + 4 * MIB
const S3_BYTES_PER_SECOND_PER_CONNECTION = 512 * 1024
const CLIENT_DEADLINE_MS = 240_000

async function readRssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kib = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0)

  return kib * 1024
}

/** Builds a multipart body that streams one file part and counts the bytes handed to fetch. */
function countedMultipart(bytes: Buffer, counter: { sent: number }) {
  const boundary = `----fault${Math.random().toString(16).slice(2)}`
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="clip.mp4"\r\nContent-Type: video/mp4\r\n\r\n`,
  )
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  const whole = [head, bytes, tail]
  let index = 0
  let offset = 0
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const current = whole[index]
      if (!current) {
        controller.close()

        return
      }
      const chunk = current.subarray(offset, offset + 256 * 1024)
      offset += chunk.length
      if (offset >= current.length) {
        index += 1
        offset = 0
      }
      counter.sent += chunk.length
      controller.enqueue(chunk)
    },
  })

  return {
    body,
    contentType: `multipart/form-data; boundary=${boundary}`,
    length: head.length + bytes.length + tail.length,
  }
}

const SlowStorage = suite('slow object storage')

SlowStorage('concurrent uploads stay bounded and answered', async () => {
  if (!hasFaultBackends('slow storage suite') || !isLongRun('slow storage test')) {
    return
  }
  const s3 = hostAndPort(process.env.S3_ENDPOINT as string)
  const proxy = await TcpProxy.start(s3.host, s3.port)
  proxy.throttle(S3_BYTES_PER_SECOND_PER_CONNECTION)
  const gateway = await startGatewayProcess({
    env: { S3_ENDPOINT: proxy.proxiedUrl(process.env.S3_ENDPOINT as string), S3_PART_SIZE_BYTES: String(PART_BYTES) },
  })
  const pid = gateway.child.pid as number
  try {
    const tenant = await createTenant()
    const files = Array.from({ length: CLIENTS }, () => makeVideo(FILE_BYTES))
    const counters = files.map(() => ({ sent: 0 }))
    const baselineRss = await readRssBytes(pid)
    const s3UpAtStart = proxy.totals.up
    let peakRss = baselineRss
    let peakInFlight = 0
    const sampler = setInterval(() => {
      const sent = counters.reduce((sum, counter) => sum + counter.sent, 0)
      peakInFlight = Math.max(peakInFlight, sent - (proxy.totals.up - s3UpAtStart))
      readRssBytes(pid).then(
        (rss) => {
          peakRss = Math.max(peakRss, rss)
        },
        () => {},
      )
    }, 250)

    const startedAt = Date.now()
    const answers = await Promise.all(
      files.map(async (bytes, index) => {
        const multipart = countedMultipart(bytes, counters[index])
        try {
          const response = await fetch(`${gateway.url}/media`, {
            method: 'POST',
            headers: { ...tenant.auth, 'Content-Type': multipart.contentType, 'Content-Length': String(multipart.length) },
            body: multipart.body,
            duplex: 'half',
            signal: AbortSignal.timeout(CLIENT_DEADLINE_MS),
          } as RequestInit)

          return { status: response.status, body: await response.json() }
        } catch (error) {
          return { status: 0, body: { error: String(error) } }
        }
      }),
    )
    clearInterval(sampler)
    const seconds = (Date.now() - startedAt) / 1000
    const totalBytes = CLIENTS * FILE_BYTES
    console.log(
      `  slow storage: ${CLIENTS} x ${FILE_BYTES / MIB} MiB in ${seconds.toFixed(1)} s; ` +
        `RSS ${(baselineRss / MIB).toFixed(0)} -> peak ${(peakRss / MIB).toFixed(0)} MiB; ` +
        `peak bytes sent but not yet at S3 ${(peakInFlight / MIB).toFixed(0)} MiB of ${totalBytes / MIB} MiB`,
    )

    for (const [index, answer] of answers.entries()) {
      assert.is(answer.status, 201, `client ${index}: ${JSON.stringify(answer.body)}`)
      assert.is(answer.body.sha256, sha256Of(files[index]), `client ${index} SHA-256`)
    }
    const bound = CLIENTS * BUFFER_PER_UPLOAD_BYTES
    assert.ok(peakInFlight < bound, `clients were ahead of S3 by ${peakInFlight} bytes; bound ${bound}`)
    assert.ok(peakRss - baselineRss < bound + 64 * MIB, `RSS grew by ${peakRss - baselineRss} bytes`)

    await expectOnlyFiles(tenant.projectId, CLIENTS)
  } finally {
    await gateway.stop()
    await proxy.close()
  }
})

SlowStorage.run()
