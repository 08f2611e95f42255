/**
 * `npm run bench`: measures the gateway against baselines run in the same
 * process tree and the same run, prints a table, and writes
 * docs/benchmarks.md with two SVG plots. `--smoke` (or BENCH_SMOKE=1) runs
 * every figure on files of a few MiB and writes to a temporary folder
 * instead; BENCH_OUT names another folder.
 * Needs DATABASE_URL and the S3_* variables. Exits non-zero only when a step
 * fails or returns a wrong result, never because a target was missed.
 */
import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { agent, getJson, postMultipart, putObject, runConcurrently, tusUpload } from './lib/clients.js'
import { type BenchFile, createImage, writeRandomFile, writeVideoFile } from './lib/files.js'
import { type ServiceProcess, readPortLine, runNodeScript, startService } from './lib/processes.js'
import { type Figure, type Series, formatMarkdownTable, formatTable, median, renderLinePlot } from './lib/report.js'

const MIB = 1024 * 1024
const ROOT = new URL('..', import.meta.url).pathname
const CLI = join(ROOT, 'dist/src/cli.js')
const BASELINES = join(ROOT, 'bench/baselines')

const isSmoke = process.argv.includes('--smoke') || process.env.BENCH_SMOKE === '1'

/** The video limit is 500 MB (decimal), so the largest file is 500,000,000 bytes, not 500 MiB. */
const VIDEO_LIMIT_BYTES = 500_000_000
const CHUNK_BYTES = 8 * MIB
/** The gateway's default S3_PART_SIZE_BYTES and lib-storage queue size, given to the baselines too. */
const PART_BYTES = 8 * MIB
const QUEUE_SIZE = 4

const PLAN = isSmoke
  ? {
      sizes: [3 * MIB, 6 * MIB, 10 * MIB],
      figureSizes: { post: [6 * MIB, 10 * MIB], tus: 10 * MIB },
      finishSizes: [5 * MIB, 10 * MIB],
      repeats: () => 1,
      images: { count: 32, concurrency: 16, repeats: 1 },
      mismatchBytes: 2 * CHUNK_BYTES,
    }
  : {
      sizes: [50 * MIB, 200 * MIB, VIDEO_LIMIT_BYTES],
      figureSizes: { post: [200 * MIB, VIDEO_LIMIT_BYTES], tus: 200 * MIB },
      finishSizes: [5 * MIB, VIDEO_LIMIT_BYTES],
      repeats: (size: number) => (size <= 200 * MIB ? 3 : 1),
      images: { count: 480, concurrency: 16, repeats: 3 },
      mismatchBytes: 4 * CHUNK_BYTES,
    }

function requireEnvironment() {
  const missing = ['DATABASE_URL', 'S3_ENDPOINT', 'S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'].filter(
    (name) => !process.env[name],
  )
  if (missing.length > 0) {
    console.error(
      `bench: ${missing.join(', ')} not set. The bench needs Postgres (DATABASE_URL) and an S3 endpoint ` +
        '(S3_*), e.g. eval "$(scripts/rgw.sh env)".',
    )
    process.exit(2)
  }
}

const s3 = new S3Client({
  endpoint: process.env.S3_ENDPOINT,
  region: process.env.S3_REGION || 'us-east-1',
  forcePathStyle: ['true', '1'].includes(process.env.S3_FORCE_PATH_STYLE ?? ''),
  credentials: {
    accessKeyId: process.env.S3_ACCESS_KEY_ID ?? '',
    secretAccessKey: process.env.S3_SECRET_ACCESS_KEY ?? '',
  },
})
const bucket = process.env.S3_BUCKET as string

/** Deletes every object and aborts every multipart upload whose key starts with `prefix`. */
async function removePrefix(prefix: string) {
  let token: string | undefined
  do {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }))
    const keys = (listed.Contents ?? []).map((object) => ({ Key: object.Key as string }))
    if (keys.length > 0) {
      await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }))
    }
    token = listed.IsTruncated ? listed.NextContinuationToken : undefined
  } while (token)
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }))
  for (const upload of uploads.Uploads ?? []) {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }))
  }
}

