import { type KvStore, Upload } from '@tus/utils'
import type { MetadataValue } from '@tus/s3-store'
import type { Knex } from 'knex'

/** The entry S3Store caches per upload: its `.info` and the S3 multipart upload id. */
type CachedMetadata = MetadataValue

/**
 * S3Store's metadata cache in Postgres, so every instance reads the same entry.
 * Entries round-trip through JSON, so the cached upload is rebuilt as an
 * Upload, whose getters S3Store uses.
 */
export class PostgresUploadCache implements KvStore<CachedMetadata> {
  constructor(private readonly knex: Knex) {}

  async get(key: string): Promise<CachedMetadata | undefined> {
    const row = await this.knex('tus_upload_cache').where({ key }).first('value')
    if (!row) {
      return undefined
    }

    const value = row.value as CachedMetadata

    return { ...value, file: new Upload(value.file) }
  }

  async set(key: string, value: CachedMetadata): Promise<void> {
    await this.knex('tus_upload_cache')
      .insert({ key, value: JSON.stringify(value), updated_at: new Date() })
      .onConflict('key')
      .merge()
  }

  async delete(key: string): Promise<void> {
    await this.knex('tus_upload_cache').where({ key }).delete()
  }
}
