/**
 * Baseline: uploads one file straight to S3 with @aws-sdk/lib-storage, the
 * way the gateway's POST /media stores bytes, and prints
 * `{"seconds": N, "bytes": N}`. Usage: direct-upload.mjs FILE KEY PART_SIZE QUEUE_SIZE
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { S3Client } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { BUCKET, s3ClientConfig } from './s3-config.mjs'

const [file, key, partSize, queueSize] = process.argv.slice(2)
const client = new S3Client(s3ClientConfig())
const { size } = await stat(file)

const started = process.hrtime.bigint()
const upload = new Upload({
  client,
  params: { Bucket: BUCKET, Key: key, Body: createReadStream(file), ContentType: 'video/mp4' },
  partSize: Number(partSize),
  queueSize: Number(queueSize),
  leavePartsOnError: false,
})
await upload.done()
const seconds = Number(process.hrtime.bigint() - started) / 1e9
console.log(JSON.stringify({ seconds, bytes: size }))
