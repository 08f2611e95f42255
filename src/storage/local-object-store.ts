/**
 * Objects as files under one folder, for the embedded default. A key maps to
 * a path below the folder; tus keeps its upload beside it as `<key>.json`.
 * A put writes to a temporary name and renames it when every byte is on disk,
 * so a failed upload never leaves a partial file at its key.
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ObjectStore, StoredObject } from '../uploads/ports.js'

export class LocalObjectStore implements ObjectStore {
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
