/**
 * `media-gateway upload FILE`: a resumable tus upload from the command line.
 * tus-js-client records each started upload in a JSON file, under a fingerprint
 * of the file's path, size, modification time and endpoint. Running the same
 * command again after Ctrl-C or a dropped connection therefore continues from
 * the offset the server has stored instead of sending the file again.
 */
import { createReadStream } from 'node:fs'
import { mkdir, stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { basename, dirname, extname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { fileTypeFromFile } from 'file-type'
import * as tus from 'tus-js-client'
import { UsageError } from './admin-commands.js'

export const UPLOAD_USAGE = `  upload FILE --url URL [--token TOKEN] [--type MIME] [--folder PATH] [--tags a,b]
              [--visibility public|private] [--chunk-size BYTES] [--state-file PATH]
                              Upload a file through tus, resuming an earlier run
                              of the same file. The token may come from
                              MEDIA_GATEWAY_TOKEN instead of --token.`

/** Chunk size of each PATCH: 8 MiB, so a dropped connection costs at most one chunk. */
const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024
/** Waits between retries of a failed request, in milliseconds. */
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10_000, 20_000]
/** Without a terminal, a progress line at most this often, in milliseconds. */
const PLAIN_PROGRESS_INTERVAL_MS = 5000

/** Types with no magic number, which file-type cannot detect, by file extension. */
const TEXT_TYPES_BY_EXTENSION: Record<string, string> = {
  '.txt': 'text/plain',
  '.csv': 'text/csv',
  '.md': 'text/markdown',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
}

/** tus-js-client's Node build exports this class, but its type declarations leave it out. */
const { FileUrlStorage } = tus as unknown as { FileUrlStorage: new (path: string) => tus.UrlStorage }

interface UploadArguments {
  path: string
  endpoint: string
  baseUrl: string
  token: string
  contentType: string | undefined
  folder: string | undefined
  tags: string | undefined
  visibility: string | undefined
  chunkSize: number
  stateFile: string
}

/** Returns where started uploads are remembered: MEDIA_GATEWAY_UPLOAD_STATE, or the XDG state folder. */
export function defaultStateFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MEDIA_GATEWAY_UPLOAD_STATE) {
    return resolve(env.MEDIA_GATEWAY_UPLOAD_STATE)
  }
  const stateHome = env.XDG_STATE_HOME || join(homedir(), '.local', 'state')

  return join(stateHome, 'media-gateway', 'tus-uploads.json')
}

function parseUploadArguments(argv: string[]): UploadArguments {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true })
  } catch (error) {
    throw new UsageError((error as Error).message)
  }

  const { values, positionals } = parsed
  if (positionals.length !== 1) {
    throw new UsageError('upload takes exactly one FILE.')
  }
  if (!values.url) {
    throw new UsageError('upload needs --url, the gateway URL such as http://127.0.0.1:8080.')
  }
  const token = values.token ?? process.env.MEDIA_GATEWAY_TOKEN
  if (!token) {
    throw new UsageError('upload needs a token: give --token or set MEDIA_GATEWAY_TOKEN.')
  }
  let baseUrl: URL
  try {
    baseUrl = new URL(values.url)
  } catch {
    throw new UsageError(`Invalid --url "${values.url}": give the gateway URL such as http://127.0.0.1:8080.`)
  }
  const chunkSize = Number(values['chunk-size'] ?? DEFAULT_CHUNK_SIZE)
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new UsageError(`Invalid --chunk-size "${values['chunk-size']}": give a whole number of bytes.`)
  }
  const base = baseUrl.href.replace(/\/+$/, '')

  return {
    path: resolve(positionals[0]),
    endpoint: `${base}/media/uploads`,
    baseUrl: base,
    token,
    contentType: values.type,
    folder: values.folder,
    tags: values.tags,
    visibility: values.visibility,
    chunkSize,
    stateFile: values['state-file'] ? resolve(values['state-file']) : defaultStateFile(),
  }
}

const OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  type: { type: 'string' },
  folder: { type: 'string' },
  tags: { type: 'string' },
  visibility: { type: 'string' },
  'chunk-size': { type: 'string' },
  'state-file': { type: 'string' },
} as const

/** Detects the type to declare: by magic number, or by extension for text types. */
async function detectContentType(path: string): Promise<string> {
  const detected = await fileTypeFromFile(path)
  if (detected) {
    return detected.mime
  }
  const byExtension = TEXT_TYPES_BY_EXTENSION[extname(path).toLowerCase()]
  if (byExtension) {
    return byExtension
  }
  throw new UploadFailure(`Could not detect the type of ${path}. Declare it with --type, such as --type video/mp4.`)
}

