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

Cli('manages projects, tiers and tokens', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'media-gateway-cli-'))
  try {
    const created = await runCli(['project', 'create', 'acme', '--tier', 'pro'], dataDir)
    assert.is(created.code, 0, created.stderr)
    assert.match(created.stdout, /^p_[0-9A-HJKMNP-TV-Z]{26}\tacme\tpro$/m)

    const duplicate = await runCli(['project', 'create', 'acme'], dataDir)
    assert.is(duplicate.code, 2)
    assert.match(duplicate.stderr, /already exists/)

    const unknownTier = await runCli(['project', 'set-tier', 'acme', 'platinum'], dataDir)
    assert.is(unknownTier.code, 2)
    assert.match(unknownTier.stderr, /Unknown tier "platinum"/)

    const moved = await runCli(['project', 'set-tier', 'acme', 'default'], dataDir)
    assert.match(moved.stdout, /\tacme\tdefault$/m)

    const token = await runCli(['token', 'create', '--project', 'acme', '--scopes', 'media:read'], dataDir)
    const secret = token.stdout.trim().split('\n').at(-1) ?? ''
    const tokenId = /token (tok_\w+)/.exec(token.stdout)?.[1] ?? ''
    const listed = await runCli(['token', 'list', '--project', 'acme'], dataDir)
    assert.ok(listed.stdout.includes(tokenId))
    assert.ok(listed.stdout.includes(secret.slice(0, 12)))
    assert.not.ok(listed.stdout.includes(secret), 'token list must not print secrets')

    const revoked = await runCli(['token', 'revoke', tokenId], dataDir)
    assert.is(revoked.code, 0, revoked.stderr)
    const again = await runCli(['token', 'revoke', tokenId], dataDir)
    assert.is(again.code, 2)

    const projects = await runCli(['project', 'list'], dataDir)
    assert.match(projects.stdout, /\tacme\tdefault$/m)
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
})

Cli.run()
