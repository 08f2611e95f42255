/**
 * Extra gateway processes on the same Postgres and S3 as the test gateway,
 * to test several instances behind a load balancer. They are real child
 * processes of the command line, each on its own port.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

const CLI = new URL('../../src/cli.ts', import.meta.url).pathname

export interface GatewayProcess {
  url: string
  child: ChildProcess
  dataDir: string
  /** Log lines the process has written to stdout, parsed. */
  logs: Record<string, unknown>[]
  /** Resolves with the exit code (or null after a signal) once the process has exited. */
  exited: Promise<number | null>
  stop(): Promise<void>
}

export interface GatewayProcessOptions {
  /** Data folder to reuse, as a restart does; a new one by default. */
  dataDir?: string
  /** Extra environment, such as SHUTDOWN_GRACE_MS or a proxy's S3_ENDPOINT. */
  env?: Record<string, string>
}

/** Starts `media-gateway serve` on a free port and resolves once it listens. */
export async function startGatewayProcess(options: GatewayProcessOptions = {}): Promise<GatewayProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'media-gateway-instance-')))
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve'], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      DATA_DIR: dataDir,
      CLEANUP_INTERVAL_MS: '0',
      RECONCILE_INTERVAL_MS: '0',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const logs: Record<string, unknown>[] = []
  const stderr: string[] = []
  child.stderr?.on('data', (chunk) => stderr.push(String(chunk)))

  const port = await new Promise<number>((resolve, reject) => {
    // Generous, because a loaded CI machine can take tens of seconds to start tsx and migrate.
    const timer = setTimeout(() => {
      // A child that never reported listening would outlive the test run.
      child.kill('SIGTERM')
      reject(new Error(`gateway did not start within 60 s: ${stderr.join('')}`))
    }, 60_000)
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${stderr.join('')}`)))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line)
        logs.push(entry)
        if (entry.msg === 'gateway listening') {
          clearTimeout(timer)
          resolve(entry.port)
        }
      } catch {
        // Not a log line; ignore it.
      }
    })
  })

  return {
    url: `http://127.0.0.1:${port}`,
    child,
    dataDir,
    logs,
    exited,
    stop: () =>
      new Promise<void>((resolve) => {
        // A process killed by a signal has a signalCode and no exitCode.
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve()

          return
        }
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

/**
 * Creates a project and token with the command line, against the database
 * the environment and `dataDir` name, as a gateway process opens it.
 */
export async function createTenantWithCli(dataDir: string, env: Record<string, string> = {}) {
  const { execFile } = await import('node:child_process')
  const { promisify } = await import('node:util')
  const projectName = `cli-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', CLI, 'token', 'create', '--project', projectName, '--scopes', 'media:read,media:write'],
    { env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env } },
  )
  const lines = stdout.trim().split('\n')
  const token = lines[lines.length - 1]
  const projectId = /\((p_[0-9A-Z]+)\)/.exec(stdout)?.[1] ?? ''

  return { token, projectName, projectId, mode: 'live' as const, auth: { Authorization: `Bearer ${token}` } }
}
