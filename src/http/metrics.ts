import type { Context, Next } from 'koa'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export type Door = 'multipart' | 'tus'

/**
 * Prometheus metrics of one gateway, in a registry of its own so that two
 * gateways in one process (tests) count apart.
 */
export class GatewayMetrics {
  readonly registry = new Registry()
  readonly receivedBytes = new Counter({
    name: 'media_gateway_received_bytes_total',
    help: 'File bytes received, by door.',
    labelNames: ['door'],
    registers: [this.registry],
  })
  readonly uploads = new Counter({
    name: 'media_gateway_uploads_total',
    help: 'Finished upload attempts, by door, outcome (stored, rejected, failed) and error code.',
    labelNames: ['door', 'outcome', 'reason'],
    registers: [this.registry],
  })
  readonly uploadDuration = new Histogram({
    name: 'media_gateway_upload_request_duration_seconds',
    help: 'Duration of upload requests (POST /media, tus POST and PATCH), by door.',
    labelNames: ['door'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  })
  readonly inFlight = new Gauge({
    name: 'media_gateway_upload_requests_in_flight',
    help: 'Upload requests being received now, by door.',
    labelNames: ['door'],
    registers: [this.registry],
  })
  readonly backendErrors = new Counter({
    name: 'media_gateway_backend_errors_total',
    help: 'Requests that failed because object storage or the database failed (503).',
    registers: [this.registry],
  })

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'media_gateway_' })
  }
}

function doorOf(ctx: Context): Door | null {
  if (ctx.method === 'POST' && ctx.path === '/media') {
    return 'multipart'
  }
  const isTusWrite = ctx.method === 'POST' || ctx.method === 'PATCH'
  if (isTusWrite && (ctx.path === '/media/uploads' || ctx.path.startsWith('/media/uploads/'))) {
    return 'tus'
  }

  return null
}

/**
 * Counts upload requests once their response is known. A multipart request
 * is stored or rejected as a whole; a tus upload is stored by the request
 * that brings its last byte, and rejected by any request that ends it.
 */
export function measureUploads(metrics: GatewayMetrics) {
  return async (ctx: Context, next: Next) => {
    const door = doorOf(ctx)
    if (!door) {
      await next()

      return
    }

    metrics.inFlight.inc({ door })
    const endTimer = metrics.uploadDuration.startTimer({ door })
    try {
      await next()
    } finally {
      metrics.inFlight.dec({ door })
      endTimer()
      record(metrics, ctx, door)
    }
  }
}

function record(metrics: GatewayMetrics, ctx: Context, door: Door) {
  if (typeof ctx.state.bytesIn === 'number' && ctx.state.bytesIn > 0) {
    metrics.receivedBytes.inc({ door }, ctx.state.bytesIn)
  }
  if (ctx.status >= 500) {
    metrics.uploads.inc({ door, outcome: 'failed', reason: ctx.state.error?.code ?? 'internal' })
    if (ctx.status === 503) {
      metrics.backendErrors.inc()
    }

    return
  }
  if (ctx.status >= 400) {
    // A 409 or 412 is tus flow control, not the end of an upload.
    const isFinal = door === 'multipart' || ![409, 412].includes(ctx.status)
    if (isFinal) {
      metrics.uploads.inc({ door, outcome: 'rejected', reason: ctx.state.error?.code ?? String(ctx.status) })
    }

    return
  }

  const isStored = door === 'multipart' || ctx.state.isUploadFinished === true
  if (isStored) {
    metrics.uploads.inc({ door, outcome: 'stored', reason: '' })
  }
}
