import { pino, type Logger } from 'pino'

export type { Logger }

/** JSON logs to stdout; secrets in headers and signed URLs never reach them. */
export function createLogger(level: string): Logger {
  return pino({
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
  })
}
