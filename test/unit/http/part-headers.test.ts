import { readFileSync } from 'node:fs'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import busboy from 'busboy'
import * as assert from 'uvu/assert'
import { suite } from 'uvu'
import { PartHeaderTap } from '../../../src/http/part-headers.js'

const BOUNDARY = '----media-gateway-7MA4YWxkTrZu0gW'

interface Part {
  headers: string[]
  body: Buffer | string
}

/** Builds a multipart/form-data body: CRLF line ends, a closing delimiter and optional framing text. */
function multipartBody(
  parts: readonly Part[],
  framing: { preamble?: string; epilogue?: string } = {},
): Buffer {
  const pieces: Buffer[] = []
  if (framing.preamble !== undefined) {
    pieces.push(Buffer.from(`${framing.preamble}\r\n`))
  }
  for (const part of parts) {
    pieces.push(Buffer.from(`--${BOUNDARY}\r\n${part.headers.join('\r\n')}\r\n\r\n`))
    pieces.push(Buffer.from(part.body))
    pieces.push(Buffer.from('\r\n'))
  }
  pieces.push(Buffer.from(`--${BOUNDARY}--\r\n${framing.epilogue ?? ''}`))

  return Buffer.concat(pieces)
}

/** Cuts bytes at the given ascending offsets. */
function splitAt(bytes: Buffer, offsets: readonly number[]): Buffer[] {
  const chunks: Buffer[] = []
  let start = 0
  for (const offset of offsets) {
    chunks.push(bytes.subarray(start, offset))
    start = offset
  }
  chunks.push(bytes.subarray(start))

  return chunks
}

/** Pipes the chunks through a new tap and returns it with the bytes that came out. */
async function runTap(chunks: readonly Buffer[]): Promise<{ tap: PartHeaderTap; output: Buffer }> {
  const tap = new PartHeaderTap(BOUNDARY)
  const received: Buffer[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      received.push(chunk)
      callback()
    },
  })
  await pipeline(Readable.from(chunks), tap, sink)

  return { tap, output: Buffer.concat(received) }
}

/**
 * Parses the body with busboy behind the tap, as the multipart route does, and
 * lists the names of the parts busboy reports.
 */