/** Counts the bytes stored in S3 under `prefix`: objects plus parts of open multipart uploads. */
async function countStoredBytes(prefix: string): Promise<number> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))
  let bytes = (listed.Contents ?? []).reduce((sum, object) => sum + (object.Size ?? 0), 0)
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }))
  for (const upload of uploads.Uploads ?? []) {
    const parts = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }))
    bytes += (parts.Parts ?? []).reduce((sum, part) => sum + (part.Size ?? 0), 0)
  }

  return bytes
}

function gatewayEnvironment(dataDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    DATA_DIR: dataDir,
    CLEANUP_INTERVAL_MS: '0',
    QUOTA_STORAGE_BYTES: String(1024 ** 4),
    QUOTA_UPLOAD_BYTES_PER_MONTH: String(10 * 1024 ** 4),
    S3_PART_SIZE_BYTES: String(PART_BYTES),
    ...extra,
  }
}

function createToken(env: NodeJS.ProcessEnv, project: string) {
  const result = spawnSync(
    process.execPath,
    [CLI, 'token', 'create', '--project', project, '--scopes', 'media:read,media:write'],
    { env, encoding: 'utf8' },
  )
  if (result.status !== 0) {
    throw new Error(`token create failed: ${result.stderr}`)
  }
  const lines = result.stdout.trim().split('\n')
  const projectId = /\((p_[0-9A-Z]+)\)/.exec(result.stdout)?.[1]
  if (!projectId) {
    throw new Error(`token create printed no project id: ${result.stdout}`)
  }

  return { token: lines[lines.length - 1], projectId }
}

interface Run {
  seconds: number
  peakBytes: number
  lastPatchSeconds: number
}

class Results {
  private readonly runs = new Map<string, Run[]>()

  add(series: string, size: number, run: Run) {
    const key = `${series}@${size}`
    this.runs.set(key, [...(this.runs.get(key) ?? []), run])
  }

  get(series: string, size: number): Run[] {
    const runs = this.runs.get(`${series}@${size}`)
    if (!runs) {
      throw new Error(`no runs of ${series} at ${size} bytes`)
    }

    return runs
  }

  seconds(series: string, size: number) {
    return median(this.get(series, size).map((run) => run.seconds))
  }

  peakBytes(series: string, size: number) {
    return median(this.get(series, size).map((run) => run.peakBytes))
  }

  throughput(series: string, size: number) {
    return size / 1e6 / this.seconds(series, size)
  }
}

/** Measures one upload on a service: elapsed seconds and the service's peak RSS meanwhile. */
async function measure(service: ServiceProcess | null, upload: () => Promise<Omit<Run, 'peakBytes'>>) {
  await service?.resetPeak()
  const run = await upload()

  return { ...run, peakBytes: service ? await service.readPeak() : 0 }
}

interface Services {
  gateway: ServiceProcess
  bareTus: ServiceProcess
  token: string
  projectId: string
  runPrefix: string
}

async function expectFile(services: Services, fileId: string, file: BenchFile, sha256 = file.sha256) {
  const response = await getJson(`${services.gateway.url}/media/${fileId}`, services.token)
  const record = response.json as { size?: number; sha256?: string }
  if (response.status !== 200 || record.size !== file.size || record.sha256 !== sha256) {
    throw new Error(`wrong result for ${file.path}: ${response.status} ${JSON.stringify(record)}; expected sha256 ${sha256}`)
  }
}

async function deleteFile(services: Services, gatewayUrl: string, fileId: string) {
  const response = await fetch(`${gatewayUrl}/media/${fileId}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${services.token}` },
  })
  if (response.status !== 204) {
    throw new Error(`DELETE /media/${fileId} returned ${response.status}`)
  }
}

