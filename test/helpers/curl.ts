import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

export const runCommand = promisify(execFile)

/** Tells whether curl can be run, so tests that use it can skip without it. */
export async function hasCurl(): Promise<boolean> {
  try {
    await runCommand('curl', ['--version'])

    return true
  } catch {
    return false
  }
}
