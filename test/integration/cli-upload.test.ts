import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFixture, sha256Of } from '../helpers/fixtures.js'
import { type TestGateway, type TestTenant, createTenant, findLeftovers, startGateway, stopGateway } from '../helpers/gateway.js'

const CLI = new URL('../../src/cli.ts', import.meta.url).pathname

/** Keeps the gateway's request lines, to count the bytes each run sent. */
class RequestLines extends Writable {
  lines: Record<string, any>[] = []

  override _write(chunk: Buffer, _encoding: string, callback: () => void) {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      const entry = JSON.parse(line)
      if (entry.type === 'request') {
        this.lines.push(entry)
      }
    }
    callback()
  }
}

const Upload = suite('media-gateway upload')

const logs = new RequestLines()
let test: TestGateway | null = null
let tenant: TestTenant | null = null
let folder = ''

Upload.before(async () => {
  test = await startGateway({ LOG_LEVEL: 'info' }, logs)
  tenant = await createTenant(['media:read', 'media:write'], 'live', undefined, test)
  folder = await mkdtemp(join(tmpdir(), 'media-gateway-cli-upload-'))
})

Upload.after(async () => {
  if (test) {
    await stopGateway(test)
  }
  await rm(folder, { recursive: true, force: true })
})

/** Starts the upload command; the token travels in the environment, as the README suggests. */
function startUpload(file: string, extra: string[] = [], caller = tenant as TestTenant) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, 'upload', file, '--url', test?.url as string, '--state-file', join(folder, 'state.json'), ...extra],
    { env: { ...process.env, MEDIA_GATEWAY_TOKEN: caller.token }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const output = { stdout: '', stderr: '' }
  child.stdout?.on('data', (chunk) => {
    output.stdout += chunk
  })
  child.stderr?.on('data', (chunk) => {
    output.stderr += chunk
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))

  return { child, output, exited }
}

async function runUpload(file: string, extra: string[] = [], caller = tenant as TestTenant) {
  const run = startUpload(file, extra, caller)
  const code = await run.exited

  return { code, ...run.output }
}

/** Writes a PNG head followed by random bytes, which is sniffed as image/png and large enough to interrupt. */
async function writeLargePng(name: string, size: number): Promise<{ path: string; bytes: Buffer }> {
  const png = readFixture('fixture.png')
  const bytes = Buffer.concat([png, randomBytes(size - png.length)])
  const path = join(folder, name)
  await writeFile(path, bytes)

  return { path, bytes }
}

/** Sums the file bytes the gateway received through PATCH for one upload. */
function patchedBytes(uploadId: string, from = 0): number {
  return logs.lines
    .slice(from)
    .filter((line) => line.method === 'PATCH' && line.uploadId === uploadId)
    .reduce((sum, line) => sum + (line.bytesIn ?? 0), 0)
}

