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
  stop(): Promise<void>
}

/** Starts `media-gateway serve` on a free port and resolves once it listens. */
export async function startGatewayProcess(): Promise<GatewayProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'media-gateway-instance-'))
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', DATA_DIR: dataDir, CLEANUP_INTERVAL_MS: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const stderr: string[] = []
  child.stderr?.on('data', (chunk) => stderr.push(String(chunk)))

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      // A child that never reported listening would outlive the test run.
      child.kill('SIGTERM')
      reject(new Error(`gateway did not start within 30 s: ${stderr.join('')}`))
    }, 30_000)
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${stderr.join('')}`)))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line)
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
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) {
          resolve()

          return
        }
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}
