import type { Config } from './config.js'
import { createGateway } from './gateway.js'
import { createHttpServer } from './http/node-server.js'
import type { Logger } from './logger.js'

/**
 * After the grace period cuts the last connections, how long their handlers
 * may take to record what they stored (offset, hash state) before the
 * database and the locker close under them.
 */
const SETTLE_AFTER_CUT_MS = 3000

export class ListenError extends Error {
  override name = 'ListenError'
}

/** Starts the gateway and serves until SIGINT or SIGTERM; resolves once it is listening. */
export async function serve(config: Config, logger: Logger) {
  const gateway = await createGateway(config, logger)
  const handle = gateway.app.callback()
  const handlers = new Set<Promise<void>>()
  const server = createHttpServer((req, res) => {
    const handler = handle(req, res).finally(() => handlers.delete(handler))
    handlers.add(handler)
  }, logger)

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(config.port, config.host, resolve)
    })
  } catch (error) {
    await gateway.close()
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new ListenError(
        `Port ${config.port} on ${config.host} is already in use. Stop the other server or set PORT.`,
      )
    }
    throw error
  }
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : config.port
  logger.info(
    {
      type: 'lifecycle',
      host: config.host,
      port,
      database: gateway.database.kind,
      storage: config.s3 ? 's3' : 'local',
      dataDir: config.s3 && config.databaseUrl ? undefined : config.dataDir,
    },
    'gateway listening',
  )

  let isStopping = false
  const stop = (signal: string) => {
    if (isStopping) {
      return
    }
    isStopping = true
    gateway.startDraining()
    logger.info(
      { type: 'lifecycle', signal, graceMs: config.shutdownGraceMs, requestsInFlight: handlers.size },
      'gateway draining: no new connections, requests in flight may finish',
    )
    // Stops listening at once; the callback runs when the last connection has closed.
    server.close(async () => {
      await waitForHandlers(handlers, SETTLE_AFTER_CUT_MS)
      await gateway.close()
      logger.info({ type: 'lifecycle' }, 'gateway stopped')
      process.exit(0)
    })
    server.closeIdleConnections()
    // NOTE: an upload still in flight after the grace period is cut; a tus client resumes on the next process.
    setTimeout(() => {
      logger.warn(
        { type: 'lifecycle', requestsInFlight: handlers.size },
        'grace period over; closing the remaining connections',
      )
      server.closeAllConnections()
    }, config.shutdownGraceMs).unref()
  }
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))

  return { server, gateway, port }
}

/** Waits until every request handler has settled, or for at most `timeoutMs`. */
async function waitForHandlers(handlers: Set<Promise<void>>, timeoutMs: number) {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs)
  })
  await Promise.race([Promise.allSettled([...handlers]), timeout])
  clearTimeout(timer)
}
