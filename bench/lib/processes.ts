/**
 * Child processes for the benchmarks: the gateway (`node dist/src/cli.js
 * serve`) and the baseline servers, each in its own process so its memory is
 * measured apart from the client's.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'

export interface ServiceProcess {
  url: string
  child: ChildProcess
  /** Starts a new peak-RSS window: resets VmHWM when the kernel allows, and the sampled peak. */
  resetPeak(): Promise<void>
  /** Peak resident set size in bytes since the last resetPeak. */
  readPeak(): Promise<number>
  stop(): Promise<void>
}

const STATUS_FIELD = /^(VmRSS|VmHWM):\s+(\d+) kB$/gm

async function readMemory(pid: number): Promise<{ rss: number; hwm: number }> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8')
  const values: Record<string, number> = {}
  for (const match of text.matchAll(STATUS_FIELD)) {
    values[match[1]] = Number(match[2]) * 1024
  }

  return { rss: values.VmRSS ?? 0, hwm: values.VmHWM ?? 0 }
}

/**
 * Tracks peak RSS of one process. Writing 5 to /proc/PID/clear_refs resets
 * VmHWM (Linux 4.0 and later), so the peak includes spikes that a sampler
 * misses. Where that write is not allowed, VmRSS sampled every 20 ms is used.
 */
class PeakRssMeter {
  private sampledPeak = 0
  private canResetHwm = true
  private readonly timer: NodeJS.Timeout

  constructor(private readonly pid: number) {
    this.timer = setInterval(() => {
      readMemory(pid)
        .then(({ rss }) => {
          this.sampledPeak = Math.max(this.sampledPeak, rss)
        })
        .catch(() => {})
    }, 20)
    this.timer.unref()
  }

  async reset() {
    this.sampledPeak = (await readMemory(this.pid)).rss
    if (this.canResetHwm) {
      await writeFile(`/proc/${this.pid}/clear_refs`, '5').catch(() => {
        this.canResetHwm = false
      })
    }
  }

  async read(): Promise<number> {
    const { rss, hwm } = await readMemory(this.pid)
    const sampled = Math.max(this.sampledPeak, rss)

    return this.canResetHwm ? Math.max(hwm, sampled) : sampled
  }

  stop() {
    clearInterval(this.timer)
  }
}

export interface StartOptions {
  name: string
  args: string[]
  env: NodeJS.ProcessEnv
  /** Returns the port from one stdout line once the process listens, or null. */
  readPort: (line: string) => number | null
}

/** Starts a Node child process and resolves once it reports its port. */
export async function startService(options: StartOptions): Promise<ServiceProcess> {
  const child = spawn(process.execPath, options.args, {
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const stderr: string[] = []
  child.stderr?.on('data', (chunk) => {
    stderr.push(String(chunk))
    if (stderr.length > 200) {
      stderr.shift()
    }
  })

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${options.name} did not start: ${stderr.join('')}`)), 60_000)
    child.once('exit', (code) => reject(new Error(`${options.name} exited with ${code}: ${stderr.join('')}`)))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const found = options.readPort(line)
      if (found !== null) {
        clearTimeout(timer)
        resolve(found)
      }
    })
  })
  const meter = new PeakRssMeter(child.pid as number)

  return {
    url: `http://127.0.0.1:${port}`,
    child,
    resetPeak: () => meter.reset(),
    readPeak: () => meter.read(),
    stop: () =>
      new Promise<void>((resolve) => {
        meter.stop()
        if (child.exitCode !== null) {
          resolve()

          return
        }
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

/** Reads `{"port": N}` or the gateway's `gateway listening` log line. */
export function readPortLine(line: string): number | null {
  try {
    const entry = JSON.parse(line)
    if (typeof entry.port === 'number' && (entry.msg === undefined || entry.msg === 'gateway listening')) {
      return entry.port
    }
  } catch {
    // Not a JSON line.
  }

  return null
}

/** Runs a Node script to its end and parses the JSON object on its last stdout line. */
export async function runNodeScript<T>(args: string[], env: NodeJS.ProcessEnv): Promise<T> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const stdout: string[] = []
  const stderr: string[] = []
  child.stdout.on('data', (chunk) => stdout.push(String(chunk)))
  child.stderr.on('data', (chunk) => stderr.push(String(chunk)))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) {
    throw new Error(`${args.join(' ')} exited with ${code}: ${stderr.join('')}`)
  }
  const lines = stdout.join('').trim().split('\n')

  return JSON.parse(lines[lines.length - 1]) as T
}
