/**
 * Reconciliation of storage with the database: finds what a crash, an outage
 * or a failed cleanup left behind, and with `fix` repairs it. Six kinds:
 *
 * - `orphan_object`: an object or tus sidecar whose key has no file row and no open upload;
 * - `missing_object`: a file row whose object is gone (fix: delete the row, refund storage);
 * - `stale_multipart_upload`: an open S3 multipart upload that nothing will finish;
 * - `expired_upload`: an unfinished tus upload past its expiry (fix: commit it when
 *   every byte is stored, otherwise abort it);
 * - `dangling_reservation`: quota reserved for an upload that no longer exists;
 * - `orphan_upload_state`: the S3 upload store's row for an upload that is neither open nor a file.
 *
 * A POST /media writes no row until it commits, so an object, multipart upload
 * or reservation younger than `minAgeMs` is taken for an upload in progress and
 * left alone. Keys outside the gateway's `<project>/<mode>/<file id>` layout, or
 * of projects this database does not have, are counted as skipped and never touched.
 */
import type { FileRowSummary, KeyState, ReconcileRepository } from './db/reconcile-repo.js'
import type { ObjectStore, UploadRecord } from './uploads/ports.js'

export interface InventoryObject {
  key: string
  size: number
  modifiedAt: Date
}

export interface InventoryMultipartUpload {
  key: string
  uploadId: string
  initiatedAt: Date
}

/** Listing and exact deletion of everything an object store holds, for reconciliation. */
export interface StorageInventory {
  listObjects(prefix: string): AsyncIterable<InventoryObject>
  /** Open multipart uploads; a store without them yields nothing. */
  listMultipartUploads(prefix: string): AsyncIterable<InventoryMultipartUpload>
  /** Deletes exactly one object; a missing object is not an error. */
  deleteObject(key: string): Promise<void>
  abortMultipartUpload(key: string, uploadId: string): Promise<void>
}

export type FindingKind =
  | 'orphan_object'
  | 'missing_object'
  | 'stale_multipart_upload'
  | 'expired_upload'
  | 'dangling_reservation'
  | 'orphan_upload_state'

export const FINDING_KINDS: readonly FindingKind[] = [
  'orphan_object',
  'missing_object',
  'stale_multipart_upload',
  'expired_upload',
  'dangling_reservation',
  'orphan_upload_state',
]

export interface Finding {
  kind: FindingKind
  projectId: string
  /** Object key, or the store key of an upload. */
  key: string
  /** File or upload id. */
  id: string | null
  /** S3's id of a multipart upload. */
  multipartUploadId?: string
  bytes?: number
  /** When the thing was last modified, initiated, created or due to expire. */
  at: string
  reason: string
  /** The repair `fix` made, or null when it made none. */
  action?: string | null
  /** The error message of a failed repair. */
  error?: string
}

export interface ReconcileReport {
  startedAt: string
  isFix: boolean
  projectId: string | null
  minAgeMs: number
  findings: Finding[]
  /** Objects and multipart uploads outside the gateway's key layout or of unknown projects. */
  skippedKeys: number
}

export interface ReconcileDependencies {
  repository: ReconcileRepository
  inventory: StorageInventory
  objects: Pick<ObjectStore, 'exists' | 'delete'>
  /** Expired uploads, and how to end one. */
  uploads: {
    listExpired(now: Date): Promise<UploadRecord[]>
    endExpired(upload: UploadRecord): Promise<'committed' | 'aborted' | 'skipped'>
  }
  /** Deletes a file row and refunds its storage usage. */
  deleteFileRow(file: FileRowSummary): Promise<unknown>
}

export interface ReconcileOptions {
  isFix: boolean
  /** Only this project's keys and rows; null for all. */
  projectId: string | null
  minAgeMs: number
  now?: Date
}

/** `<project>/<mode>/<file id>` and any suffix a sidecar or temporary file adds. */
const KEY_PATTERN = /^(p_[0-9A-HJKMNP-TV-Z]{26})\/(live|test)\/(f_[0-9A-HJKMNP-TV-Z]{26})(\..*)?$/

interface ParsedKey {
  projectId: string
  fileId: string
  /** The key of the file itself, without a sidecar suffix. */
  fileKey: string
}

