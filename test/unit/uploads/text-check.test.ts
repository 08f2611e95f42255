import { readFileSync } from 'node:fs'
import * as assert from 'uvu/assert'
import { suite } from 'uvu'
import {
  type TextCheckState,
  createTextCheckState,
  decodeTextHead,
  isTextComplete,
  updateTextCheck,
} from '../../../src/uploads/text-check.js'

function readFixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../../fixtures/${name}`, import.meta.url)))
}

/** Saves the state as the resumable upload stores it (pending as base64 in JSON) and loads it back. */
function roundTrip(state: TextCheckState): TextCheckState {
  const json = JSON.stringify({ ...state, pending: Buffer.from(state.pending).toString('base64') })
  const parsed = JSON.parse(json) as Omit<TextCheckState, 'pending'> & { pending: string }

  return { ...parsed, pending: new Uint8Array(Buffer.from(parsed.pending, 'base64')) }
}

/** Feeds each chunk in turn, saving and restoring the state between chunks. */
function checkChunks(chunks: readonly Uint8Array[]): TextCheckState {
  let state = createTextCheckState()
  for (const chunk of chunks) {
    state = roundTrip(updateTextCheck(state, chunk))
  }

  return state
}

/** Cuts bytes at the given ascending offsets. */
function splitAt(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = []
  let start = 0
  for (const offset of offsets) {
    chunks.push(bytes.subarray(start, offset))
    start = offset
  }
  chunks.push(bytes.subarray(start))

  return chunks
}

function utf16le(text: string): Uint8Array {
  return new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]))
}

function utf16be(text: string): Uint8Array {
  const swapped = Buffer.from(text, 'utf16le').swap16()

  return new Uint8Array(Buffer.concat([Buffer.from([0xfe, 0xff]), swapped]))
}

function bytesOf(...values: number[]): Uint8Array {
  return new Uint8Array(values)
}

const utf8 = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'))

const updateSuite = suite('updateTextCheck')

updateSuite('accepts UTF-8 fixture', () => {
  const state = checkChunks([readFixture('fixture.txt')])

  assert.is(state.encoding, 'utf-8')
  assert.ok(state.isValid)
  assert.ok(isTextComplete(state))
})

updateSuite('accepts empty input', () => {
  const fresh = createTextCheckState()
  const afterEmptyChunk = updateTextCheck(fresh, new Uint8Array(0))
  const fromFixture = checkChunks([readFixture('fixture-empty.txt')])

  assert.ok(isTextComplete(fresh))
  assert.ok(isTextComplete(afterEmptyChunk))
  assert.ok(isTextComplete(fromFixture))
  assert.is(fromFixture.seenBytes, 0)
})

updateSuite('accepts UTF-8 split anywhere', () => {
  const bytes = readFixture('fixture.txt')
  for (let offset = 0; offset <= bytes.length; offset++) {
    const state = checkChunks(splitAt(bytes, [offset]))

    assert.ok(state.isValid, `split at ${offset} made the text invalid`)
    assert.ok(isTextComplete(state), `split at ${offset} left the text incomplete`)
    assert.is(state.seenBytes, bytes.length)
  }
})

updateSuite('splits four-byte sequence anywhere', () => {
  // U+1F642 is F0 9F 99 82 in UTF-8.
  const bytes = utf8('a\u{1F642}b')
  for (let first = 0; first <= bytes.length; first++) {
    for (let second = first; second <= bytes.length; second++) {
      const state = checkChunks(splitAt(bytes, [first, second]))

      assert.ok(isTextComplete(state), `splits at ${first} and ${second} left the text incomplete`)
    }
  }
})

updateSuite('carries incomplete sequence as pending', () => {
  // U+00E9 is C3 A9 in UTF-8.
  const head = roundTrip(updateTextCheck(createTextCheckState(), bytesOf(0x63, 0x61, 0x66, 0xc3)))

  assert.ok(head.isValid)
  assert.equal([...head.pending], [0xc3])
  assert.not.ok(isTextComplete(head))

  const whole = updateTextCheck(head, bytesOf(0xa9))

  assert.equal([...whole.pending], [])
  assert.ok(isTextComplete(whole))
})

updateSuite('accepts one-byte chunks', () => {
  const bytes = readFixture('fixture.txt')
  const state = checkChunks(splitAt(bytes, [...Array(bytes.length).keys()].slice(1)))

  assert.ok(isTextComplete(state))
  assert.is(state.seenBytes, bytes.length)
})

updateSuite('waits on single-byte first chunk', () => {
  const bytes = readFixture('fixture-utf16.txt')
  const first = roundTrip(updateTextCheck(createTextCheckState(), bytes.subarray(0, 1)))

  assert.is(first.encoding, undefined)
  assert.equal([...first.pending], [0xff])
  assert.ok(first.isValid)

  const rest = updateTextCheck(first, bytes.subarray(1))

  assert.is(rest.encoding, 'utf-16le')
  assert.ok(isTextComplete(rest))
})

updateSuite('judges single-byte input alone', () => {
  assert.ok(isTextComplete(checkChunks([utf8('a')])))
  assert.not.ok(isTextComplete(checkChunks([bytesOf(0x00)])))
  assert.not.ok(isTextComplete(checkChunks([bytesOf(0xc3)])))
  assert.not.ok(isTextComplete(checkChunks([bytesOf(0xff)])))
})

updateSuite('detects UTF-16LE from BOM', () => {
  const state = checkChunks([readFixture('fixture-utf16.txt')])

  assert.is(state.encoding, 'utf-16le')
  assert.ok(isTextComplete(state))
})

updateSuite('detects UTF-16BE from BOM', () => {
  const state = checkChunks([utf16be('big endian, caf\u00e9 \u{1F642}')])

  assert.is(state.encoding, 'utf-16be')
  assert.ok(isTextComplete(state))
})

updateSuite('splits UTF-16 surrogate pair anywhere', () => {
  for (const bytes of [utf16le('a\u{1F642}b'), utf16be('a\u{1F642}b')]) {
    for (let first = 0; first <= bytes.length; first++) {
      for (let second = first; second <= bytes.length; second++) {
        const state = checkChunks(splitAt(bytes, [first, second]))

        assert.ok(state.isValid, `splits at ${first} and ${second} made the text invalid`)
        assert.ok(isTextComplete(state), `splits at ${first} and ${second} left the text incomplete`)
      }
    }
  }
})

updateSuite('accepts UTF-16 fixture split anywhere', () => {
  const bytes = readFixture('fixture-utf16.txt')
  for (let offset = 0; offset <= bytes.length; offset++) {
    const state = checkChunks(splitAt(bytes, [offset]))

    assert.ok(isTextComplete(state), `split at ${offset} left the text incomplete`)
  }
})

updateSuite('rejects lone high surrogate', () => {
  // 3D D8 is the high surrogate U+D83D in little-endian order.
  const atEnd = checkChunks([utf16le('a'), bytesOf(0x3d, 0xd8)])
  const beforeLetter = checkChunks([utf16le('a'), bytesOf(0x3d, 0xd8), bytesOf(0x62, 0x00)])

  assert.ok(atEnd.isValid)
  assert.not.ok(isTextComplete(atEnd))
  assert.not.ok(beforeLetter.isValid)
})

updateSuite('rejects lone low surrogate', () => {
  // 42 DE is the low surrogate U+DE42 in little-endian order.
  const state = checkChunks([utf16le('a'), bytesOf(0x42, 0xde, 0x62, 0x00)])

  assert.not.ok(state.isValid)
  assert.not.ok(isTextComplete(state))
})

updateSuite('rejects odd UTF-16 length', () => {
  const state = checkChunks([utf16le('ab'), bytesOf(0x63)])

  assert.ok(state.isValid)
  assert.not.ok(isTextComplete(state))
})

updateSuite('rejects NUL in UTF-8', () => {
  const fixture = checkChunks([readFixture('hostile-nul.txt')])
  const leading = checkChunks([bytesOf(0x00), utf8('abc')])

  assert.not.ok(fixture.isValid)
  assert.not.ok(isTextComplete(fixture))
  assert.not.ok(leading.isValid)
})

updateSuite('rejects NUL in UTF-16', () => {
  const state = checkChunks([utf16le('a\u0000b')])

  assert.not.ok(state.isValid)
})

updateSuite('rejects UTF-16 without BOM', () => {
  const state = checkChunks([new Uint8Array(Buffer.from('ab', 'utf16le'))])

  assert.is(state.encoding, 'utf-8')
  assert.not.ok(state.isValid)
})

updateSuite('rejects invalid UTF-8 split anywhere', () => {
  const bytes = readFixture('hostile-invalid-utf8.txt')
  for (let offset = 0; offset <= bytes.length; offset++) {
    const state = checkChunks(splitAt(bytes, [offset]))

    assert.not.ok(isTextComplete(state), `split at ${offset} accepted invalid UTF-8`)
  }
})

updateSuite('rejects truncated final sequence', () => {
  // E2 82 AC is U+20AC, cut before its last byte.
  const state = checkChunks([utf8('price: '), bytesOf(0xe2, 0x82)])

  assert.ok(state.isValid)
  assert.equal([...state.pending], [0xe2, 0x82])
  assert.not.ok(isTextComplete(state))
})

updateSuite('stays invalid after failure', () => {
  const invalid = checkChunks([readFixture('hostile-nul.txt')])
  const after = updateTextCheck(invalid, utf8('more valid text'))

  assert.not.ok(after.isValid)
  assert.not.ok(isTextComplete(after))
})

updateSuite('accepts UTF-8 BOM split inside', () => {
  const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...utf8('text after a BOM')])
  for (let offset = 0; offset <= 4; offset++) {
    const state = checkChunks(splitAt(bytes, [offset]))

    assert.is(state.encoding, 'utf-8')
    assert.ok(isTextComplete(state), `split at ${offset} left the text incomplete`)
  }
})

updateSuite.run()

const decodeSuite = suite('decodeTextHead')

decodeSuite('decodes UTF-8 head', () => {
  assert.is(decodeTextHead(utf8('caf\u00e9')), 'caf\u00e9')
})

decodeSuite('drops incomplete trailing sequence', () => {
  const bytes = utf8('caf\u00e9')

  assert.is(decodeTextHead(bytes.subarray(0, bytes.length - 1)), 'caf')
})

decodeSuite('drops UTF-16 BOM', () => {
  const text = decodeTextHead(readFixture('fixture-utf16.txt'))

  assert.ok(text?.startsWith('UTF-16LE text fixture.'))
})

decodeSuite('decodes UTF-16BE head', () => {
  assert.is(decodeTextHead(utf16be('<svg/>')), '<svg/>')
})

decodeSuite('decodes single bytes', () => {
  assert.is(decodeTextHead(utf8('a')), 'a')
  assert.is(decodeTextHead(bytesOf(0x00)), undefined)
  assert.is(decodeTextHead(bytesOf(0x80)), undefined)
})

decodeSuite('decodes empty head', () => {
  assert.is(decodeTextHead(new Uint8Array(0)), '')
})

decodeSuite('rejects NUL and invalid bytes', () => {
  assert.is(decodeTextHead(readFixture('hostile-nul.txt')), undefined)
  assert.is(decodeTextHead(readFixture('hostile-invalid-utf8.txt')), undefined)
})

decodeSuite.run()
