/**
 * Baseline: bare @tus/server with @tus/s3-store and nothing else (no auth,
 * no inspection, no database), on a free port of 127.0.0.1. Prints
 * `{"port": N}` once it listens. Keys start with BENCH_PREFIX.
 */
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { Server } from '@tus/server'
import { S3Store } from '@tus/s3-store'
import { BUCKET, s3ClientConfig } from './s3-config.mjs'

const prefix = process.env.BENCH_PREFIX || 'bench-tus'
const partSize = Number(process.env.BENCH_PART_SIZE || 8 * 1024 * 1024)

const tus = new Server({
  path: '/files',
  datastore: new S3Store({ partSize, useTags: false, s3ClientConfig: { ...s3ClientConfig(), bucket: BUCKET } }),
  namingFunction: () => `${prefix}/${randomUUID()}`,
  generateUrl: (_req, { proto, host, path, id }) => `${proto}://${host}${path}/${encodeURIComponent(id)}`,
  getFileIdFromRequest: (_req, lastPath) => (lastPath ? decodeURIComponent(lastPath) : undefined),
})

const server = createServer((req, res) => tus.handle(req, res))
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: server.address().port }))
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
