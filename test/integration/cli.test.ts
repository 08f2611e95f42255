import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { lockDataDir } from '../../src/db/data-dir-lock.js'

const run = promisify(execFile)
const CLI = new URL('../../src/cli.ts', import.meta.url).pathname

/** Runs the command line on the embedded default in its own data folder. */
async function runCli(args: string[], dataDir: string) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', CLI, ...args], {
      env: {
        ...process.env,
        DATA_DIR: dataDir,
        DATABASE_URL: '',
        S3_ENDPOINT: '',
        S3_BUCKET: '',
        S3_ACCESS_KEY_ID: '',
        S3_SECRET_ACCESS_KEY: '',
        LOG_LEVEL: 'silent',
      },
    })

    return { code: 0, stdout, stderr }
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string }

    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr }
  }
}

const Cli = suite('media-gateway command line')

Cli('prints a new token on the last line', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'media-gateway-cli-'))
  try {
    const result = await runCli(
      ['token', 'create', '--project', 'demo', '--scopes', 'media:read,media:write', '--mode', 'test'],
      dataDir,
    )
    const lines = result.stdout.trim().split('\n')

    assert.is(result.code, 0, result.stderr)
    assert.match(lines.at(-1) ?? '', /^so_test_[0-9A-Za-z]{32}$/)
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
})

Cli('rejects unknown scopes', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'media-gateway-cli-'))
  try {
    const result = await runCli(['token', 'create', '--project', 'demo', '--scopes', 'media:all'], dataDir)

    assert.is(result.code, 2)
    assert.match(result.stderr, /Unknown scope: media:all/)
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
})

Cli('refuses a data folder in use', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'media-gateway-cli-'))
  const lock = lockDataDir(dataDir)
  try {
    const result = await runCli(['token', 'create', '--project', 'demo', '--scopes', 'media:read'], dataDir)

    assert.is(result.code, 1)
    assert.match(result.stderr, /in use by process \d+/)
    assert.is(result.stdout, '')
  } finally {
    lock.release()
    await rm(dataDir, { recursive: true, force: true })
  }
})

Cli.run()
