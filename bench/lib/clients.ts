/** The HTTP clients of the benchmarks: multipart POST, raw PUT and tus-js-client. */
import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { Agent, request } from 'node:http'
import { PassThrough, Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import * as tus from 'tus-js-client'

export const agent = new Agent({ keepAlive: true, maxSockets: 64 })

export interface HttpResult {
  status: number
  body: string
  seconds: number
}

/** Sends a request whose body is `body` and returns the status, text and elapsed seconds. */
function send(
  url: string,
  method: string,
  headers: Record<string, string | number>,
  body: Readable | Buffer,
): Promise<HttpResult> {
  const started = process.hrtime.bigint()

  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), seconds })
      })
    })
    req.on('error', reject)
    if (Buffer.isBuffer(body)) {
      req.end(body)
    } else {
      pipeline(body, req).catch(reject)
    }
  })
}

/** POSTs one file as `multipart/form-data` to the gateway, streaming it from disk or memory. */
export function postMultipart(
  baseUrl: string,
  token: string,
  file: { path: string; size: number } | Buffer,
  contentType: string,
  fileName: string,
): Promise<HttpResult> {
  const boundary = `----bench${randomBytes(12).toString('hex')}`
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\n` +
      `Content-Type: ${contentType}\r\n\r\n`,
  )
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  const size = Buffer.isBuffer(file) ? file.length : file.size
  const headers = {
    authorization: `Bearer ${token}`,
    'content-type': `multipart/form-data; boundary=${boundary}`,
    'content-length': head.length + size + tail.length,
  }
  if (Buffer.isBuffer(file)) {
    return send(`${baseUrl}/media`, 'POST', headers, Buffer.concat([head, file, tail]))
  }

  const body = new PassThrough()
  body.write(head)
  const source = createReadStream(file.path)
  source.pipe(body, { end: false })
  source.on('error', (error) => body.destroy(error))
  source.on('end', () => body.end(tail))

  return send(`${baseUrl}/media`, 'POST', headers, body)
}

/** PUTs bytes to the bare Koa baseline. */
export function putObject(baseUrl: string, body: Buffer, contentType: string): Promise<HttpResult> {
  return send(`${baseUrl}/objects/image`, 'PUT', { 'content-type': contentType, 'content-length': body.length }, body)
}

/** GETs a JSON document with a bearer token. */
export async function getJson(url: string, token: string): Promise<{ status: number; json: unknown }> {
  const result = await send(url, 'GET', { authorization: `Bearer ${token}` }, Buffer.alloc(0))

  return { status: result.status, json: result.body ? JSON.parse(result.body) : null }
}

export interface TusResult {
  seconds: number
  /** Seconds from sending each PATCH to its response, in order. */
  patchSeconds: number[]
  /** The last Upload-Offset a successful PATCH returned. */
  lastOffset: number
  url: string | null
  /** Status and body of a failed request, if the upload failed. */
  failure: { status: number; body: string } | null
}

export interface TusUploadOptions {
  endpoint: string
  path: string
  chunkSize: number
  metadata: Record<string, string>
  headers?: Record<string, string>
}

/** Uploads one file with tus-js-client, one PATCH at a time, without retries. */
export function tusUpload(options: TusUploadOptions): Promise<TusResult> {
  const patchStarts = new Map<unknown, bigint>()
  const result: TusResult = { seconds: 0, patchSeconds: [], lastOffset: 0, url: null, failure: null }
  const started = process.hrtime.bigint()

  return new Promise((resolve) => {
    const upload = new tus.Upload(createReadStream(options.path), {
      endpoint: options.endpoint,
      headers: options.headers ?? {},
      metadata: options.metadata,
      chunkSize: options.chunkSize,
      retryDelays: [],
      storeFingerprintForResuming: false,
      onBeforeRequest: (req) => {
        if (req.getMethod() === 'PATCH') {
          patchStarts.set(req, process.hrtime.bigint())
        }
      },
      onAfterResponse: (req, res) => {
        const patchStarted = patchStarts.get(req)
        if (patchStarted !== undefined) {
          result.patchSeconds.push(Number(process.hrtime.bigint() - patchStarted) / 1e9)
          if (res.getStatus() === 204) {
            result.lastOffset = Number(res.getHeader('Upload-Offset'))
          }
        }
        if (res.getStatus() >= 400) {
          result.failure = { status: res.getStatus(), body: res.getBody() }
        }
      },
      onError: (error) => {
        result.seconds = Number(process.hrtime.bigint() - started) / 1e9
        result.url = upload.url
        result.failure ??= { status: 0, body: error.message }
        resolve(result)
      },
      onSuccess: () => {
        result.seconds = Number(process.hrtime.bigint() - started) / 1e9
        result.url = upload.url
        resolve(result)
      },
    })
    upload.start()
  })
}

/** Runs `count` tasks with at most `concurrency` at once; returns the elapsed seconds. */
export async function runConcurrently(count: number, concurrency: number, task: () => Promise<void>) {
  let next = 0
  const started = process.hrtime.bigint()
  const worker = async () => {
    while (next < count) {
      next += 1
      await task()
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))

  return Number(process.hrtime.bigint() - started) / 1e9
}
