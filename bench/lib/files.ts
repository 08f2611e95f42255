/**
 * Test files for the benchmarks, written to a temporary folder in 1 MiB
 * writes so no whole file is ever in memory.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { once } from 'node:events'

const FIXTURES = new URL('../../test/fixtures/', import.meta.url).pathname
const BLOCK_BYTES = 1024 * 1024
const BOX_HEADER_BYTES = 8

export interface BenchFile {
  path: string
  size: number
  sha256: string
}

/** Streams `size` bytes into `path`: `head`, then copies of one random block. */
async function writeFile(path: string, size: number, head: Buffer): Promise<BenchFile> {
  const hash = createHash('sha256')
  const out = createWriteStream(path)
  const block = randomBytes(BLOCK_BYTES)
  const write = async (chunk: Buffer) => {
    hash.update(chunk)
    if (!out.write(chunk)) {
      await once(out, 'drain')
    }
  }
  await write(head)
  let remaining = size - head.length
  while (remaining > 0) {
    const chunk = remaining >= BLOCK_BYTES ? block : block.subarray(0, remaining)
    await write(chunk)
    remaining -= chunk.length
  }
  out.end()
  await once(out, 'finish')

  return { path, size, sha256: hash.digest('hex') }
}

/**
 * Writes a valid MP4 of exactly `size` bytes: the fixture's boxes (ftyp,
 * moov, mdat) followed by one top-level `free` box that pads to the size.
 * Players and file-type skip `free` boxes.
 */
export async function writeVideoFile(folder: string, size: number): Promise<BenchFile> {
  const fixture = await readFile(join(FIXTURES, 'fixture.mp4'))
  const freeBytes = size - fixture.length
  if (freeBytes < BOX_HEADER_BYTES || freeBytes > 0xffffffff) {
    throw new Error(`cannot pad the MP4 fixture to ${size} bytes`)
  }
  const header = Buffer.alloc(BOX_HEADER_BYTES)
  header.writeUInt32BE(freeBytes, 0)
  header.write('free', 4, 'latin1')

  return writeFile(join(folder, `video-${size}.mp4`), size, Buffer.concat([fixture, header]))
}

/** Writes random bytes that match no known type, for the mismatch figure. */
export async function writeRandomFile(folder: string, size: number): Promise<BenchFile> {
  return writeFile(join(folder, `random-${size}.bin`), size, Buffer.alloc(0))
}

/** Returns a PNG of exactly `size` bytes: the fixture with zero bytes after its IEND chunk. */
export async function createImage(size: number): Promise<Buffer> {
  const fixture = await readFile(join(FIXTURES, 'fixture.png'))
  const image = Buffer.alloc(size)
  fixture.copy(image)

  return image
}