/** Waits until the gateway has stored some PATCH bytes from lines after `from`. */
async function waitForPatch(child: ChildProcess, output: { stderr: string }, from: number) {
  while (!logs.lines.slice(from).some((line) => line.method === 'PATCH' && line.bytesIn > 0)) {
    if (child.exitCode !== null) {
      throw new Error(`the upload exited before its first PATCH: ${output.stderr}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

Upload('uploads a file and prints it', async () => {
  const { path, bytes } = await writeLargePng('whole.png', 1_500_000)
  const result = await runUpload(path, ['--folder', 'cli', '--tags', 'a,b', '--chunk-size', '524288'])

  assert.is(result.code, 0, result.stderr)
  const file = JSON.parse(result.stdout)
  assert.is(file.size, bytes.length)
  assert.is(file.sha256, sha256Of(bytes))
  assert.is(file.content_type, 'image/png')
  assert.is(file.original_name, 'whole.png')
  assert.is(file.folder, 'cli')
  assert.equal(file.tags, ['a', 'b'])
  assert.match(result.stderr, /100\.0%/)
  assert.not.ok(result.stderr.includes(tenant?.token as string), 'the token was printed')
  assert.not.ok(result.stdout.includes(tenant?.token as string), 'the token was printed')
  const state = JSON.parse(await readFile(join(folder, 'state.json'), 'utf8'))
  assert.equal(Object.keys(state), [], 'the finished upload is forgotten')
})

Upload('resumes after Ctrl-C', async () => {
  // 64 chunks of 256 KiB, so the interrupt lands long before the last one.
  const { path, bytes } = await writeLargePng('resumed.png', 16 * 1024 * 1024)
  const chunk = ['--chunk-size', String(256 * 1024)]
  const first = startUpload(path, chunk)
  await waitForPatch(first.child, first.output, logs.lines.length)
  first.child.kill('SIGINT')
  assert.is(await first.exited, 130, first.output.stderr)
  assert.match(first.output.stderr, /run the same command again to resume/)

  const state = JSON.parse(await readFile(join(folder, 'state.json'), 'utf8'))
  const entries = Object.values(state) as { uploadUrl: string }[]
  assert.is(entries.length, 1)
  const uploadUrl = entries[0].uploadUrl
  const uploadId = uploadUrl.split('/').at(-1) as string
  const probe = await fetch(uploadUrl, { method: 'HEAD', headers: { ...tenant?.auth, 'Tus-Resumable': '1.0.0' } })
  const offset = Number(probe.headers.get('upload-offset'))
  assert.is(probe.status, 200)
  assert.ok(offset > 0, `offset ${offset}`)
  assert.ok(offset < bytes.length, `offset ${offset} of ${bytes.length}`)

  const linesBefore = logs.lines.length
  const second = await runUpload(path, chunk)
  assert.is(second.code, 0, second.stderr)
  assert.match(second.stderr, /resuming /)
  const file = JSON.parse(second.stdout)
  assert.is(file.id, uploadId)
  assert.is(file.sha256, sha256Of(bytes))
  assert.is(file.size, bytes.length)
  // The second run sent only what the server lacked.
  assert.is(patchedBytes(uploadId, linesBefore), bytes.length - offset)

  const gateway = test as TestGateway
  const rows = await gateway.gateway.database.knex('files').where({ project_id: tenant?.projectId, sha256: sha256Of(bytes) })
  assert.is(rows.length, 1)
})

Upload('reports a rejected file', async () => {
  const rejectedTenant = await createTenant(['media:read', 'media:write'], 'live', undefined, test as TestGateway)
  const png = join(folder, 'declared.jpg')
  await writeFile(png, readFixture('fixture.png'))
  const mismatch = await runUpload(png, ['--type', 'image/jpeg'], rejectedTenant)

  assert.is(mismatch.code, 1)
  assert.is(mismatch.stdout, '')
  assert.match(mismatch.stderr, /bad_request: The file's bytes are image\/png, not the declared image\/jpeg\. \(HTTP 400\)/)
  assert.not.ok(mismatch.stderr.includes(rejectedTenant.token), 'the token was printed')

  const unsupported = await runUpload(png, ['--type', 'application/zip'], rejectedTenant)
  assert.is(unsupported.code, 1)
  assert.match(unsupported.stderr, /unsupported_media_type: .*\(HTTP 415\)/)

  const leftovers = await findLeftovers(rejectedTenant.projectId, test as TestGateway)
  assert.is(leftovers.openUploads, 0)
  assert.is(leftovers.reservations, 0)
})

Upload('rejects a bad command line', async () => {
  const missingUrl = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'upload', 'x.png'], {
      env: { ...process.env, MEDIA_GATEWAY_TOKEN: '' },
    })
    let stderr = ''
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    child.once('exit', (code) => resolve({ code, stderr }))
  })

  assert.is(missingUrl.code, 2)
  assert.match(missingUrl.stderr, /upload needs --url/)
})

Upload.run()
