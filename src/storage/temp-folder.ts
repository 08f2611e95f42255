/**
 * A temporary folder per gateway process. S3Store spools incoming bytes to
 * files in os.tmpdir() before it uploads them as parts, and a process killed
 * mid-upload leaves them there for good. Each process therefore gets
 * `<tmpdir>/media-gateway/<pid>`, and a starting process removes the folders
 * of processes that are no longer alive.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isProcessAlive } from '../db/data-dir-lock.js'

/**
 * Points this process's TMPDIR at its own folder and removes the folders of
 * dead processes. Returns the new folder and how many stale folders were removed.
 * NOTE: a folder whose pid now belongs to an unrelated process is kept until that pid exits.
 */
export function claimProcessTempFolder(): { folder: string; removedFolders: number } {
  const base = join(tmpdir(), 'media-gateway')
  mkdirSync(base, { recursive: true })
  let removedFolders = 0
  for (const name of readdirSync(base)) {
    const pid = Number(name)
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isProcessAlive(pid)) {
      rmSync(join(base, name), { recursive: true, force: true })
      removedFolders += 1
    }
  }

  const folder = join(base, String(process.pid))
  mkdirSync(folder, { recursive: true })
  // os.tmpdir() reads TMPDIR on every call, so S3Store's spool files land here from now on.
  process.env.TMPDIR = folder

  return { folder, removedFolders }
}

/** Removes this process's temporary folder, on a clean stop. */
export function removeProcessTempFolder(folder: string) {
  rmSync(folder, { recursive: true, force: true })
}
