import { randomBytes, randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3'
import { Upload } from '@tus/utils'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { type S3UploadState, S3UploadStateRepository } from '../../src/db/s3-upload-state.js'
import type { S3ObjectStore } from '../../src/storage/s3.js'
import { S3UploadStore } from '../../src/storage/s3-upload-store.js'
import { getGateway } from '../helpers/gateway.js'

const MIB = 1024 * 1024

/** A state repository whose next save fails once armed, as a process that dies before the write would. */
class CrashingStates extends S3UploadStateRepository {
  isArmed = false

  override async save(state: S3UploadState): Promise<void> {
    if (this.isArmed) {
      this.isArmed = false
      throw new Error('simulated crash before the state write')
    }
    await super.save(state)
  }
}

interface StoreUnderTest {
  store: S3UploadStore
  states: CrashingStates
  client: S3Client
  bucket: string
  /** S3 requests sent through the client, by command name, while counting. */
  requests: string[]
}

async function createStore(): Promise<StoreUnderTest | null> {
  const test = await getGateway()
  if (!test.isS3) {
    return null
  }

  const objects = test.gateway.objects as S3ObjectStore
  const states = new CrashingStates(test.gateway.database.knex)
  const requests: string[] = []
  const client = objects.client
  const counted = Object.create(client) as S3Client
  counted.send = ((command: { constructor: { name: string } }, ...rest: unknown[]) => {
    requests.push(command.constructor.name.replace(/Command$/, ''))

    return (client.send as (...args: unknown[]) => Promise<unknown>).call(client, command, ...rest)
  }) as S3Client['send']
  const store = new S3UploadStore({
    client: counted,
    bucket: objects.bucket,
    partSizeBytes: 8 * MIB,
    expirationMs: 60_000,
    states,
  })

  return { store, states, client, bucket: objects.bucket, requests }
}

async function createUpload(subject: StoreUnderTest, size: number) {
  const key = `s3-upload-store-test/${randomUUID()}`
  await subject.store.create(new Upload({ id: key, size, offset: 0, metadata: {} }))

  return key
}

async function readObject(subject: StoreUnderTest, key: string): Promise<Buffer> {
  const response = await subject.client.send(new GetObjectCommand({ Bucket: subject.bucket, Key: key }))

  return Buffer.from(await (response.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray())
}

async function listLeftovers(subject: StoreUnderTest, key: string) {
  const objects = await subject.client.send(new ListObjectsV2Command({ Bucket: subject.bucket, Prefix: key }))
  const uploads = await subject.client.send(new ListMultipartUploadsCommand({ Bucket: subject.bucket, Prefix: key }))

  return {
    objects: (objects.Contents ?? []).map((object) => object.Key as string).sort(),
    multipartUploads: (uploads.Uploads ?? []).map((upload) => upload.Key as string),
  }
}

/** Removes a finished upload's state and its object. */
async function removeFinished(subject: StoreUnderTest, key: string) {
  await subject.store.remove(key)
  await subject.client.send(new DeleteObjectCommand({ Bucket: subject.bucket, Key: key }))
}

function streamOf(bytes: Buffer) {
  return Readable.from([bytes])
}

const Store = suite('S3 upload store')

Store('resumes after a crash before the state write', async () => {
  const subject = await createStore()
  if (!subject) {
    return
  }
  const bytes = randomBytes(12 * MIB)
  const key = await createUpload(subject, bytes.length)

  subject.states.isArmed = true
  const crashed = await subject.store.write(streamOf(bytes.subarray(0, 8 * MIB)), key, 0).catch((error) => error)
  assert.instance(crashed, Error)
  assert.is((await subject.store.getUpload(key)).offset, 0)

  assert.is(await subject.store.write(streamOf(bytes.subarray(0, 8 * MIB)), key, 0), 8 * MIB)
  assert.is(await subject.store.write(streamOf(bytes.subarray(8 * MIB)), key, 8 * MIB), bytes.length)
  assert.ok((await readObject(subject, key)).equals(bytes))
  assert.equal((await listLeftovers(subject, key)).multipartUploads, [])
  await removeFinished(subject, key)
})

Store('overwrites parts when a range is resent differently', async () => {
  const subject = await createStore()
  if (!subject) {
    return
  }
  const bytes = randomBytes(12 * MIB)
  const key = await createUpload(subject, bytes.length)

  // 10 MiB stores part 1 (8 MiB) and a 2 MiB tail, then the state write fails.
  subject.states.isArmed = true
  await subject.store.write(streamOf(randomBytes(10 * MIB)), key, 0).catch(() => {})
  assert.is((await subject.store.getUpload(key)).offset, 0)

  // The resend splits differently: part 1 of 6 MiB, then a final part 2 of 6 MiB.
  assert.is(await subject.store.write(streamOf(bytes.subarray(0, 6 * MIB)), key, 0), 6 * MIB)
  assert.is(await subject.store.write(streamOf(bytes.subarray(6 * MIB)), key, 6 * MIB), bytes.length)
  assert.ok((await readObject(subject, key)).equals(bytes))
  assert.equal(await listLeftovers(subject, key), { objects: [key], multipartUploads: [] })
  await removeFinished(subject, key)
})

Store('keeps the recorded tail when a new one is not saved', async () => {
  const subject = await createStore()
  if (!subject) {
    return
  }
  const bytes = randomBytes(12 * MIB)
  const key = await createUpload(subject, bytes.length)

  assert.is(await subject.store.write(streamOf(bytes.subarray(0, 3 * MIB)), key, 0), 3 * MIB)
  subject.states.isArmed = true
  await subject.store.write(streamOf(randomBytes(7 * MIB)), key, 3 * MIB).catch(() => {})
  assert.is((await subject.store.getUpload(key)).offset, 3 * MIB)

  assert.is(await subject.store.write(streamOf(bytes.subarray(3 * MIB)), key, 3 * MIB), bytes.length)
  assert.ok((await readObject(subject, key)).equals(bytes))
  assert.equal(await listLeftovers(subject, key), { objects: [key], multipartUploads: [] })
  await removeFinished(subject, key)
})

Store('remove aborts the multipart upload and deletes tails', async () => {
  const subject = await createStore()
  if (!subject) {
    return
  }
  const key = await createUpload(subject, 40 * MIB)
  assert.is(await subject.store.write(streamOf(randomBytes(8 * MIB)), key, 0), 8 * MIB)
  assert.is(await subject.store.write(streamOf(randomBytes(1 * MIB)), key, 8 * MIB), 9 * MIB)
  // A tail that no state names, as a crash between its PutObject and the state write leaves.
  subject.states.isArmed = true
  await subject.store.write(streamOf(randomBytes(9 * MIB)), key, 9 * MIB).catch(() => {})
  assert.is((await listLeftovers(subject, key)).objects.length, 2)

  await subject.store.remove(key)
  assert.equal(await listLeftovers(subject, key), { objects: [], multipartUploads: [] })
  const missing = await subject.store.getUpload(key).catch((error) => error)
  assert.is(missing.status_code, 404)
})

Store('sends one UploadPart per whole-part PATCH', async () => {
  const subject = await createStore()
  if (!subject) {
    return
  }
  const key = await createUpload(subject, 24 * MIB)
  for (const offset of [0, 8 * MIB]) {
    subject.requests.length = 0
    await subject.store.write(streamOf(randomBytes(8 * MIB)), key, offset)
    assert.equal(subject.requests, ['UploadPart'])
  }

  subject.requests.length = 0
  assert.is(await subject.store.write(streamOf(randomBytes(8 * MIB)), key, 16 * MIB), 24 * MIB)
  assert.equal(subject.requests, ['UploadPart', 'CompleteMultipartUpload', 'ListObjectsV2'])
  await removeFinished(subject, key)
})

Store.run()
