import * as assert from 'uvu/assert'
import { suite } from 'uvu'
import {
  CATEGORY_LIMIT_BYTES,
  findMediaType,
  listMediaTypes,
  normaliseMediaType,
} from '../../../src/uploads/media-types.js'

const normaliseSuite = suite('normaliseMediaType')

normaliseSuite('keeps canonical types', () => {
  assert.is(normaliseMediaType('image/png'), 'image/png')
  assert.is(normaliseMediaType('application/json'), 'application/json')
  assert.is(normaliseMediaType('image/svg+xml'), 'image/svg+xml')
})

normaliseSuite('resolves client aliases', () => {
  const aliases: [string, string][] = [
    ['image/jpg', 'image/jpeg'],
    ['image/pjpeg', 'image/jpeg'],
    ['image/x-png', 'image/png'],
    ['audio/mp3', 'audio/mpeg'],
    ['audio/x-wav', 'audio/wav'],
    ['audio/wave', 'audio/wav'],
    ['audio/opus', 'audio/ogg'],
    ['video/x-matroska', 'video/matroska'],
    ['text/x-markdown', 'text/markdown'],
    ['application/csv', 'text/csv'],
    ['text/json', 'application/json'],
  ]
  for (const [alias, canonical] of aliases) {
    assert.is(normaliseMediaType(alias), canonical, alias)
  }
})

normaliseSuite('drops parameters', () => {
  assert.is(normaliseMediaType('text/plain; charset=utf-8'), 'text/plain')
  assert.is(normaliseMediaType('text/csv;charset=UTF-8;header=present'), 'text/csv')
  assert.is(normaliseMediaType('image/jpg; q=0.9'), 'image/jpeg')
  assert.is(normaliseMediaType('text/plain;'), 'text/plain')
})

normaliseSuite('lowercases and trims', () => {
  assert.is(normaliseMediaType('IMAGE/PNG'), 'image/png')
  assert.is(normaliseMediaType('  Audio/MP3  '), 'audio/mpeg')
  assert.is(normaliseMediaType('Text/Plain ; Charset=UTF-8'), 'text/plain')
})

normaliseSuite('returns undefined for garbage', () => {
  const invalid = [
    '',
    '   ',
    'png',
    'image/',
    '/png',
    'image/png/extra',
    'image / png',
    'image/*',
    '*/*',
    'image/png, image/jpeg',
    '; charset=utf-8',
    'image/pn\u0000g',
    'image/p\u00e9ng',
  ]
  for (const value of invalid) {
    assert.is(normaliseMediaType(value), undefined, JSON.stringify(value))
  }
})

normaliseSuite('passes unknown valid types through', () => {
  assert.is(normaliseMediaType('application/x-msdownload'), 'application/x-msdownload')
  assert.is(normaliseMediaType('Application/ZIP'), 'application/zip')
})

normaliseSuite.run()

const findSuite = suite('findMediaType')

findSuite('finds accepted types', () => {
  const png = findMediaType('image/png')
  const svg = findMediaType('image/svg+xml')
  const docx = findMediaType('application/vnd.openxmlformats-officedocument.wordprocessingml.document')
  const json = findMediaType('application/json')

  assert.equal(png, { mime: 'image/png', category: 'image', detection: 'magic' })
  assert.is(svg?.detection, 'svg')
  assert.is(svg?.category, 'image')
  assert.is(docx?.detection, 'zip')
  assert.is(docx?.category, 'document')
  assert.is(json?.detection, 'text')
})

findSuite('returns undefined for unaccepted types', () => {
  assert.is(findMediaType('application/zip'), undefined)
  assert.is(findMediaType('text/html'), undefined)
  assert.is(findMediaType('application/x-msdownload'), undefined)
  assert.is(findMediaType('application/octet-stream'), undefined)
})

findSuite('expects canonical names', () => {
  assert.is(findMediaType('image/jpg'), undefined)
  assert.is(findMediaType('IMAGE/PNG'), undefined)
  assert.is(findMediaType('image/png; charset=utf-8'), undefined)
})

findSuite('finds every listed type', () => {
  for (const type of listMediaTypes()) {
    assert.is(findMediaType(type.mime), type, type.mime)
    assert.is(normaliseMediaType(type.mime), type.mime, type.mime)
    assert.ok(CATEGORY_LIMIT_BYTES[type.category] > 0, type.mime)
  }
})

findSuite('resolves every alias to an accepted type', () => {
  const aliases = ['image/jpg', 'image/heif', 'video/avi', 'audio/m4a', 'audio/x-flac', 'application/x-pdf']
  for (const alias of aliases) {
    const canonical = normaliseMediaType(alias) ?? ''

    assert.is.not(canonical, alias, alias)
    assert.ok(findMediaType(canonical), alias)
  }
})

findSuite.run()