function parseKey(key: string): ParsedKey | null {
  const match = KEY_PATTERN.exec(key)
  if (!match) {
    return null
  }

  return { projectId: match[1], fileId: match[3], fileKey: `${match[1]}/${match[2]}/${match[3]}` }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Finds leftovers and, with `isFix`, repairs each one. */
export async function reconcile(deps: ReconcileDependencies, options: ReconcileOptions) {
  return new Reconciler(deps, options).run()
}

class Reconciler {
  private readonly now: Date
  /** Anything changed after this is taken for an upload in progress. */
  private readonly cutoff: Date
  private readonly prefix: string
  private readonly findings: Finding[] = []
  private skippedKeys = 0
  private projects = new Set<string>()

  constructor(
    private readonly deps: ReconcileDependencies,
    private readonly options: ReconcileOptions,
  ) {
    this.now = options.now ?? new Date()
    this.cutoff = new Date(this.now.getTime() - options.minAgeMs)
    this.prefix = options.projectId ? `${options.projectId}/` : ''
  }

  async run(): Promise<ReconcileReport> {
    this.projects = await this.deps.repository.listProjectIds(this.options.projectId)
    // Expired uploads go first: ending them removes their objects and reservations,
    // which the later passes would otherwise report a second time.
    await this.reconcileExpiredUploads()
    await this.reconcileReservations()
    const storedFileKeys = await this.reconcileObjects()
    await this.reconcileFileRows(storedFileKeys)
    await this.reconcileMultipartUploads()
    await this.reconcileUploadStates()

    return {
      startedAt: this.now.toISOString(),
      isFix: this.options.isFix,
      projectId: this.options.projectId,
      minAgeMs: this.options.minAgeMs,
      findings: this.findings,
      skippedKeys: this.skippedKeys,
    }
  }

  /** Records a finding and, when fixing, runs its repair and records the outcome. */
  private async record(finding: Finding, repair: () => Promise<string | null>) {
    this.findings.push(finding)
    if (!this.options.isFix) {
      return
    }
    try {
      finding.action = await repair()
    } catch (error) {
      finding.action = null
      finding.error = describeError(error)
    }
  }

  /** Parses a key and counts it as skipped when it is not the gateway's or not this database's. */
  private ownKey(key: string): ParsedKey | null {
    const parsed = parseKey(key)
    if (!parsed || !this.projects.has(parsed.projectId)) {
      this.skippedKeys += 1

      return null
    }

    return parsed
  }

  private async reconcileExpiredUploads() {
    const expired = await this.deps.uploads.listExpired(this.now)
    for (const upload of expired) {
      if (!this.projects.has(upload.projectId)) {
        continue
      }
      await this.record(
        {
          kind: 'expired_upload',
          projectId: upload.projectId,
          key: upload.storeKey,
          id: upload.id,
          at: upload.expiresAt.toISOString(),
          reason: 'unfinished tus upload past its expiry',
        },
        async () => {
          const outcome = await this.deps.uploads.endExpired(upload)

          return outcome === 'skipped' ? null : outcome
        },
      )
    }
  }

  private async reconcileReservations() {
    const reservations = await this.deps.repository.listReservations(this.options.projectId)
    for (const reservation of reservations) {
      let reason: string | null = null
      let createdBefore: Date | null = null
      if (reservation.hasFile) {
        reason = 'its file is already committed and charged'
      } else if (reservation.uploadStatus === 'completed' || reservation.uploadStatus === 'aborted') {
        reason = `its tus upload is ${reservation.uploadStatus}`
      } else if (reservation.uploadStatus === null && reservation.createdAt < this.cutoff) {
        reason = 'no file or upload has this id, and it is older than the minimum age'
        createdBefore = this.cutoff
      }
      if (reason === null) {
        continue
      }

      await this.record(
        {
          kind: 'dangling_reservation',
          projectId: reservation.projectId,
          key: reservation.uploadId,
          id: reservation.uploadId,
          bytes: reservation.bytes,
          at: reservation.createdAt.toISOString(),
          reason,
        },
        async () => {
          await this.deps.repository.releaseReservation(reservation.uploadId, createdBefore)

          return 'released'
        },
      )
    }
  }

  /** Finds objects without rows; returns the file keys whose object exists, for the row pass. */
  private async reconcileObjects(): Promise<Set<string>> {
    const groups = new Map<string, { parsed: ParsedKey; objects: InventoryObject[] }>()
    for await (const object of this.deps.inventory.listObjects(this.prefix)) {
      const parsed = this.ownKey(object.key)
      if (!parsed) {
        continue
      }
      const group = groups.get(parsed.fileKey) ?? { parsed, objects: [] }
      group.objects.push(object)
      groups.set(parsed.fileKey, group)
    }

    const storedFileKeys = new Set<string>()
    for (const [fileKey, group] of groups) {
      if (group.objects.some((object) => object.key === fileKey)) {
        storedFileKeys.add(fileKey)
      }
    }

    const states = await this.deps.repository.findKeyStates(
      [...groups.values()].map(({ parsed }) => ({ key: parsed.fileKey, fileId: parsed.fileId })),
    )
    for (const [fileKey, group] of groups) {
      const state = states.get(fileKey) as KeyState
      const isYoung = group.objects.some((object) => object.modifiedAt > this.cutoff)
      if (state.hasFile || state.uploadStatus === 'open' || isYoung || this.isReservedRecently(state)) {
        continue
      }
      for (const object of group.objects) {
        await this.recordOrphanObject(group.parsed, object, state)
      }
    }

    return storedFileKeys
  }

  private isReservedRecently(state: KeyState): boolean {
    return state.reservationCreatedAt !== null && state.reservationCreatedAt > this.cutoff
  }

  private async recordOrphanObject(parsed: ParsedKey, object: InventoryObject, state: KeyState) {
    const reason =
      state.uploadStatus === null
        ? 'no file row and no tus upload for this key'
        : `no file row, and its tus upload is ${state.uploadStatus}`
    await this.record(
      {
        kind: 'orphan_object',
        projectId: parsed.projectId,
        key: object.key,
        id: parsed.fileId,
        bytes: object.size,
        at: object.modifiedAt.toISOString(),
        reason,
      },
      async () => {
        // A file committed since the listing keeps its object.
        if (await this.deps.repository.hasFileWithKey(parsed.fileKey)) {
          return null
        }
        await this.deps.inventory.deleteObject(object.key)

        return 'deleted'
      },
    )
  }

  private async reconcileFileRows(storedFileKeys: Set<string>) {
    for await (const file of this.deps.repository.listFiles(this.options.projectId)) {
      // A row committed after the listing began may have an object the listing missed.
      if (storedFileKeys.has(file.key) || file.createdAt >= this.now) {
        continue
      }
      if (await this.deps.objects.exists(file.key)) {
        continue
      }

      await this.record(
        {
          kind: 'missing_object',
          projectId: file.projectId,
          key: file.key,
          id: file.id,
          bytes: file.size,
          at: file.createdAt.toISOString(),
          reason: 'file row whose object is gone',
        },
        async () => {
          await this.deps.deleteFileRow(file)
          // Sidecars of a tus upload may remain beside the lost object.
          await this.deps.objects.delete(file.key)

          return 'removed_row'
        },
      )
    }
  }

  private async reconcileUploadStates() {
    const states = await this.deps.repository.listOrphanUploadStates(this.options.projectId, this.cutoff)
    for (const state of states) {
      const parsed = parseKey(state.key)
      await this.record(
        {
          kind: 'orphan_upload_state',
          projectId: parsed?.projectId ?? '',
          key: state.key,
          id: parsed?.fileId ?? null,
          at: state.updatedAt.toISOString(),
          reason: 'S3 upload state with no open upload and no file',
        },
        async () => {
          await this.deps.repository.deleteUploadState(state.key)

          return 'deleted'
        },
      )
    }
  }

  private async reconcileMultipartUploads() {
    const uploads: { parsed: ParsedKey; upload: InventoryMultipartUpload }[] = []
    for await (const upload of this.deps.inventory.listMultipartUploads(this.prefix)) {
      const parsed = this.ownKey(upload.key)
      if (parsed) {
        uploads.push({ parsed, upload })
      }
    }

    const states = await this.deps.repository.findKeyStates(
      uploads.map(({ parsed }) => ({ key: parsed.fileKey, fileId: parsed.fileId })),
    )
    for (const { parsed, upload } of uploads) {
      const state = states.get(parsed.fileKey) as KeyState
      if (state.uploadStatus === 'open' || upload.initiatedAt > this.cutoff || this.isReservedRecently(state)) {
        continue
      }

      await this.record(
        {
          kind: 'stale_multipart_upload',
          projectId: parsed.projectId,
          key: upload.key,
          id: parsed.fileId,
          multipartUploadId: upload.uploadId,
          at: upload.initiatedAt.toISOString(),
          reason: state.hasFile ? 'the file is committed, so nothing will complete it' : 'no open upload will complete it',
        },
        async () => {
          await this.deps.inventory.abortMultipartUpload(upload.key, upload.uploadId)

          return 'aborted'
        },
      )
    }
  }
}

/** Formats a report as one line per finding and a closing summary. */
export function formatReport(report: ReconcileReport): string[] {
  const lines = report.findings.map((finding) => {
    const size = finding.bytes === undefined ? '' : ` ${finding.bytes} bytes,`
    const outcome = report.isFix ? ` -> ${finding.error ? `failed: ${finding.error}` : (finding.action ?? 'left as is')}` : ''

    return `${finding.kind}\t${finding.key}\t${size} ${finding.reason} (${finding.at})${outcome}`.replace('\t ', '\t')
  })
  const counts = FINDING_KINDS.map((kind) => [kind, report.findings.filter((finding) => finding.kind === kind).length] as const)
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `${count} ${kind}`)
  const fixed = report.findings.filter((finding) => finding.action).length
  const failed = report.findings.filter((finding) => finding.error).length
  let summary = counts.length === 0 ? 'no leftovers found' : `${report.findings.length} leftovers: ${counts.join(', ')}`
  if (report.isFix && counts.length > 0) {
    summary += `; ${fixed} fixed, ${failed} failed`
  }
  if (report.skippedKeys > 0) {
    summary += `; ${report.skippedKeys} keys skipped (another layout or a project not in this database)`
  }
  lines.push(summary)

  return lines
}
