import { HeadBucketCommand } from '@aws-sdk/client-s3'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { S3ObjectStore } from '../../src/storage/s3.js'
import { getGateway } from '../helpers/gateway.js'

const Backends = suite('configured backends')

Backends('reaches the configured database', async () => {
  const test = await getGateway()
  if (!test.isPostgres) {
    console.log('  Postgres suite skipped: DATABASE_URL is not set, so tests run on PGlite')
  }
  const result = await test.gateway.database.knex.raw('select 1 as one')

  assert.is(test.gateway.database.kind, test.isPostgres ? 'postgres' : 'pglite')
  assert.ok(result.rows.length === 1)
})

Backends('reaches the configured object store', async () => {
  const test = await getGateway()
  if (!test.isS3) {
    console.log('  S3 suite skipped: S3_ENDPOINT is not set, so tests run on the local data folder')

    return
  }
  const store = test.gateway.objects as S3ObjectStore
  const response = await store.client.send(new HeadBucketCommand({ Bucket: store.bucket }))

  assert.is(response.$metadata.httpStatusCode, 200)
})

Backends.run()
