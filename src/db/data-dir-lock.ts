import { closeSync, openSync, readFileSync, unlinkSync, writeSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'

/**
 * An exclusive claim on the embedded data folder. PGlite lets two processes open
 * one folder and then silently loses writes, so the server and the command line
 * take this claim first and reject a folder another live process holds.
 */
export interface DataDirLock {
  release(): void
}

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError'
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)

    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function readHolder(path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10)

    return Number.isInteger(pid) && pid > 0 ? pid : null
  } catch {
    return null
  }
}

/** Claims held by this process. A file naming our pid that is not here is stale (a restarted container). */
const heldPaths = new Set<string>()

export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true })
  const path = join(dataDir, 'gateway.pid')
  if (heldPaths.has(path)) {
    throw new DataDirLockedError(`The data folder ${dataDir} is already open in this process.`)
  }

  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx')
      writeSync(fd, String(process.pid))
      closeSync(fd)
      heldPaths.add(path)

      return {
        release: () => {
          heldPaths.delete(path)
          if (readHolder(path) === process.pid) {
            unlinkSync(path)
          }
        },
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw error
      }
    }

    const holder = readHolder(path)
    if (holder !== null && holder !== process.pid && isProcessAlive(holder)) {
      throw new DataDirLockedError(
        `The data folder ${dataDir} is in use by process ${holder}, a running gateway or command. ` +
          'Stop it first: the embedded database allows one process at a time.',
      )
    }
    // The holder is gone, so its claim is stale.
    unlinkSync(path)
  }

  throw new DataDirLockedError(`Could not claim the data folder ${dataDir}; retry the command.`)
}
