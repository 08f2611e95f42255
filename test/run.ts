/**
 * Runs every test file in one process through uvu and ends with one line,
 * `N passed, N failed`, for the whole run. Arguments filter test files by
 * substring, as in `npm test -- tus`.
 */
import { readdir } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const ROOT = fileURLToPath(new URL('.', import.meta.url))

async function findTestFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true })

  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.test.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort()
}

/** Counts uvu's summary lines as they are written, so the closing line needs no second parser. */
function captureSummary() {
  const counts = { total: 0, passed: 0, skipped: 0 }
  const write = process.stdout.write.bind(process.stdout)
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes
    const text = String(chunk).replace(/\u001b\[[0-9;]*m/g, '')
    for (const [name, pattern] of [
      ['total', /Total:\s+(\d+)/],
      ['passed', /Passed:\s+(\d+)/],
      ['skipped', /Skipped:\s+(\d+)/],
    ] as const) {
      const match = pattern.exec(text)
      if (match) {
        counts[name] = Number(match[1])
      }
    }

    return write(chunk as string, ...(rest as []))
  }) as typeof process.stdout.write

  return counts
}

const filters = process.argv.slice(2)
const files = (await findTestFiles(ROOT)).filter(
  (file) => filters.length === 0 || filters.some((filter) => file.includes(filter)),
)
;(globalThis as { UVU_DEFER?: number }).UVU_DEFER = 1
const uvu = await import('uvu')
for (const [index, file] of files.entries()) {
  ;(globalThis as { UVU_INDEX?: number }).UVU_INDEX = index
  ;(globalThis as { UVU_QUEUE?: unknown[][] }).UVU_QUEUE?.push([relative(ROOT, file)])
  await import(pathToFileURL(file).href)
}

const counts = captureSummary()
await uvu.exec()
const { closeSharedGateway } = await import('./helpers/gateway.js')
await closeSharedGateway()
const failed = counts.total - counts.passed - counts.skipped
const skipped = counts.skipped > 0 ? `, ${counts.skipped} skipped` : ''
console.log(`${counts.passed} passed, ${failed} failed${skipped}`)
process.exit(failed > 0 || files.length === 0 ? 1 : 0)