/** A failure to report in one line and exit 1, with no stack trace. */
export class UploadFailure extends Error {
  override name = 'UploadFailure'
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }

  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) {
    return '--:--'
  }
  const whole = Math.round(seconds)
  const hours = Math.floor(whole / 3600)
  const minutes = Math.floor((whole % 3600) / 60)
  const rest = String(whole % 60).padStart(2, '0')

  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`
}

/**
 * Draws progress on stderr: redrawn in place on a terminal, otherwise a plain
 * line every few seconds. The rate counts only the bytes of this run.
 */
class ProgressLine {
  private readonly isTerminal = process.stderr.isTTY === true
  private firstSample: { bytes: number; at: number } | null = null
  private lastPlainAt = 0

  update(bytesSent: number, bytesTotal: number, isFinal = false) {
    const now = Date.now()
    this.firstSample ??= { bytes: bytesSent, at: now }
    const elapsedSeconds = (now - this.firstSample.at) / 1000
    const rate = elapsedSeconds > 0 ? (bytesSent - this.firstSample.bytes) / elapsedSeconds : 0
    const percent = bytesTotal > 0 ? (bytesSent / bytesTotal) * 100 : 100
    const secondsLeft = rate > 0 ? (bytesTotal - bytesSent) / rate : Number.POSITIVE_INFINITY
    const line =
      `${formatBytes(bytesSent)} / ${formatBytes(bytesTotal)}  ${percent.toFixed(1)}%  ` +
      `${formatBytes(Math.round(rate))}/s  ${formatDuration(secondsLeft)} left`

    if (this.isTerminal) {
      process.stderr.write(`\r\u001b[2K${line}${isFinal ? '\n' : ''}`)

      return
    }
    if (isFinal || now - this.lastPlainAt >= PLAIN_PROGRESS_INTERVAL_MS) {
      this.lastPlainAt = now
      process.stderr.write(`${line}\n`)
    }
  }

  /** Ends a line drawn in place, so the next message starts on its own line. */
  finish() {
    if (this.isTerminal && this.firstSample) {
      process.stderr.write('\n')
    }
  }
}

/** Describes a failed tus request by the API's error envelope when there is one. */
function describeFailure(error: Error, token: string): string {
  const response = (error as tus.DetailedError).originalResponse
  let message = error.message
  if (response) {
    const body = response.getBody()
    try {
      const envelope = JSON.parse(body) as { error?: { code?: string; message?: string } }
      if (envelope.error?.code) {
        message = `${envelope.error.code}: ${envelope.error.message ?? ''} (HTTP ${response.getStatus()})`
      }
    } catch {
      message = `HTTP ${response.getStatus()}: ${body.slice(0, 200)}`
    }
  }

  return message.split(token).join('[redacted]')
}

/** Reads the committed file object of a finished upload. */
async function fetchFileObject(baseUrl: string, uploadUrl: string, token: string): Promise<unknown> {
  const id = uploadUrl.slice(uploadUrl.lastIndexOf('/') + 1)
  const response = await fetch(`${baseUrl}/media/${encodeURIComponent(id)}`, {
    headers: { Authorization: `Bearer ${token}` },
  })
  const text = await response.text()
  if (!response.ok) {
    throw new UploadFailure(`The upload finished, but GET /media/${id} returned HTTP ${response.status}: ${text.slice(0, 200)}`)
  }

  return JSON.parse(text)
}

/** Runs `upload`; resolves with the process exit code. */
export async function runUploadCommand(argv: string[]): Promise<number> {
  const options = parseUploadArguments(argv)
  let size: number
  try {
    const info = await stat(options.path)
    if (!info.isFile()) {
      throw new UploadFailure(`${options.path} is not a regular file.`)
    }
    size = info.size
  } catch (error) {
    if (error instanceof UploadFailure) {
      throw error
    }
    throw new UploadFailure(`Cannot read ${options.path}: ${(error as Error).message}`)
  }
  const contentType = options.contentType ?? (await detectContentType(options.path))
  await mkdir(dirname(options.stateFile), { recursive: true })

  const metadata: Record<string, string> = { filename: basename(options.path), filetype: contentType }
  for (const [key, value] of [
    ['folder', options.folder],
    ['tags', options.tags],
    ['visibility', options.visibility],
  ] as const) {
    if (value !== undefined) {
      metadata[key] = value
    }
  }

  const progress = new ProgressLine()
  const uploadUrl = await new Promise<string>((resolvePromise, reject) => {
    const upload = new tus.Upload(createReadStream(options.path), {
      endpoint: options.endpoint,
      uploadSize: size,
      chunkSize: options.chunkSize,
      retryDelays: RETRY_DELAYS,
      headers: { Authorization: `Bearer ${options.token}` },
      metadata,
      urlStorage: new FileUrlStorage(options.stateFile),
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onProgress: (bytesSent, bytesTotal) => progress.update(bytesSent, bytesTotal),
      onShouldRetry: (error, attempt) => {
        const status = (error as tus.DetailedError).originalResponse?.getStatus() ?? 0
        const willRetry = status === 0 || status === 409 || status === 423 || status >= 500
        if (willRetry) {
          progress.finish()
          const delay = RETRY_DELAYS[attempt] ?? 0
          process.stderr.write(`retrying in ${delay / 1000} s (attempt ${attempt + 1}): ${describeFailure(error, options.token)}\n`)
        }

        return willRetry
      },
      onError: (error) => {
        progress.finish()
        reject(new UploadFailure(`upload failed: ${describeFailure(error, options.token)}`))
      },
      onSuccess: () => {
        progress.update(size, size, true)
        resolvePromise(upload.url as string)
      },
    })

    // Ctrl-C stops sending; the server keeps the bytes, and the next run resumes from them.
    process.once('SIGINT', () => {
      progress.finish()
      upload.abort(false).finally(() => {
        process.stderr.write('interrupted: run the same command again to resume\n')
        process.exit(130)
      })
    })

    upload
      .findPreviousUploads()
      .then((previous) => {
        const latest = previous.sort((a, b) => Date.parse(b.creationTime) - Date.parse(a.creationTime))[0]
        if (latest) {
          process.stderr.write(`resuming ${latest.uploadUrl}\n`)
          upload.resumeFromPreviousUpload(latest)
        }
        upload.start()
      })
      .catch(reject)
  })

  const file = await fetchFileObject(options.baseUrl, uploadUrl, options.token)
  process.stdout.write(`${JSON.stringify(file, null, 2)}\n`)

  return 0
}
