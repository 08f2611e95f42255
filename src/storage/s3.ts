/**
 * S3 access shared by the multipart door (lib-storage) and the tus datastore.
 * Objects live at their key. An unfinished tus upload keeps the bytes too few
 * for a multipart part in a tail object `<key>.part.<part number>`.
 */
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import type { Readable } from 'node:stream'
import type { S3Config } from '../config.js'
import type { InventoryMultipartUpload, InventoryObject, StorageInventory } from '../reconcile.js'
import type { ObjectStore, StoredObject } from '../uploads/ports.js'

/** Client settings for both S3 users here. */
export function s3ClientConfig(config: S3Config): S3ClientConfig {
  return {
    endpoint: config.endpoint,
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    // With checksums on by default, a streamed UploadPart of unknown length is
    // sent with aws-chunked encoding, which Ceph RGW 16 rejects with 411.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  }
}

const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NotFound', 'NoSuchUpload'])

/** Checks whether an S3 error means the object or upload does not exist. */
export function isS3NotFoundError(error: unknown): boolean {
  const candidate = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } }

  return (
    NOT_FOUND_CODES.has(candidate?.name ?? '') ||
    NOT_FOUND_CODES.has(candidate?.Code ?? '') ||
    candidate?.$metadata?.httpStatusCode === 404
  )
}

/** Checks whether an object exists, with one HeadObject request. */
export async function s3ObjectExists(client: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))

    return true
  } catch (error) {
    if (isS3NotFoundError(error)) {
      return false
    }
    throw error
  }
}

/** Deletes objects with one DeleteObjects request, which S3 limits to 1000 keys. An empty list sends nothing. */
export async function deleteS3Objects(client: S3Client, bucket: string, keys: string[]): Promise<void> {
  if (keys.length === 0) {
    return
  }
  await client.send(
    new DeleteObjectsCommand({
      Bucket: bucket,
      Delete: { Objects: keys.map((key) => ({ Key: key })), Quiet: true },
    }),
  )
}

/** Parts of 8 MiB, 4 in flight: at most about 32 MiB buffered per upload. */
const QUEUE_SIZE = 4

export class S3ObjectStore implements ObjectStore, StorageInventory {
  readonly client: S3Client
  readonly bucket: string
  private readonly partSizeBytes: number

  constructor(config: S3Config) {
    this.client = new S3Client(s3ClientConfig(config))
    this.bucket = config.bucket
    this.partSizeBytes = config.partSizeBytes
  }

  async put(key: string, body: Readable, contentType: string): Promise<StoredObject> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: body, ContentType: contentType },
      partSize: this.partSizeBytes,
      queueSize: QUEUE_SIZE,
      // lib-storage aborts the multipart upload itself when a part fails.
      leavePartsOnError: false,
    })
    let size = 0
    upload.on('httpUploadProgress', (progress) => {
      size = Math.max(size, progress.loaded ?? 0)
    })
    try {
      await upload.done()
    } catch (error) {
      body.destroy()
      throw error
    }

    return { size }
  }

  async read(key: string): Promise<Readable> {
    const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }))

    return response.Body as Readable
  }

  async delete(key: string): Promise<void> {
    await deleteS3Objects(this.client, this.bucket, [key])
  }

  async exists(key: string): Promise<boolean> {
    return s3ObjectExists(this.client, this.bucket, key)
  }

  async *listObjects(prefix: string): AsyncGenerator<InventoryObject> {
    let continuationToken: string | undefined
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: continuationToken }),
      )
      for (const object of page.Contents ?? []) {
        yield { key: object.Key as string, size: object.Size ?? 0, modifiedAt: object.LastModified ?? new Date(0) }
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (continuationToken)
  }

  async *listMultipartUploads(prefix: string): AsyncGenerator<InventoryMultipartUpload> {
    let keyMarker: string | undefined
    let uploadIdMarker: string | undefined
    for (;;) {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({
          Bucket: this.bucket,
          Prefix: prefix,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      )
      for (const upload of page.Uploads ?? []) {
        yield {
          key: upload.Key as string,
          uploadId: upload.UploadId as string,
          initiatedAt: upload.Initiated ?? new Date(0),
        }
      }
      if (!page.IsTruncated) {
        return
      }
      keyMarker = page.NextKeyMarker
      uploadIdMarker = page.NextUploadIdMarker
    }
  }

  async deleteObject(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }))
  }

  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }))
    } catch (error) {
      if (!isS3NotFoundError(error)) {
        throw error
      }
    }
  }
}
