import { readFileSync } from 'node:fs'
import { fileTypeFromBuffer } from 'file-type'
import * as assert from 'uvu/assert'
import { suite } from 'uvu'
import { type MediaType, findMediaType } from '../../../src/uploads/media-types.js'
import {
  SNIFF_HEAD_BYTES,
  UNKNOWN_TYPE,
  detectMediaType,
  hasSvgRoot,
  isDetectedMatch,
  needsContainerCheck,
} from '../../../src/uploads/sniff.js'

const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'
const PPTX = 'application/vnd.openxmlformats-officedocument.presentationml.presentation'

function readFixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../../fixtures/${name}`, import.meta.url)))
}

function mediaType(mime: string): MediaType {
  const type = findMediaType(mime)
  if (!type) {
    throw new Error(`${mime} is not an accepted media type`)
  }

  return type
}

const utf8 = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'))

function utf16le(text: string): Uint8Array {
  return new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]))
}

const detectSuite = suite('detectMediaType')

detectSuite('detects every fixture', async () => {
  const expected: [string, string][] = [
    ['fixture.png', 'image/png'],
    ['fixture.jpg', 'image/jpeg'],
    ['fixture.gif', 'image/gif'],
    ['fixture.webp', 'image/webp'],
    ['fixture.avif', 'image/avif'],
    ['fixture.tiff', 'image/tiff'],
    ['fixture.bmp', 'image/bmp'],
    ['fixture.svg', 'image/svg+xml'],
    ['fixture-noxmldecl.svg', 'image/svg+xml'],
    ['fixture.mp4', 'video/mp4'],
    ['fixture.webm', 'video/webm'],
    ['fixture.mov', 'video/quicktime'],
    ['fixture.mkv', 'video/matroska'],
    ['fixture.wav', 'audio/wav'],
    ['fixture.mp3', 'audio/mpeg'],
    ['fixture-noid3.mp3', 'audio/mpeg'],
    ['fixture.ogg', 'audio/ogg'],
    ['fixture.opus', 'audio/ogg'],
    ['fixture.flac', 'audio/flac'],
    ['fixture.m4a', 'audio/mp4'],
    ['fixture.pdf', 'application/pdf'],
    ['fixture.docx', DOCX],
    ['fixture.xlsx', XLSX],
    ['fixture.pptx', PPTX],
    ['fixture.odt', 'application/vnd.oasis.opendocument.text'],
    ['fixture.txt', 'text/plain'],
    ['fixture-utf16.txt', 'text/plain'],
    ['fixture.csv', 'text/plain'],
    ['fixture.json', 'text/plain'],
    ['fixture.md', 'text/plain'],
    ['fixture-empty.txt', 'text/plain'],
  ]
  for (const [name, type] of expected) {
    assert.is(await detectMediaType(readFixture(name)), type, name)
  }
})

detectSuite('detects hostile fixtures', async () => {
  const expected: [string, string][] = [
    ['hostile-nul.txt', UNKNOWN_TYPE],
    ['hostile-invalid-utf8.txt', UNKNOWN_TYPE],
    ['hostile-script.svg', 'image/svg+xml'],
    ['hostile-html.svg', 'text/plain'],
    ['hostile-exe.bin', 'application/x-msdownload'],
    ['hostile-png-truncated.png', 'image/png'],
    ['hostile-polyglot.jpg', 'image/png'],
    ['hostile-zip.zip', 'application/zip'],
  ]
  for (const [name, type] of expected) {
    assert.is(await detectMediaType(readFixture(name)), type, name)
  }
})

detectSuite('reads UTF-16LE text as text', async () => {
  const bytes = readFixture('fixture-utf16.txt')
  // FF FE also reads as an MPEG audio frame header, so file-type alone reports audio/mpeg.
  const byFileType = await fileTypeFromBuffer(bytes)
  const detected = await detectMediaType(bytes)

  assert.is(byFileType?.mime, 'audio/mpeg')
  assert.is.not(detected, 'audio/mpeg')
  assert.is(detected, 'text/plain')
})

detectSuite('detects UTF-16 SVG', async () => {
  const svg = readFileSync(new URL('../../fixtures/fixture.svg', import.meta.url), 'utf8')

  assert.is(await detectMediaType(utf16le(svg)), 'image/svg+xml')
})

detectSuite('detects UTF-8 BOM SVG', async () => {
  const svg = readFixture('fixture-noxmldecl.svg')

  assert.is(await detectMediaType(new Uint8Array([0xef, 0xbb, 0xbf, ...svg])), 'image/svg+xml')
})

detectSuite('detects TIFF head without directory', async () => {
  const tiff = readFixture('fixture.tiff')
  for (const length of [4, 8, 16, 64]) {
    assert.is(await detectMediaType(tiff.subarray(0, length)), 'image/tiff', `first ${length} bytes`)
  }

  // A little-endian header whose first image directory lies past a 64 KiB head.
  const head = new Uint8Array(SNIFF_HEAD_BYTES)
  head.set([0x49, 0x49, 0x2a, 0x00, 0x00, 0x00, 0x02, 0x00])

  assert.is(await detectMediaType(head), 'image/tiff')

  const bigEndian = new Uint8Array(1024)
  bigEndian.set([0x4d, 0x4d, 0x00, 0x2a, 0x00, 0x02, 0x00, 0x00])

  assert.is(await detectMediaType(bigEndian), 'image/tiff')
})

detectSuite('reports office head as ZIP', async () => {
  const docx = readFixture('fixture.docx')

  assert.is(await detectMediaType(docx.subarray(0, 1000)), 'application/zip')
})

detectSuite('drops trailing partial character', async () => {
  const text = utf8('caf\u00e9 \u{1F642}')

  assert.is(await detectMediaType(text.subarray(0, text.length - 2)), 'text/plain')
})

detectSuite.run()

const svgSuite = suite('hasSvgRoot')

svgSuite('accepts bare svg root', () => {
  assert.ok(hasSvgRoot('<svg xmlns="http://www.w3.org/2000/svg"/>'))
  assert.ok(hasSvgRoot('<svg>'))
  assert.ok(hasSvgRoot('<svg\nwidth="1">'))
  assert.ok(hasSvgRoot('<svg/>'))
})

svgSuite('skips XML declaration', () => {
  assert.ok(hasSvgRoot('<?xml version="1.0" encoding="UTF-8"?>\n<svg>'))
  assert.ok(hasSvgRoot('<?xml version="1.0"?><?xml-stylesheet href="a.css"?><svg>'))
})

svgSuite('skips comments', () => {
  assert.ok(hasSvgRoot('<!-- made by hand -->\n<svg>'))
  assert.ok(hasSvgRoot('<?xml version="1.0"?>\n<!-- one -->\n<!-- two\nlines -->\n<svg>'))
})

svgSuite('skips DOCTYPE', () => {
  const publicId =
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
  const internalSubset = '<!DOCTYPE svg [\n  <!ENTITY color "red">\n]>'

  assert.ok(hasSvgRoot(`${publicId}\n<svg>`))
  assert.ok(hasSvgRoot(`<?xml version="1.0"?>\n${internalSubset}\n<svg>`))
})

svgSuite('accepts namespaced root', () => {
  assert.ok(hasSvgRoot('<svg:svg xmlns:svg="http://www.w3.org/2000/svg">'))
  assert.ok(hasSvgRoot('<?xml version="1.0"?>\n<s:svg xmlns:s="http://www.w3.org/2000/svg"/>'))
})

svgSuite('skips BOM and whitespace', () => {
  assert.ok(hasSvgRoot('\uFEFF<svg>'))
  assert.ok(hasSvgRoot('\uFEFF  \n\t<?xml version="1.0"?>\n  <svg>'))
})

svgSuite('rejects HTML root', () => {
  const html = readFileSync(new URL('../../fixtures/hostile-html.svg', import.meta.url), 'utf8')

  assert.not.ok(hasSvgRoot(html))
  assert.not.ok(hasSvgRoot('<html><body><svg></svg></body></html>'))
  assert.not.ok(hasSvgRoot('<!-- <svg> -->\n<html>'))
})

svgSuite('rejects look-alike roots', () => {
  assert.not.ok(hasSvgRoot('<svgx>'))
  assert.not.ok(hasSvgRoot('<svg'))
  assert.not.ok(hasSvgRoot('text mentioning <svg>'))
  assert.not.ok(hasSvgRoot('<!-- unterminated comment <svg>'))
  assert.not.ok(hasSvgRoot(''))
})

svgSuite.run()

const matchSuite = suite('isDetectedMatch')

matchSuite('matches magic types exactly', () => {
  const png = mediaType('image/png')
  const zip = readFixture('hostile-zip.zip')

  assert.ok(isDetectedMatch(png, 'image/png', readFixture('fixture.png')))
  assert.not.ok(isDetectedMatch(png, 'image/jpeg', readFixture('fixture.jpg')))
  assert.not.ok(isDetectedMatch(png, 'text/plain', utf8('hello')))
  assert.not.ok(isDetectedMatch(mediaType('application/pdf'), 'application/zip', zip))
})

matchSuite('accepts any text as text family', () => {
  const head = readFixture('fixture.csv')
  for (const mime of ['text/plain', 'text/csv', 'text/markdown']) {
    assert.ok(isDetectedMatch(mediaType(mime), 'text/plain', head), mime)
    assert.not.ok(isDetectedMatch(mediaType(mime), 'image/png', readFixture('fixture.png')), mime)
    assert.not.ok(isDetectedMatch(mediaType(mime), UNKNOWN_TYPE, readFixture('hostile-nul.txt')), mime)
  }
})

matchSuite('prefers clean text over a signature', () => {
  const head = utf8('BMI,weight\n1,2\n')

  assert.ok(isDetectedMatch(mediaType('text/csv'), 'image/bmp', head))
  assert.not.ok(isDetectedMatch(mediaType('application/json'), 'image/bmp', head))
})

matchSuite('requires JSON-like start', () => {
  const json = mediaType('application/json')

  assert.ok(isDetectedMatch(json, 'text/plain', readFixture('fixture.json')))
  assert.ok(isDetectedMatch(json, 'text/plain', utf8('[1, 2]')))
  assert.ok(isDetectedMatch(json, 'text/plain', utf8('  \n"string"')))
  assert.ok(isDetectedMatch(json, 'text/plain', utf8('-12.5')))
  assert.ok(isDetectedMatch(json, 'text/plain', utf8('true')))
  assert.ok(isDetectedMatch(json, 'text/plain', utf8('null')))
  assert.ok(isDetectedMatch(json, 'text/plain', new Uint8Array([0xef, 0xbb, 0xbf, ...utf8('{}')])))
  assert.ok(isDetectedMatch(json, 'text/plain', utf16le('{"a": 1}')))
  assert.not.ok(isDetectedMatch(json, 'text/plain', readFixture('fixture.md')))
  assert.not.ok(isDetectedMatch(json, 'text/plain', utf8('hello')))
  assert.not.ok(isDetectedMatch(json, 'text/plain', utf8('   ')))
  assert.not.ok(isDetectedMatch(json, 'text/plain', new Uint8Array(0)))
})

matchSuite('rejects SVG declared as JSON', () => {
  const head = readFixture('fixture.svg')

  assert.not.ok(isDetectedMatch(mediaType('application/json'), 'image/svg+xml', head))
})

matchSuite('accepts SVG under text types', () => {
  const head = readFixture('hostile-script.svg')

  assert.ok(isDetectedMatch(mediaType('text/plain'), 'image/svg+xml', head))
  assert.ok(isDetectedMatch(mediaType('text/markdown'), 'image/svg+xml', head))
})

matchSuite('requires SVG root for SVG', () => {
  const svg = mediaType('image/svg+xml')

  assert.ok(isDetectedMatch(svg, 'image/svg+xml', readFixture('fixture.svg')))
  assert.not.ok(isDetectedMatch(svg, 'text/plain', readFixture('hostile-html.svg')))
})

matchSuite('accepts ZIP provisionally for OOXML', () => {
  const zip = readFixture('hostile-zip.zip')
  for (const mime of [DOCX, XLSX, PPTX]) {
    const declared = mediaType(mime)

    assert.ok(isDetectedMatch(declared, 'application/zip', zip), mime)
    assert.ok(needsContainerCheck(declared, 'application/zip'), mime)
    assert.ok(isDetectedMatch(declared, mime, zip), mime)
    assert.not.ok(needsContainerCheck(declared, mime), mime)
  }
})

matchSuite('rejects other OOXML kinds', () => {
  const docx = mediaType(DOCX)

  assert.not.ok(isDetectedMatch(docx, XLSX, readFixture('fixture.xlsx')))
  assert.not.ok(isDetectedMatch(docx, 'application/pdf', readFixture('fixture.pdf')))
})

matchSuite('keeps ZIP final for ODF', () => {
  const odt = mediaType('application/vnd.oasis.opendocument.text')

  assert.not.ok(isDetectedMatch(odt, 'application/zip', readFixture('hostile-zip.zip')))
  assert.not.ok(needsContainerCheck(odt, 'application/zip'))
})

matchSuite.run()
