/**
 * Objects as files under one folder, for the embedded default. A key maps to
 * a path below the folder; tus keeps its upload beside it as `<key>.json`.
 * A put writes to a temporary name and renames it when every byte is on disk,
 * so a failed upload never leaves a partial file at its key.
 */
import { createReadStream, createWriteStream } from 'node:fs'
import type { Dirent } from 'node:fs'
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { InventoryMultipartUpload, InventoryObject, StorageInventory } from '../reconcile.js'
import type { ObjectStore, StoredObject } from '../uploads/ports.js'

export class LocalObjectStore implements ObjectStore, StorageInventory {
  readonly directory: string

  constructor(directory: string) {
    this.directory = resolve(directory)
  }

  /** Resolves a key inside the folder; a key that would escape it is a bug, not input. */
  pathFor(key: string): string {
    const path = resolve(this.directory, key)
    const inside = relative(this.directory, path)
    if (inside === '' || inside.startsWith('..') || inside.split(sep).includes('..')) {
      throw new Error(`object key escapes the data folder: ${key}`)
    }

    return path
  }

  async put(key: string, body: Readable, _contentType: string): Promise<StoredObject> {
    const path = this.pathFor(key)
    await mkdir(dirname(path), { recursive: true })
    const partialPath = `${path}.${randomBytes(6).toString('hex')}.partial`
    try {
      await pipeline(body, createWriteStream(partialPath, { flags: 'wx' }))
      await rename(partialPath, path)
    } catch (error) {
      await rm(partialPath, { force: true })
      throw error
    }

    const { size } = await stat(path)

    return { size }
  }

  async read(key: string): Promise<Readable> {
    const path = this.pathFor(key)
    await stat(path)

    return createReadStream(path)
  }

  async delete(key: string): Promise<void> {
    const path = this.pathFor(key)
    await Promise.all([rm(path, { force: true }), rm(`${path}.json`, { force: true })])
  }

  async exists(key: string): Promise<boolean> {
    try {
      await stat(this.pathFor(key))

      return true
    } catch {
      return false
    }
  }

  /** Yields every file below the folder whose key starts with `prefix`, temporary files included. */
  async *listObjects(prefix: string): AsyncGenerator<InventoryObject> {
    const prefixFolder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : ''
    const start = join(this.directory, prefixFolder)
    let entries: Dirent[]
    try {
      entries = await readdir(start, { recursive: true, withFileTypes: true })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return
      }
      throw error
    }
    for (const entry of entries) {
      if (!entry.isFile()) {
        continue
      }
      const path = join(entry.parentPath, entry.name)
      const key = relative(this.directory, path).split(sep).join('/')
      if (!key.startsWith(prefix)) {
        continue
      }
      const stats = await stat(path).catch(() => null)
      if (stats) {
        yield { key, size: stats.size, modifiedAt: stats.mtime }
      }
    }
  }

  /** The folder has no multipart uploads; unfinished tus uploads are plain files that listObjects finds. */
  async *listMultipartUploads(_prefix: string): AsyncGenerator<InventoryMultipartUpload> {}

  async deleteObject(key: string): Promise<void> {
    await rm(this.pathFor(key), { force: true })
  }

  async abortMultipartUpload(key: string, _uploadId: string): Promise<void> {
    throw new Error(`the local store has no multipart upload at ${key}`)
  }
}

/** Lists every file below a folder, relative to it; for tests that check nothing was left. */
export async function listFiles(directory: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises')
  try {
    const entries = await readdir(directory, { recursive: true, withFileTypes: true })

    return entries
      .filter((entry) => entry.isFile())
      .map((entry) => relative(directory, join(entry.parentPath, entry.name)))
      .sort()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return []
    }
    throw error
  }
}
