/**
 * Raw tus requests for tests that need to stop an upload at a chosen byte:
 * creation, PATCH and HEAD against any gateway URL.
 */
import { randomBytes } from 'node:crypto'
import * as tus from 'tus-js-client'
import { readFixture } from './fixtures.js'
import type { TestTenant } from './gateway.js'

export const TUS_HEADERS = { 'Tus-Resumable': '1.0.0' }

/** Makes a video of `sizeBytes`: a real MP4 head followed by random bytes, so every run hashes differently. */
export function makeVideo(sizeBytes: number): Buffer {
  const bytes = randomBytes(sizeBytes)
  readFixture('fixture.mp4').copy(bytes)

  return bytes
}

export function tusMetadata(filename: string, filetype: string) {
  return `filename ${Buffer.from(filename).toString('base64')},filetype ${Buffer.from(filetype).toString('base64')}`
}

/** Creates a tus upload of a video; returns its file id. */
export async function createTusUpload(baseUrl: string, tenant: TestTenant, length: number): Promise<string> {
  const response = await fetch(`${baseUrl}/media/uploads`, {
    method: 'POST',
    headers: {
      ...TUS_HEADERS,
      ...tenant.auth,
      'Upload-Length': String(length),
      'Upload-Metadata': tusMetadata('clip.mp4', 'video/mp4'),
    },
  })
  if (response.status !== 201) {
    throw new Error(`tus creation returned ${response.status}: ${await response.text()}`)
  }
  const location = response.headers.get('location') ?? ''

  return location.slice(location.lastIndexOf('/') + 1)
}

export function patchTusUpload(baseUrl: string, tenant: TestTenant, id: string, offset: number, bytes: Uint8Array) {
  return fetch(`${baseUrl}/media/uploads/${id}`, {
    method: 'PATCH',
    headers: {
      ...TUS_HEADERS,
      ...tenant.auth,
      'Upload-Offset': String(offset),
      'Content-Type': 'application/offset+octet-stream',
    },
    body: bytes as Uint8Array<ArrayBuffer>,
  })
}

/** Returns the upload's offset, or throws with the status when HEAD fails. */
export async function headTusOffset(baseUrl: string, tenant: TestTenant, id: string): Promise<number> {
  const response = await fetch(`${baseUrl}/media/uploads/${id}`, {
    method: 'HEAD',
    headers: { ...TUS_HEADERS, ...tenant.auth },
  })
  if (response.status !== 200) {
    throw new Error(`HEAD of upload ${id} returned ${response.status}`)
  }

  return Number(response.headers.get('upload-offset'))
}

/**
 * Resumes (or starts) an upload with tus-js-client and resolves with its URL.
 * `uploadUrl` resumes an existing upload from its HEAD offset.
 */
export function uploadWithTusClient(
  bytes: Buffer,
  tenant: TestTenant,
  options: { endpoint: string; uploadUrl?: string; chunkSize?: number; retryDelays?: number[] },
) {
  return new Promise<string>((resolve, reject) => {
    const upload = new tus.Upload(bytes, {
      endpoint: options.endpoint,
      uploadUrl: options.uploadUrl ?? null,
      headers: tenant.auth,
      metadata: { filename: 'clip.mp4', filetype: 'video/mp4' },
      chunkSize: options.chunkSize ?? Number.POSITIVE_INFINITY,
      retryDelays: options.retryDelays ?? [],
      onError: reject,
      onSuccess: () => resolve(upload.url as string),
    })
    upload.start()
  })
}
