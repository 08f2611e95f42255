/**
 * The two ports the ingest pipeline talks to. Adapters live in src/storage
 * (object stores) and src/db (the metadata repository); the pipeline imports
 * neither.
 */
import type { Readable } from 'node:stream'

export type Mode = 'live' | 'test'

/** The uploader: the token's project, mode and scopes. */
export interface Principal {
  projectId: string
  mode: Mode
  scopes: readonly string[]
  tokenId: string
}

export type Visibility = 'public' | 'private'

/** A stored file as the API returns it, less the URL, which depends on configuration. */
export interface FileRecord {
  id: string
  projectId: string
  mode: Mode
  key: string
  size: number
  contentType: string
  sha256: string
  originalName: string | null
  tags: string[]
  folder: string | null
  abuseStatus: 'clean'
  visibility: Visibility
  storageClass: 'standard'
  createdAt: Date
  updatedAt: Date
}

export interface QuotaStatus {
  metric: string
  used: number
  limit: number
  cumulative: boolean
}

export interface ReservationRequest {
  projectId: string
  mode: Mode
  uploadId: string
  bytes: number
}

/** The result of a reservation: granted, or refused with every quota of the tier. */
export type ReservationResult =
  | { isGranted: true }
  | { isGranted: false; metric: string; quotas: QuotaStatus[] }

/** The state of an unfinished resumable upload, kept beside its offset. */
export interface UploadRecord {
  id: string
  projectId: string
  mode: Mode
  storeKey: string
  declaredType: string
  size: number | null
  originalName: string | null
  folder: string | null
  tags: string[]
  visibility: Visibility
  inspection: SavedInspection | null
  status: 'open' | 'completed' | 'aborted'
  expiresAt: Date
}

/** Inspection state that survives between requests and processes. */
export interface SavedInspection {
  /** Offset up to which `hashState` covers the bytes; a mismatch means read back. */
  offset: number
  hashState: string
  /** Base64 head bytes, kept only until the type is decided. */
  head: string | null
  detectedType: string | null
  /** The head was a ZIP; the whole file must confirm the declared office format. */
  isProvisional: boolean
  text: { encoding?: string; pending: string; seenBytes: number; isValid: boolean } | null
}

export interface MetadataRepository {
  /** Reserves quota for an upload inside a transaction that locks the project's usage. */
  reserve(request: ReservationRequest): Promise<ReservationResult>
  /** Checks whether bytes would fit the quotas now, reserving nothing. */
  checkQuota(request: Omit<ReservationRequest, 'uploadId'>): Promise<ReservationResult>
  /** Drops the reservation of an upload; a missing reservation is not an error. */
  release(uploadId: string): Promise<void>
  /** Inserts the file row, turns its reservation into usage and closes its upload, in one transaction. */
  commitFile(file: FileRecord): Promise<FileRecord>
  findFile(projectId: string, mode: Mode, id: string): Promise<FileRecord | undefined>
  getQuotas(projectId: string, mode: Mode): Promise<QuotaStatus[]>

  createUpload(upload: UploadRecord): Promise<void>
  findUpload(id: string): Promise<UploadRecord | undefined>
  saveInspection(id: string, inspection: SavedInspection | null): Promise<void>
  setUploadSize(id: string, size: number): Promise<void>
  markUploadAborted(id: string): Promise<void>
  listExpiredUploads(now: Date): Promise<UploadRecord[]>
}

export interface StoredObject {
  size: number
}

export interface ObjectStore {
  /** Streams bytes to `key`. Rejects, leaving nothing at `key`, when the stream fails. */
  put(key: string, body: Readable, contentType: string): Promise<StoredObject>
  /** Streams an object back, used to hash a resumable upload whose saved hash state was lost. */
  read(key: string): Promise<Readable>
  /** Deletes an object and any upload bookkeeping beside it; a missing object is not an error. */
  delete(key: string): Promise<void>
  exists(key: string): Promise<boolean>
}