async function postThroughGateway(services: Services, gatewayUrl: string, file: BenchFile, sha256 = file.sha256) {
  const result = await postMultipart(gatewayUrl, services.token, file, 'video/mp4', 'bench.mp4')
  const record = JSON.parse(result.body) as { id?: string; sha256?: string; size?: number }
  if (result.status !== 201 || record.sha256 !== sha256 || record.size !== file.size) {
    throw new Error(`POST /media of ${file.size} bytes returned ${result.status}: ${result.body.slice(0, 300)}`)
  }
  await deleteFile(services, gatewayUrl, record.id as string)

  return { seconds: result.seconds, lastPatchSeconds: 0 }
}

async function uploadDirect(services: Services, file: BenchFile) {
  const key = `${services.runPrefix}direct/${randomUUID()}`
  const result = await runNodeScript<{ seconds: number }>(
    [join(BASELINES, 'direct-upload.mjs'), file.path, key, String(PART_BYTES), String(QUEUE_SIZE)],
    process.env,
  )
  await removePrefix(key)

  return { seconds: result.seconds, lastPatchSeconds: 0 }
}

async function tusThroughGateway(
  services: Services,
  gatewayUrl: string,
  file: BenchFile,
  chunkSize: number,
  sha256 = file.sha256,
) {
  const result = await tusUpload({
    endpoint: `${gatewayUrl}/media/uploads`,
    headers: { authorization: `Bearer ${services.token}` },
    path: file.path,
    chunkSize,
    metadata: { filename: 'bench.mp4', filetype: 'video/mp4' },
  })
  if (result.failure || !result.url) {
    throw new Error(`tus upload of ${file.size} bytes failed: ${JSON.stringify(result.failure)}`)
  }
  const fileId = result.url.slice(result.url.lastIndexOf('/') + 1)
  if (sha256 === file.sha256) {
    await expectFile(services, fileId, file)
  }
  await deleteFile(services, gatewayUrl, fileId)

  return { seconds: result.seconds, lastPatchSeconds: result.patchSeconds.at(-1) ?? 0 }
}

async function tusThroughBareServer(services: Services, file: BenchFile, chunkSize: number) {
  const result = await tusUpload({
    endpoint: `${services.bareTus.url}/files`,
    path: file.path,
    chunkSize,
    metadata: { filename: 'bench.mp4', filetype: 'video/mp4' },
  })
  if (result.failure || result.lastOffset !== file.size) {
    throw new Error(`bare tus upload of ${file.size} bytes failed: ${JSON.stringify(result.failure)}`)
  }
  await removePrefix(`${services.runPrefix}tus/`)

  return { seconds: result.seconds, lastPatchSeconds: result.patchSeconds.at(-1) ?? 0 }
}

function mib(bytes: number) {
  return `${(bytes / MIB).toFixed(bytes < 10 * MIB ? 1 : 0)} MiB`
}

function rate(megabytesPerSecond: number) {
  return `${megabytesPerSecond.toFixed(1)} MB/s`
}

