import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import * as assert from 'uvu/assert'
import { suite } from 'uvu'
import { AppError } from '../../../src/errors.js'
import { Inspector, type InspectorOptions } from '../../../src/uploads/inspector.js'
import { CATEGORY_LIMIT_BYTES, type MediaType, findMediaType } from '../../../src/uploads/media-types.js'
import type { SavedInspection } from '../../../src/uploads/ports.js'
import { createResumableSha256, createStreamingSha256 } from '../../../src/uploads/sha256.js'
import { SNIFF_HEAD_BYTES } from '../../../src/uploads/sniff.js'

const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'
const CHUNK_SIZES = [1, 7, 64 * 1024]

/** An Inspector that records every chunk it pushes downstream, even ones a failed pipeline drops. */
class RecordingInspector extends Inspector {
  readonly pushed: Buffer[] = []

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk !== null) {
      this.pushed.push(Buffer.from(chunk as Uint8Array))
    }

    return super.push(chunk, encoding)
  }

  get pushedBytes(): Buffer {
    return Buffer.concat(this.pushed)
  }
}

interface Run {
  inspector: RecordingInspector
  output: Buffer
  error: unknown
}

function readFixture(name: string): Buffer {
  return readFileSync(new URL(`../../fixtures/${name}`, import.meta.url))
}

function mediaType(mime: string): MediaType {
  const type = findMediaType(mime)
  if (!type) {
    throw new Error(`${mime} is not an accepted media type`)
  }

  return type
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

function chunksOf(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = []
  for (let start = 0; start < bytes.length; start += size) {
    chunks.push(bytes.subarray(start, start + size))
  }

  return chunks
}

function options(mime: string, overrides: Partial<InspectorOptions> = {}): InspectorOptions {
  const declared = mediaType(mime)

  return {
    declared,
    limitBytes: CATEGORY_LIMIT_BYTES[declared.category],
    offset: 0,
    size: null,
    // A stream with a stated size is one request of a resumable upload, not a whole body.
    isWholeStream: !('size' in overrides),
    sha256: createStreamingSha256(),
    ...overrides,
  }
}

/** Pipes bytes through a new inspector in chunks of `chunkSize` into a collecting sink. */
async function runInspector(
  bytes: Buffer,
  inspectorOptions: InspectorOptions,
  chunkSize: number,
): Promise<Run> {
  const inspector = new RecordingInspector(inspectorOptions)
  const received: Buffer[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      received.push(chunk)
      callback()
    },
  })
  let error: unknown = null
  try {
    await pipeline(Readable.from(chunksOf(bytes, chunkSize)), inspector, sink)
  } catch (caught) {
    error = caught
  }

  return { inspector, output: Buffer.concat(received), error }
}

function assertAppError(error: unknown, code: string, label: string): AppError {
  assert.instance(error, AppError, label)

  const appError = error as AppError

  assert.is(appError.code, code, label)

  return appError
}

/** Saves the state as the resumable upload stores it, in a JSON column. */
function roundTrip(saved: SavedInspection | null): SavedInspection {
  assert.ok(saved, 'save() returned null')

  return JSON.parse(JSON.stringify(saved)) as SavedInspection
}

/**
 * 1500 copies of fixture.txt: 153,000 bytes, over two sniffed heads, with two-,
 * three- and four-byte UTF-8 characters.
 */
function largeText(): Buffer {
  const line = readFixture('fixture.txt')

  return Buffer.concat(Array(1500).fill(line))
}

/** The PNG fixture followed by deterministic filler, so the file is larger than the sniffed head. */
function largePng(): Buffer {
  const filler = Buffer.alloc(100_000)
  for (let index = 0; index < filler.length; index++) {
    filler[index] = (index * 31 + 7) % 256
  }

  return Buffer.concat([readFixture('fixture.png'), filler])
}

const FIXTURES: [string, string][] = [
  ['fixture.png', 'image/png'],
  ['fixture.jpg', 'image/jpeg'],
  ['fixture.tiff', 'image/tiff'],
  ['fixture.svg', 'image/svg+xml'],
  ['fixture.mp3', 'audio/mpeg'],
  ['fixture.mp4', 'video/mp4'],
  ['fixture.pdf', 'application/pdf'],
  ['fixture.docx', DOCX],
  ['fixture.txt', 'text/plain'],
  ['fixture-utf16.txt', 'text/plain'],
  ['fixture.csv', 'text/csv'],
  ['fixture.json', 'application/json'],
  ['fixture.md', 'text/markdown'],
  ['fixture-empty.txt', 'text/plain'],
]

