import type { FileRecord } from '../uploads/ports.js'

/** Converts a file record to the API's file object, with the URL to reach it. */
export function toFileJson(file: FileRecord, url: string) {
  return {
    id: file.id,
    url,
    key: file.key,
    size: file.size,
    content_type: file.contentType,
    sha256: file.sha256,
    original_name: file.originalName,
    tags: file.tags,
    folder: file.folder,
    abuse_status: file.abuseStatus,
    visibility: file.visibility,
    storage_class: file.storageClass,
    created_at: file.createdAt.toISOString(),
    updated_at: file.updatedAt.toISOString(),
  }
}