async function main() {
  requireEnvironment()
  const started = new Date()
  const loadAtStart = loadavg()[0]
  const work = await mkdtemp(join(tmpdir(), 'media-gateway-bench-'))
  const runPrefix = `bench-${Date.now()}/`
  const services: Partial<Services> = { runPrefix }
  const stopping: ServiceProcess[] = []
  const figures: Figure[] = []
  const results = new Results()
  try {
    console.log(`bench: ${isSmoke ? 'smoke run' : 'full run'}; writing test files to ${work}`)
    const files = new Map<number, BenchFile>()
    for (const size of new Set([...PLAN.sizes, ...PLAN.finishSizes])) {
      files.set(size, await writeVideoFile(work, size))
    }
    const fileOf = (size: number) => files.get(size) as BenchFile

    const gatewayEnv = gatewayEnvironment(join(work, 'gateway'))
    const { token, projectId } = createToken(gatewayEnv, `bench-${Date.now()}`)
    services.token = token
    services.projectId = projectId
    services.gateway = await startService({ name: 'gateway', args: [CLI, 'serve'], env: gatewayEnv, readPort: readPortLine })
    stopping.push(services.gateway)
    services.bareTus = await startService({
      name: 'bare tus server',
      args: [join(BASELINES, 'tus-server.mjs')],
      env: { ...process.env, BENCH_PREFIX: `${runPrefix}tus`, BENCH_PART_SIZE: String(PART_BYTES) },
      readPort: readPortLine,
    })
    stopping.push(services.bareTus)
    const ready = services as Services
    const gatewayUrl = ready.gateway.url

    // Doors and their baselines, interleaved per repeat, at every size.
    for (const size of PLAN.sizes) {
      const file = fileOf(size)
      for (let repeat = 0; repeat < PLAN.repeats(size); repeat += 1) {
        console.log(`bench: ${mib(size)} run ${repeat + 1}`)
        results.add('POST /media', size, await measure(ready.gateway, () => postThroughGateway(ready, gatewayUrl, file)))
        results.add('lib-storage', size, await measure(null, () => uploadDirect(ready, file)))
        results.add('tus 8 MiB', size, await measure(ready.gateway, () => tusThroughGateway(ready, gatewayUrl, file, CHUNK_BYTES)))
        results.add('bare tus 8 MiB', size, await measure(ready.bareTus, () => tusThroughBareServer(ready, file, CHUNK_BYTES)))
      }
    }

    for (const size of PLAN.figureSizes.post) {
      figures.push({
        figure: `POST /media throughput, ${mib(size)} video`,
        value: rate(results.throughput('POST /media', size)),
        baseline: `${rate(results.throughput('lib-storage', size))} lib-storage`,
        ratio: results.seconds('lib-storage', size) / results.seconds('POST /media', size),
        ratioOf: 'baseline time / gateway time',
        target: '≥ 0.9',
        met: results.seconds('lib-storage', size) / results.seconds('POST /media', size) >= 0.9,
      })
    }

    const tusSize = PLAN.figureSizes.tus
    const tusFile = fileOf(tusSize)
    for (let repeat = 0; repeat < PLAN.repeats(tusSize); repeat += 1) {
      console.log(`bench: tus unchunked ${mib(tusSize)} run ${repeat + 1}`)
      results.add('tus unchunked', tusSize, await measure(ready.gateway, () => tusThroughGateway(ready, gatewayUrl, tusFile, Number.POSITIVE_INFINITY)))
      results.add('bare tus unchunked', tusSize, await measure(ready.bareTus, () => tusThroughBareServer(ready, tusFile, Number.POSITIVE_INFINITY)))
    }
    for (const [series, target] of [
      ['8 MiB', 2],
      ['unchunked', 1],
    ] as const) {
      const ratio = results.seconds(`bare tus ${series}`, tusSize) / results.seconds(`tus ${series}`, tusSize)
      figures.push({
        figure: `tus throughput, ${series === '8 MiB' ? '8 MiB chunks' : 'unchunked'}, ${mib(tusSize)}`,
        value: rate(results.throughput(`tus ${series}`, tusSize)),
        baseline: `${rate(results.throughput(`bare tus ${series}`, tusSize))} bare tus`,
        ratio,
        ratioOf: 'baseline time / gateway time',
        target: `≥ ${target}`,
        met: ratio >= target,
      })
    }

    const [smallest, , largest] = PLAN.sizes
    for (const door of ['POST /media', 'tus 8 MiB']) {
      const base = results.peakBytes(door, smallest)
      for (const size of PLAN.sizes) {
        const peak = results.peakBytes(door, size)
        const isLargest = size === largest
        figures.push({
          figure: `peak RSS, ${door}, ${mib(size)}`,
          value: mib(peak),
          baseline: `${mib(results.peakBytes('bare tus 8 MiB', size))} bare tus`,
          ratio: peak / base,
          ratioOf: `gateway peak / its ${mib(smallest)} peak`,
          target: isLargest ? '≤ 150 MiB and ratio ≤ 1.2' : '',
          met: isLargest ? peak <= 150 * MIB && peak / base <= 1.2 : null,
        })
      }
    }

    // Time of the last PATCH, which completes the multipart upload and commits the file.
    const [finishSmall, finishLarge] = PLAN.finishSizes
    for (let repeat = 0; repeat < 5; repeat += 1) {
      results.add('tus finish', finishSmall, await measure(null, () => tusThroughGateway(ready, gatewayUrl, fileOf(finishSmall), CHUNK_BYTES)))
    }
    if (!PLAN.sizes.includes(finishLarge)) {
      results.add('tus 8 MiB', finishLarge, await measure(null, () => tusThroughGateway(ready, gatewayUrl, fileOf(finishLarge), CHUNK_BYTES)))
    }
    const lastSmall = median(results.get('tus finish', finishSmall).map((run) => run.lastPatchSeconds))
    const lastLarge = median(results.get('tus 8 MiB', finishLarge).map((run) => run.lastPatchSeconds))
    figures.push({
      figure: `tus last PATCH, ${mib(finishLarge)} vs ${mib(finishSmall)}`,
      value: `${(lastLarge * 1000).toFixed(0)} ms`,
      baseline: `${(lastSmall * 1000).toFixed(0)} ms at ${mib(finishSmall)}`,
      ratio: lastLarge / lastSmall,
      ratioOf: 'large / small',
      target: '≤ 1.5',
      met: lastLarge / lastSmall <= 1.5,
    })

    figures.push(await measureMismatch(ready, work))
    figures.push(await measureImages(ready))
    figures.push(...(await measureHashingCost(ready, work, tusFile)))

    const output = process.env.BENCH_OUT ?? (isSmoke ? join(tmpdir(), 'media-gateway-bench-smoke') : join(ROOT, 'docs'))
    await writeReport(output, figures, results, started, loadAtStart)
    console.log(`\n${formatTable(figures)}\n`)
    console.log(`bench: wrote ${join(output, 'benchmarks.md')}`)
  } finally {
    for (const service of stopping) {
      await service.stop()
    }
    agent.destroy()
    await removePrefix(runPrefix).catch((error) => console.error('bench: cleanup failed', error))
    if (services.projectId) {
      await removePrefix(`${services.projectId}/`).catch((error) => console.error('bench: cleanup failed', error))
    }
    await rm(work, { recursive: true, force: true })
  }
}

