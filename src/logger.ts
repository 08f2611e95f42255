import { type DestinationStream, pino, type Logger } from 'pino'

export type { Logger }

/**
 * Creates the JSON logger, writing to stdout unless given another destination
 * (tests pass one to read the lines). Secrets in headers and signed URLs never reach it.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'media-gateway' },
    redact: {
      paths: [
        'req.headers.authorization',
        'headers.authorization',
        'authorization',
        'token',
        '*.token',
        'signedUrl',
        '*.signedUrl',
      ],
      censor: '[redacted]',
    },
  }

  return destination ? pino(options, destination) : pino(options)
}