const inspectorSuite = suite('Inspector')

inspectorSuite('hashes fixtures in any chunk size', async () => {
  for (const [name, mime] of FIXTURES) {
    const bytes = readFixture(name)
    for (const chunkSize of CHUNK_SIZES) {
      const label = `${name} in ${chunkSize}-byte chunks`
      const { inspector, output, error } = await runInspector(bytes, options(mime), chunkSize)

      assert.is(error, null, label)

      const result = inspector.result()

      assert.is(result.sha256, sha256Hex(bytes), label)
      assert.is(result.contentType, mime, label)
      assert.is(result.size, bytes.length, label)
      assert.not.ok(result.needsContainerCheck, label)
      assert.ok(output.equals(bytes), label)
      assert.ok(inspector.pushedBytes.equals(bytes), label)
    }
  }
})

inspectorSuite('decides type when size is reached', async () => {
  for (const [name, mime] of FIXTURES) {
    const bytes = readFixture(name)
    const { inspector, output, error } = await runInspector(bytes, options(mime, { size: bytes.length }), 7)

    assert.is(error, null, name)

    // result() finishes the hash, so it can be called only once.
    const result = inspector.result()

    assert.is(result.contentType, mime, name)
    assert.is(result.sha256, sha256Hex(bytes), name)
    assert.ok(output.equals(bytes), name)
  }
})

inspectorSuite('passes large files through', async () => {
  for (const [bytes, mime] of [
    [largePng(), 'image/png'],
    [largeText(), 'text/plain'],
  ] as const) {
    for (const chunkSize of CHUNK_SIZES) {
      const label = `${mime} in ${chunkSize}-byte chunks`
      const { inspector, output, error } = await runInspector(bytes, options(mime), chunkSize)

      assert.is(error, null, label)
      assert.is(inspector.result().sha256, sha256Hex(bytes), label)
      assert.ok(output.equals(bytes), label)
    }
  }
})

inspectorSuite('marks ZIP head provisional', async () => {
  const bytes = readFixture('hostile-zip.zip')
  const { inspector, error } = await runInspector(bytes, options(DOCX), 7)

  assert.is(error, null)

  const result = inspector.result()

  assert.is(result.contentType, DOCX)
  assert.ok(result.needsContainerCheck)
})

inspectorSuite('rejects mismatched head without output', async () => {
  const bytes = readFixture('fixture.png')
  for (const chunkSize of CHUNK_SIZES) {
    const label = `${chunkSize}-byte chunks`
    const { inspector, output, error } = await runInspector(bytes, options('image/jpeg'), chunkSize)
    const appError = assertAppError(error, 'bad_request', label)

    assert.is(appError.details.declared_content_type, 'image/jpeg', label)
    assert.is(appError.details.detected_content_type, 'image/png', label)
    assert.is(inspector.pushedBytes.length, 0, label)
    assert.is(output.length, 0, label)
  }
})

inspectorSuite('rejects mismatch past the head', async () => {
  const bytes = largePng()
  for (const chunkSize of CHUNK_SIZES) {
    const label = `${chunkSize}-byte chunks`
    const { inspector, output, error } = await runInspector(bytes, options('image/jpeg'), chunkSize)
    const appError = assertAppError(error, 'bad_request', label)

    assert.is(appError.details.detected_content_type, 'image/png', label)
    assert.is(inspector.pushedBytes.length, 0, label)
    assert.is(output.length, 0, label)
  }
})

inspectorSuite('rejects text with NUL', async () => {
  const { inspector, error } = await runInspector(readFixture('hostile-nul.txt'), options('text/plain'), 7)
  const appError = assertAppError(error, 'bad_request', 'hostile-nul.txt')

  assert.is(appError.details.detected_content_type, 'application/octet-stream')
  assert.is(inspector.pushedBytes.length, 0)
})

inspectorSuite('rejects invalid text past the head', async () => {
  const bytes = Buffer.concat([largeText(), Buffer.from([0xc3, 0x28])])
  const { error } = await runInspector(bytes, options('text/plain'), 64 * 1024)

  assertAppError(error, 'bad_request', 'invalid UTF-8 after the head')
})