/** Sends non-video bytes declared as video/mp4 in 8 MiB chunks and counts what was accepted. */
async function measureMismatch(services: Services, work: string): Promise<Figure> {
  const file = await writeRandomFile(work, PLAN.mismatchBytes)
  const result = await tusUpload({
    endpoint: `${services.gateway.url}/media/uploads`,
    headers: { authorization: `Bearer ${services.token}` },
    path: file.path,
    chunkSize: CHUNK_BYTES,
    metadata: { filename: 'bench.mp4', filetype: 'video/mp4' },
  })
  if (result.failure?.status !== 400 || !result.url) {
    throw new Error(`a mismatched tus upload was not rejected with 400: ${JSON.stringify(result.failure)}`)
  }
  const fileId = result.url.slice(result.url.lastIndexOf('/') + 1)
  const stored = await countStoredBytes(`${services.projectId}/live/${fileId}`)
  const accepted = Math.max(result.lastOffset, stored)

  return {
    figure: 'bytes accepted before a mismatched tus upload is rejected',
    value: `${accepted} bytes (Upload-Offset ${result.lastOffset}, stored ${stored})`,
    baseline: `chunk ${mib(CHUNK_BYTES)}`,
    ratio: accepted / CHUNK_BYTES,
    ratioOf: 'accepted / chunk',
    target: '≤ 1',
    met: accepted <= CHUNK_BYTES,
  }
}