async function parseWithBusboy(body: Buffer): Promise<{ tap: PartHeaderTap; names: string[] }> {
  const tap = new PartHeaderTap(BOUNDARY)
  const parser = busboy({ headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` } })
  const names: string[] = []
  parser.on('field', (name) => {
    names.push(name)
  })
  parser.on('file', (name, stream) => {
    names.push(name)
    stream.resume()
  })
  await pipeline(Readable.from([body]), tap, parser)

  return { tap, names }
}

const png = readFileSync(new URL('../../fixtures/fixture.png', import.meta.url))

const fieldThenFile: Part[] = [
  { headers: ['Content-Disposition: form-data; name="folder"'], body: 'photos/2024' },
  {
    headers: [
      'Content-Disposition: form-data; name="file"; filename="fixture.png"',
      'Content-Type: image/png',
    ],
    body: png,
  },
]

const tapSuite = suite('PartHeaderTap')

tapSuite('records field then file', async () => {
  const body = multipartBody(fieldThenFile)
  const { tap, output } = await runTap([body])

  assert.equal(tap.contentTypes, [null, 'image/png'])
  assert.ok(output.equals(body))
})

tapSuite('records across every split', async () => {
  const body = multipartBody(fieldThenFile)
  for (let offset = 0; offset <= body.length; offset++) {
    const { tap, output } = await runTap(splitAt(body, [offset]))

    assert.equal(tap.contentTypes, [null, 'image/png'], `split at ${offset}`)
    assert.ok(output.equals(body), `split at ${offset} changed the bytes`)
  }
})

tapSuite('records across every pair of splits', async () => {
  const body = multipartBody([
    { headers: ['Content-Disposition: form-data; name="tags"'], body: 'a,b' },
    {
      headers: ['Content-Disposition: form-data; name="file"; filename="a.txt"', 'Content-Type: text/plain'],
      body: 'hi',
    },
  ])
  for (let first = 0; first <= body.length; first++) {
    for (let second = first; second <= body.length; second++) {
      const { tap, output } = await runTap(splitAt(body, [first, second]))

      assert.equal(tap.contentTypes, [null, 'text/plain'], `splits at ${first} and ${second}`)
      assert.ok(output.equals(body), `splits at ${first} and ${second} changed the bytes`)
    }
  }
})

tapSuite('records one-byte chunks', async () => {
  const body = multipartBody(fieldThenFile)
  const { tap, output } = await runTap(splitAt(body, [...Array(body.length).keys()].slice(1)))

  assert.equal(tap.contentTypes, [null, 'image/png'])
  assert.ok(output.equals(body))
})

tapSuite('records null without Content-Type', async () => {
  const body = multipartBody([
    { headers: ['Content-Disposition: form-data; name="file"; filename="fixture.png"'], body: png },
  ])
  const { tap } = await runTap([body])

  assert.equal(tap.contentTypes, [null])
})

tapSuite('keeps raw header value', async () => {
  const body = multipartBody([
    {
      headers: [
        'Content-Disposition: form-data; name="file"; filename="a.txt"',
        'Content-Type: text/plain; charset=utf-8',
      ],
      body: 'hello',
    },
  ])
  const { tap } = await runTap([body])

  assert.equal(tap.contentTypes, ['text/plain; charset=utf-8'])
})

tapSuite('reads header names in any case', async () => {
  const body = multipartBody([
    {
      headers: ['CONTENT-DISPOSITION: form-data; name="file"; filename="a.png"', 'content-type:IMAGE/PNG'],
      body: png,
    },
  ])
  const { tap } = await runTap([body])

  assert.equal(tap.contentTypes, ['IMAGE/PNG'])
})

tapSuite('keeps the first repeated header, as busboy does', async () => {
  const body = multipartBody([
    {
      headers: [
        'Content-Disposition: form-data; name="file"; filename="a.png"',
        'Content-Type: image/png',
        'Content-Disposition: attachment; name="other"',
        'Content-Type: image/jpeg',
      ],
      body: png,
    },
  ])
  const { tap, names } = await parseWithBusboy(body)

  assert.equal(names, ['file'])
  assert.equal(tap.contentTypes, ['image/png'])
})

tapSuite('skips parts without Content-Disposition', async () => {
  const body = multipartBody([
    { headers: ['Content-Type: image/gif'], body: 'no disposition' },
    ...fieldThenFile,
  ])
  const { tap } = await runTap([body])

  assert.equal(tap.contentTypes, [null, 'image/png'])
})

tapSuite('ignores preamble and epilogue', async () => {
  const body = multipartBody(fieldThenFile, {
    preamble: 'This preamble mentions Content-Type: text/html',
    epilogue: 'Content-Disposition: form-data; name="late"\r\n\r\n',
  })
  for (let offset = 0; offset <= body.length; offset += 5) {
    const { tap, output } = await runTap(splitAt(body, [offset]))

    assert.equal(tap.contentTypes, [null, 'image/png'], `split at ${offset}`)
    assert.ok(output.equals(body), `split at ${offset} changed the bytes`)
  }
})

tapSuite('ignores headers inside part bodies', async () => {
  const body = multipartBody([
    {
      headers: ['Content-Disposition: form-data; name="file"; filename="a.txt"', 'Content-Type: text/plain'],
      body: `--${BOUNDARY}\r\nContent-Disposition: form-data; name="x"\r\nContent-Type: image/png\r\n\r\n`,
    },
  ])
  const { tap } = await runTap([body])

  assert.equal(tap.contentTypes, ['text/plain'])
})

tapSuite('matches busboy part order', async () => {
  const body = multipartBody([
    { headers: ['Content-Disposition: form-data; name="tags"'], body: 'summer,beach' },
    { headers: ['Content-Type: image/gif'], body: 'no disposition' },
    ...fieldThenFile,
    { headers: ['Content-Disposition: form-data; name="visibility"'], body: 'private' },
  ])
  const { tap, names } = await parseWithBusboy(body)

  assert.equal(names, ['tags', 'folder', 'file', 'visibility'])
  assert.equal(tap.contentTypes, [null, null, 'image/png', null])
})

tapSuite('skips parts busboy skips', async () => {
  // busboy reports only form-data parts, so an attachment part must not take the file's slot.
  const body = multipartBody([
    { headers: ['Content-Disposition: attachment; name="note"', 'Content-Type: image/png'], body: 'skipped' },
    { headers: ['Content-Disposition: form-data; name="file"; filename="a.txt"'], body: 'no declared type' },
  ])
  const { tap, names } = await parseWithBusboy(body)

  assert.equal(names, ['file'])
  assert.is(tap.contentTypes.length, names.length, 'the tap and busboy count different parts')
  assert.is(tap.contentTypes[0], null, 'the file part took the Content-Type of a skipped part')
})

tapSuite.run()