inspectorSuite('rejects text ending mid-character', async () => {
  const text = Buffer.from('caf\u00e9', 'utf8')
  const bytes = text.subarray(0, text.length - 1)
  const { inspector, error } = await runInspector(bytes, options('text/plain'), 1)

  assert.is(error, null)

  let resultError: unknown = null
  try {
    inspector.result()
  } catch (caught) {
    resultError = caught
  }

  assertAppError(resultError, 'bad_request', 'truncated character')
})

inspectorSuite('rejects HTML declared as SVG', async () => {
  const { error } = await runInspector(readFixture('hostile-html.svg'), options('image/svg+xml'), 7)
  const appError = assertAppError(error, 'bad_request', 'hostile-html.svg')

  assert.is(appError.details.detected_content_type, 'text/plain')
})

inspectorSuite('rejects bytes over limit', async () => {
  const bytes = readFixture('fixture.pdf')
  for (const chunkSize of CHUNK_SIZES) {
    const label = `${chunkSize}-byte chunks`
    const limited = options('application/pdf', { limitBytes: bytes.length - 1 })
    const { error } = await runInspector(bytes, limited, chunkSize)
    const appError = assertAppError(error, 'too_large', label)

    assert.is(appError.status, 413, label)
    assert.is(appError.details.limit, bytes.length - 1, label)
    assert.is(appError.details.category, 'document', label)
  }
})

inspectorSuite('accepts bytes at limit', async () => {
  const bytes = readFixture('fixture.pdf')
  const limited = options('application/pdf', { limitBytes: bytes.length })
  const { inspector, error } = await runInspector(bytes, limited, 7)

  assert.is(error, null)
  assert.is(inspector.result().size, bytes.length)
})

inspectorSuite('counts offset against limit', async () => {
  const bytes = readFixture('fixture.png')
  const countOnly = options('image/png', {
    offset: 1000,
    limitBytes: 1000 + bytes.length - 1,
    sha256: null,
    isCountOnly: true,
  })
  const { error } = await runInspector(bytes, countOnly, 7)

  assertAppError(error, 'too_large', 'count-only stream')
})

inspectorSuite('resumes across two inspectors', async () => {
  const cases: [string, Buffer, string][] = [
    ['fixture.png', readFixture('fixture.png'), 'image/png'],
    ['fixture.pdf', readFixture('fixture.pdf'), 'application/pdf'],
    ['fixture.svg', readFixture('fixture.svg'), 'image/svg+xml'],
    ['fixture.txt', readFixture('fixture.txt'), 'text/plain'],
    ['fixture-utf16.txt', readFixture('fixture-utf16.txt'), 'text/plain'],
    ['large PNG', largePng(), 'image/png'],
    ['large text', largeText(), 'text/plain'],
  ]
  for (const [name, bytes, mime] of cases) {
    const expectedHash = sha256Hex(bytes)
    const aroundHead = [SNIFF_HEAD_BYTES - 1, SNIFF_HEAD_BYTES, SNIFF_HEAD_BYTES + 1]
    const candidates = [1, 2, 7, 33, 100, 5000, ...aroundHead, 100_000]
    // Offsets of UTF-8 continuation bytes, which cut a multi-byte character in two.
    const insideCharacter = [...bytes.keys()].filter((index) => (bytes[index] & 0xc0) === 0x80).slice(0, 3)
    const offsets = [...candidates, ...insideCharacter, bytes.length - 1].filter(
      (offset) => offset > 0 && offset < bytes.length,
    )
    for (const offset of offsets) {
      const label = `${name} split at ${offset}`
      const first = await runInspector(
        bytes.subarray(0, offset),
        options(mime, { size: bytes.length, sha256: await createResumableSha256() }),
        4096,
      )

      assert.is(first.error, null, label)

      const saved = roundTrip(first.inspector.save(offset))

      assert.is(saved.offset, offset, label)
      // A request ending with 4100 head bytes or more is judged at once; these fixtures are all known by then.
      assert.is(saved.detectedType === null, offset < 4100, label)
      assert.is(saved.head !== null, offset < 4100, label)

      const second = await runInspector(
        bytes.subarray(offset),
        options(mime, {
          offset,
          size: bytes.length,
          sha256: await createResumableSha256(saved.hashState),
          saved,
        }),
        4096,
      )

      assert.is(second.error, null, label)

      const result = second.inspector.result()

      assert.is(result.sha256, expectedHash, label)
      assert.is(result.contentType, mime, label)
      assert.is(result.size, bytes.length, label)
      assert.ok(Buffer.concat([first.output, second.output]).equals(bytes), label)
    }
  }
})

