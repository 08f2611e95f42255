/**
 * A raw HTTP/1.1 client on node:net, for requests that fetch and http.request
 * would normalise or refuse to send: duplicate or malformed headers, a body
 * that disagrees with its Content-Length, hand-made chunked framing. It sends
 * exactly the bytes given and parses whatever response comes back.
 */
import { connect } from 'node:net'

export interface RawRequest {
  method: string
  /** The request target as sent, such as `/media?x=1`; never encoded or checked. */
  target: string
  /** Header lines in order; a name may repeat. Host is added unless present. */
  headers?: [string, string][]
  /** The body bytes. Content-Length is added for them unless `contentLength` is set. */
  body?: Buffer | string
  /** A number to declare instead of the body's length, or `null` to send none. */
  contentLength?: number | null
  /** Send the body with `Transfer-Encoding: chunked`, split into these chunks. */
  chunks?: (Buffer | string)[]
  /** Send no Host header at all. */
  isHostOmitted?: boolean
  /** Half-close the connection after sending, as a client that has nothing more to send. */
  isHalfClosedAfterBody?: boolean
}

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: Buffer
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown
  /** Statuses of interim responses before this one, such as 100 Continue. */
  interimStatuses: number[]
}

const DEFAULT_TIMEOUT_MS = 15_000

/** Builds the request's bytes exactly as they go on the wire. */
export function encodeRequest(request: RawRequest, host: string): Buffer {
  const headers = [...(request.headers ?? [])]
  const has = (name: string) => headers.some(([key]) => key.toLowerCase() === name)
  if (!has('host') && !request.isHostOmitted) {
    headers.unshift(['Host', host])
  }
  const body = request.body === undefined ? Buffer.alloc(0) : Buffer.from(request.body as string)
  if (request.chunks) {
    headers.push(['Transfer-Encoding', 'chunked'])
  } else if (request.contentLength !== null && !has('content-length')) {
    const length = request.contentLength ?? body.length
    if (request.body !== undefined || request.contentLength !== undefined) {
      headers.push(['Content-Length', String(length)])
    }
  }

  const head = `${request.method} ${request.target} HTTP/1.1\r\n${headers.map(([key, value]) => `${key}: ${value}\r\n`).join('')}\r\n`
  const parts = [Buffer.from(head, 'latin1')]
  if (request.chunks) {
    for (const chunk of request.chunks) {
      const bytes = Buffer.from(chunk as string)
      parts.push(Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n'))
    }
    parts.push(Buffer.from('0\r\n\r\n'))
  } else {
    parts.push(body)
  }

  return Buffer.concat(parts)
}

/**
 * Parses one response from the bytes received so far. Returns null until the
 * whole response is there, unless the connection has ended.
 */
function parseResponse(data: Buffer, hasEnded: boolean, isHead: boolean): RawResponse | null {
  let start = 0
  const interimStatuses: number[] = []
  for (;;) {
    const headEnd = data.indexOf('\r\n\r\n', start)
    if (headEnd === -1) {
      return null
    }
    const lines = data.subarray(start, headEnd).toString('latin1').split('\r\n')
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1])
    const headers: Record<string, string> = {}
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':')
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value
    }
    const bodyStart = headEnd + 4
    // An interim 100 Continue precedes the real response.
    if (status >= 100 && status < 200) {
      interimStatuses.push(status)
      start = bodyStart

      continue
    }

    // A HEAD response and a 204 or 304 have no body, whatever their headers state.
    const isBodyless = isHead || status === 204 || status === 304
    const body = isBodyless ? Buffer.alloc(0) : readBody(data.subarray(bodyStart), headers, hasEnded)
    if (!body) {
      return null
    }
    let json: unknown
    try {
      json = JSON.parse(body.toString('utf8'))
    } catch {
      json = undefined
    }

    return { status, headers, body, json, interimStatuses }
  }
}

function readBody(data: Buffer, headers: Record<string, string>, hasEnded: boolean): Buffer | null {
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
    const chunks: Buffer[] = []
    let at = 0
    for (;;) {
      const lineEnd = data.indexOf('\r\n', at)
      if (lineEnd === -1) {
        return hasEnded ? Buffer.concat(chunks) : null
      }
      const size = Number.parseInt(data.subarray(at, lineEnd).toString('latin1'), 16)
      if (size === 0) {
        return Buffer.concat(chunks)
      }
      if (data.length < lineEnd + 2 + size + 2) {
        return hasEnded ? Buffer.concat(chunks) : null
      }
      chunks.push(data.subarray(lineEnd + 2, lineEnd + 2 + size))
      at = lineEnd + 2 + size + 2
    }
  }
  if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length'])
    if (data.length >= length) {
      return data.subarray(0, length)
    }

    return hasEnded ? data : null
  }

  return hasEnded ? data : null
}

/**
 * Sends a raw request to `baseUrl` and resolves with the first final
 * response. Rejects when the server closes or resets the connection without
 * one, or after the timeout.
 */
export function sendRaw(baseUrl: string, request: RawRequest, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RawResponse> {
  const url = new URL(baseUrl)
  const bytes = encodeRequest(request, url.host)

  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) })
    const received: Buffer[] = []
    let isSettled = false
    const settle = (error: Error | null, response?: RawResponse) => {
      if (isSettled) {
        return
      }
      isSettled = true
      clearTimeout(timer)
      socket.destroy()
      if (error) {
        reject(error)
      } else {
        resolve(response as RawResponse)
      }
    }
    const timer = setTimeout(() => settle(new Error(`no response within ${timeoutMs} ms`)), timeoutMs)
    const tryParse = (hasEnded: boolean) => {
      const response = parseResponse(Buffer.concat(received), hasEnded, request.method === 'HEAD')
      if (response) {
        settle(null, response)
      } else if (hasEnded) {
        settle(new Error(`connection ended without a complete response (${Buffer.concat(received).length} bytes)`))
      }
    }

    socket.on('connect', () => {
      // A server that responds early and closes may reset the rest of the write, so only the response counts.
      socket.write(bytes, () => {
        if (request.isHalfClosedAfterBody) {
          socket.end()
        }
      })
    })
    socket.on('data', (chunk) => {
      received.push(chunk)
      tryParse(false)
    })
    socket.on('end', () => tryParse(true))
    socket.on('error', (error) => {
      if (received.length > 0) {
        tryParse(true)
      }
      settle(error)
    })
    socket.on('close', () => tryParse(true))
  })
}
