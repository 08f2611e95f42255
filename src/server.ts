import type { Config } from './config.js'
import { createGateway } from './gateway.js'
import { createHttpServer } from './http/node-server.js'
import type { Logger } from './logger.js'

export class ListenError extends Error {
  override name = 'ListenError'
}

/** Starts the gateway and serves until SIGINT or SIGTERM; resolves once it is listening. */
export async function serve(config: Config, logger: Logger) {
  const gateway = await createGateway(config, logger)
  const server = createHttpServer(gateway.app.callback(), logger)

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
    logger.info({ type: 'lifecycle', signal }, 'gateway stopping')
    server.close(async () => {
      await gateway.close()
      logger.info({ type: 'lifecycle' }, 'gateway stopped')
      process.exit(0)
    })
    server.closeIdleConnections()
    // NOTE: uploads in flight are cut after this grace period; a tus client resumes on the next process.
    setTimeout(() => server.closeAllConnections(), 10_000).unref()
  }
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))

  return { server, gateway, port }
}