/** 64 KiB images from 16 concurrent clients: the gateway's POST /media against a bare PutObject handler. */
async function measureImages(services: Services): Promise<Figure> {
  const image = await createImage(64 * 1024)
  const putServer = await startService({
    name: 'bare PutObject server',
    args: [join(BASELINES, 'put-server.mjs')],
    env: { ...process.env, BENCH_PREFIX: `${services.runPrefix}put` },
    readPort: readPortLine,
  })
  const { count, concurrency, repeats } = PLAN.images
  const gatewayRates: number[] = []
  const baselineRates: number[] = []
  try {
    for (let repeat = 0; repeat < repeats; repeat += 1) {
      console.log(`bench: images run ${repeat + 1}`)
      const gatewaySeconds = await runConcurrently(count, concurrency, async () => {
        const result = await postMultipart(services.gateway.url, services.token, image, 'image/png', 'bench.png')
        if (result.status !== 201) {
          throw new Error(`image POST returned ${result.status}: ${result.body}`)
        }
      })
      gatewayRates.push(count / gatewaySeconds)
      const baselineSeconds = await runConcurrently(count, concurrency, async () => {
        const result = await putObject(putServer.url, image, 'image/png')
        if (result.status !== 201) {
          throw new Error(`baseline PUT returned ${result.status}: ${result.body}`)
        }
      })
      baselineRates.push(count / baselineSeconds)
    }
  } finally {
    await putServer.stop()
  }
  const ratio = median(gatewayRates) / median(baselineRates)

  return {
    figure: `64 KiB images, ${concurrency} concurrent clients`,
    value: `${median(gatewayRates).toFixed(0)} uploads/s`,
    baseline: `${median(baselineRates).toFixed(0)} uploads/s bare PutObject`,
    ratio,
    ratioOf: 'gateway rate / baseline rate',
    target: '≥ 0.8',
    met: ratio >= 0.8,
  }
}

/** Runs the same uploads on a second gateway started with hashing skipped, alternating with the first. */
async function measureHashingCost(services: Services, work: string, file: BenchFile): Promise<Figure[]> {
  const env = gatewayEnvironment(join(work, 'gateway-no-hash'), { MEDIA_GATEWAY_BENCH_SKIP_SHA256: '1' })
  const noHash = await startService({ name: 'gateway without hashing', args: [CLI, 'serve'], env, readPort: readPortLine })
  const zeros = '0'.repeat(64)
  const figures: Figure[] = []
  try {
    const repeats = PLAN.repeats(file.size)
    const doors = [
      {
        name: 'tus 8 MiB chunks',
        upload: (url: string, sha256: string) => tusThroughGateway(services, url, file, CHUNK_BYTES, sha256),
      },
      {
        name: 'POST /media',
        upload: (url: string, sha256: string) => postThroughGateway(services, url, file, sha256),
      },
    ]
    for (const door of doors) {
      const hashed: number[] = []
      const unhashed: number[] = []
      for (let repeat = 0; repeat < repeats; repeat += 1) {
        console.log(`bench: hashing cost, ${door.name}, run ${repeat + 1}`)
        hashed.push((await door.upload(services.gateway.url, file.sha256)).seconds)
        unhashed.push((await door.upload(noHash.url, zeros)).seconds)
      }
      const cost = median(hashed) / median(unhashed) - 1
      figures.push({
        figure: `SHA-256 cost, ${door.name}, ${mib(file.size)}`,
        value: `${median(hashed).toFixed(2)} s`,
        baseline: `${median(unhashed).toFixed(2)} s without hashing`,
        ratio: cost,
        ratioOf: 'time with hashing / without − 1',
        target: '≤ 0.05',
        met: cost <= 0.05,
      })
    }
  } finally {
    await noHash.stop()
  }

  return figures
}