inspectorSuite('resumes UTF-16 at every offset', async () => {
  // U+1F642 is a surrogate pair, so some offsets fall inside it.
  const text = Buffer.from('a \u{1F642} b\n'.repeat(4), 'utf16le')
  const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), text])
  const expectedHash = sha256Hex(bytes)
  for (let offset = 1; offset < bytes.length; offset++) {
    const label = `split at ${offset}`
    const first = await runInspector(
      bytes.subarray(0, offset),
      options('text/plain', { size: bytes.length, sha256: await createResumableSha256() }),
      3,
    )
    const saved = roundTrip(first.inspector.save(offset))
    const second = await runInspector(
      bytes.subarray(offset),
      options('text/plain', {
        offset,
        size: bytes.length,
        sha256: await createResumableSha256(saved.hashState),
        saved,
      }),
      3,
    )

    assert.is(first.error, null, label)
    assert.is(second.error, null, label)

    const result = second.inspector.result()

    assert.is(result.sha256, expectedHash, label)
    assert.is(result.contentType, 'text/plain', label)
  }
})

inspectorSuite('rejects mismatch found after resume', async () => {
  const bytes = readFixture('fixture.png')
  const first = await runInspector(
    bytes.subarray(0, 4),
    options('image/jpeg', { size: bytes.length, sha256: await createResumableSha256() }),
    1,
  )

  assert.is(first.error, null)

  const saved = roundTrip(first.inspector.save(4))
  const second = await runInspector(
    bytes.subarray(4),
    options('image/jpeg', {
      offset: 4,
      size: bytes.length,
      sha256: await createResumableSha256(saved.hashState),
      saved,
    }),
    7,
  )
  const appError = assertAppError(second.error, 'bad_request', 'second request')

  assert.is(appError.details.detected_content_type, 'image/png')
  assert.is(second.inspector.pushedBytes.length, 0)
})

inspectorSuite('save returns null when unresumable', async () => {
  const bytes = readFixture('fixture.png')
  const resumable = await runInspector(
    bytes,
    options('image/png', { size: bytes.length, sha256: await createResumableSha256() }),
    7,
  )
  const streaming = await runInspector(bytes, options('image/png', { size: bytes.length }), 7)

  assert.is(resumable.inspector.save(bytes.length - 1), null)
  assert.ok(resumable.inspector.save(bytes.length))
  assert.is(streaming.inspector.save(bytes.length), null)
})

inspectorSuite.run()

const earlySuite = suite('Inspector early verdict')

earlySuite('judges a short first request', async () => {
  const video = readFixture('fixture.mp4')
  const head = Buffer.concat([video, Buffer.alloc(8192 - video.length)])
  const { error } = await runInspector(
    head,
    options('image/png', { size: 10_000_000, sha256: await createResumableSha256() }),
    1024,
  )

  assertAppError(error, 'bad_request', 'an 8 KiB first request of video declared as PNG')
})

earlySuite('waits on a tiny first request', async () => {
  const png = readFixture('fixture.png')
  const { error, inspector } = await runInspector(
    png.subarray(0, 100),
    options('image/png', { size: 10_000_000, sha256: await createResumableSha256() }),
    1024,
  )

  assert.is(error, null)
  assert.is(inspector.save(100)?.detectedType, null)
})

earlySuite.run()

const hashSuite = suite('Inspector hashing')

hashSuite('hashes every byte past the wait threshold', async () => {
  // 40 MiB is more than the 16 MiB the inspector lets run ahead of its hash.
  const video = readFixture('fixture.mp4')
  const bytes = Buffer.concat([video, Buffer.alloc(40 * 1024 * 1024 - video.length, 7)])
  const run = await runInspector(bytes, options('video/mp4', { size: bytes.length }), 64 * 1024)

  assert.is(run.error, null)
  assert.is(run.output.length, bytes.length)
  assert.is(run.inspector.result().sha256, sha256Hex(bytes))
})

hashSuite.run()
