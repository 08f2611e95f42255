/**
 * The Node HTTP server around the Koa app. Node responds to some requests
 * itself, before any middleware runs: malformed HTTP, headers over its 16 KiB
 * limit, CONNECT, and an unknown Expect. Here each of those responses carries
 * the JSON error envelope too. `100 Continue` is sent only once the app starts
 * to read the body, so a request rejected from its headers alone gets its
 * error before the client sends any body.
 */
import { type IncomingMessage, type RequestListener, type Server, type ServerResponse, createServer } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { AppError, type ErrorCode } from '../errors.js'
import type { Logger } from '../logger.js'

/** A socket that sends and receives nothing for this long is closed. */
const IDLE_SOCKET_TIMEOUT_MS = 120_000

/** Writes a whole response with the envelope on a socket that has no response object, then closes it. */
function writeRawError(socket: Duplex, error: AppError) {
  const body = JSON.stringify(error.toEnvelope())
  const headers = [
    `HTTP/1.1 ${error.status} ${STATUS_TEXT[error.status] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...Object.entries(error.headers).map(([name, value]) => `${name}: ${value}`),
  ]
  socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`)
  // The server's sockets allow half-open connections, so the read side is closed here.
  socket.once('finish', () => socket.destroy())
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  417: 'Expectation Failed',
  431: 'Request Header Fields Too Large',
}

/** Maps an error of Node's HTTP parser to the error sent to the client. */
export function toParseError(error: NodeJS.ErrnoException): AppError {
  const reason = (error as { reason?: string }).reason ?? error.message
  const errors: Record<string, [ErrorCode, string]> = {
    HPE_HEADER_OVERFLOW: [
      'header_too_large',
      'The request line and headers are over the 16 KiB limit. Send a shorter URL or fewer headers.',
    ],
    ERR_HTTP_REQUEST_TIMEOUT: ['request_timeout', 'The request headers did not arrive in time.'],
    HPE_INVALID_METHOD: ['bad_request', 'Unknown HTTP method.'],
  }
  const [code, message] = errors[error.code ?? ''] ?? ['bad_request', `Malformed HTTP request: ${reason}.`]

  return new AppError(code, message)
}

/** Socket errors of a connection that is already closed, so no response can be sent on it. */
const CLOSED_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE'])

/** Requests with `Expect: 100-continue` whose body the app has not started to read. */
const awaitingContinue = new WeakSet<IncomingMessage>()

/** Tells whether a request still waits for `100 Continue`, so its client has sent no body. */
export function isAwaitingContinue(req: IncomingMessage): boolean {
  return awaitingContinue.has(req)
}

/**
 * Sends `100 Continue` on the first read of the body. A request rejected
 * without reading its body never gets one, and Node then closes the
 * connection after the response, so the client does not send that body.
 */
function continueOnFirstRead(req: IncomingMessage, res: ServerResponse) {
  awaitingContinue.add(req)
  const read = req.read
  req.read = function readAfterContinue(this: IncomingMessage, size?: number) {
    req.read = read
    awaitingContinue.delete(req)
    if (!res.headersSent && !res.writableEnded) {
      res.writeContinue()
    }

    return read.call(this, size)
  }
}

/**
 * Creates the server for a request listener: idle sockets time out, and
 * every response Node would send itself carries the error envelope.
 */
export function createHttpServer(listener: RequestListener, logger: Logger): Server {
  // The app checks Host itself, so a request without one gets the envelope.
  const server = createServer({ requireHostHeader: false }, listener)
  // Large uploads over slow links take long, so only idle sockets time out. A client that
  // stalls mid-body would otherwise hold its connection and quota reservation forever.
  server.requestTimeout = 0
  server.setTimeout(IDLE_SOCKET_TIMEOUT_MS)

  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    // A response already started cannot be replaced, so the client sees the connection close.
    // `_httpMessage` is the response in flight on this socket. Node 20's own handler reads it too.
    const inFlight = (socket as { _httpMessage?: ServerResponse })._httpMessage
    if (CLOSED_SOCKET_CODES.has(error.code ?? '') || !socket.writable || inFlight?.headersSent) {
      socket.destroy()

      return
    }
    const appError = toParseError(error)
    logger.warn(
      { type: 'request', status: appError.status, errorCode: appError.code, errorMessage: error.message },
      'request rejected',
    )
    writeRawError(socket, appError)
  })

  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    writeRawError(
      socket,
      new AppError('method_not_allowed', 'CONNECT is not supported: this server is not a proxy.'),
    )
  })

  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    continueOnFirstRead(req, res)
    listener(req, res)
  })

  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const error = new AppError(
      'expectation_failed',
      `Expect: ${String(req.headers.expect).slice(0, 100)} is not supported; only 100-continue is.`,
    )
    const body = JSON.stringify(error.toEnvelope())
    res.writeHead(error.status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      Connection: 'close',
    })
    res.end(body)
  })

  return server
}