async function writeReport(folder: string, figures: Figure[], results: Results, started: Date, loadAtStart: number) {
  await mkdir(folder, { recursive: true })
  const sizesMiB = (size: number) => size / MIB
  const series = (name: string, label: string, value: (size: number) => number, dashed = false): Series => ({
    name: label,
    dashed,
    points: PLAN.sizes.map((size) => ({ x: sizesMiB(size), y: value(size) })).filter((point) => Number.isFinite(point.y)),
  })
  const throughput = renderLinePlot({
    title: 'Upload throughput against file size',
    xLabel: 'file size (MiB)',
    yLabel: 'throughput (MB/s)',
    series: [
      series('POST /media', 'POST /media', (size) => results.throughput('POST /media', size)),
      series('lib-storage', 'lib-storage direct', (size) => results.throughput('lib-storage', size), true),
      series('tus 8 MiB', 'tus, 8 MiB chunks', (size) => results.throughput('tus 8 MiB', size)),
      series('bare tus 8 MiB', 'bare tus, 8 MiB chunks', (size) => results.throughput('bare tus 8 MiB', size), true),
    ],
  })
  const rss = renderLinePlot({
    title: 'Peak RSS of the server against file size',
    xLabel: 'file size (MiB)',
    yLabel: 'peak RSS (MiB)',
    series: [
      series('POST /media', 'gateway, POST /media', (size) => results.peakBytes('POST /media', size) / MIB),
      series('tus 8 MiB', 'gateway, tus', (size) => results.peakBytes('tus 8 MiB', size) / MIB),
      series('bare tus 8 MiB', 'bare tus server', (size) => results.peakBytes('bare tus 8 MiB', size) / MIB, true),
    ],
  })
  await writeFile(join(folder, 'bench-throughput.svg'), throughput)
  await writeFile(join(folder, 'bench-rss.svg'), rss)

  const memoryGiB = (totalmem() / 1024 ** 3).toFixed(1)
  const page = `# Benchmarks

Written by \`npm run bench\`${isSmoke ? ' -- --smoke' : ''} on ${started.toISOString()}; rerun it to refresh this page.

- Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${memoryGiB} GiB memory, Node ${process.version}, ${process.platform}.
- Load average (1 minute): ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end.
- Services: Postgres and S3 at \`${process.env.S3_ENDPOINT}\`, both on this machine, shared with whatever else runs on it.
- Command: \`eval "$(scripts/rgw.sh env)"; DATABASE_URL=postgres://... npm run bench\`.

Every figure is set beside a baseline measured in the same run, and uploads
of the gateway and of its baseline alternate. Each value is the median of
the repeats (3 for files up to 200 MiB, 1 for the 500 MB file). Absolute
numbers move with the machine's load, so only the ratios are compared with
targets. The largest video is 500,000,000 bytes (476.8 MiB) because the video
limit is 500 MB. The gateway runs as \`node dist/src/cli.js serve\` in its own
process, with S3 parts of ${mib(PART_BYTES)}, and its peak RSS is read from
\`/proc/PID/status\` (VmHWM reset before each upload, and VmRSS sampled every
20 ms). The baselines are child processes too:

- lib-storage: one \`@aws-sdk/lib-storage\` Upload of the same file, ${mib(PART_BYTES)} parts, queue size ${QUEUE_SIZE};
- bare tus: \`@tus/server\` with \`@tus/s3-store\` (${mib(PART_BYTES)} parts), driven by the same tus-js-client code;
- bare PutObject: a Koa handler that streams each request body into one PutObject;
- without hashing: a second gateway started with \`MEDIA_GATEWAY_BENCH_SKIP_SHA256=1\`, a benchmarking switch that records 64 zeros as every file's SHA-256.

${formatMarkdownTable(figures)}

![Throughput against file size](bench-throughput.svg)

![Peak RSS against file size](bench-rss.svg)
`
  await writeFile(join(folder, 'benchmarks.md'), page)
}

main().catch((error) => {
  console.error('bench failed:', error)
  process.exit(1)
})
