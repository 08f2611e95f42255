/**
 * Baseline: a bare Koa handler that streams each request body into S3 with
 * one PutObject, at PUT /objects/NAME. Prints `{"port": N}` once it listens.
 */
import { randomUUID } from 'node:crypto'
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import Koa from 'koa'
import { BUCKET, s3ClientConfig } from './s3-config.mjs'

const prefix = process.env.BENCH_PREFIX || 'bench-put'
const client = new S3Client(s3ClientConfig())
const app = new Koa()

app.use(async (ctx) => {
  if (ctx.method !== 'PUT' || !ctx.path.startsWith('/objects/')) {
    ctx.status = 404

    return
  }
  const key = `${prefix}/${randomUUID()}`
  await client.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: key,
      Body: ctx.req,
      ContentLength: Number(ctx.get('content-length')),
      ContentType: ctx.get('content-type') || 'application/octet-stream',
    }),
  )
  ctx.status = 201
  ctx.body = { key }
})

const server = app.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: server.address().port }))
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
