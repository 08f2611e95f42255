import * as assert from 'uvu/assert'
import { suite } from 'uvu'
import { AppError } from '../../../src/errors.js'
import {
  MAX_FOLDER_DEPTH,
  MAX_FOLDER_LENGTH,
  MAX_NAME_LENGTH,
  MAX_TAGS,
  MAX_TAG_LENGTH,
  parseFolder,
  parseTags,
  parseVisibility,
  sanitiseOriginalName,
} from '../../../src/uploads/fields.js'

/** Runs `action`, checks that it throws a bad_request AppError for `field`, and returns the error. */
function assertFieldError(action: () => unknown, field: string, label: string): AppError {
  let caught: unknown = null
  try {
    action()
  } catch (error) {
    caught = error
  }

  assert.instance(caught, AppError, `${label}: expected an AppError`)

  const appError = caught as AppError

  assert.is(appError.code, 'bad_request', label)
  assert.is(appError.status, 400, label)
  assert.equal(appError.details, { field }, label)

  return appError
}

// A string that contains a lone surrogate cannot be encoded as UTF-8 without loss.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

const folderSuite = suite('parseFolder')

folderSuite('returns null when absent', () => {
  assert.is(parseFolder(null), null)
  assert.is(parseFolder(undefined), null)
  assert.is(parseFolder(''), null)
})

folderSuite('accepts safe segments', () => {
  assert.is(parseFolder('photos'), 'photos')
  assert.is(parseFolder('photos/2024/summer_trip-1'), 'photos/2024/summer_trip-1')
  assert.is(parseFolder('v1.2/release..notes'), 'v1.2/release..notes')
  assert.is(parseFolder('_drafts/-old'), '_drafts/-old')
})

folderSuite('strips outer slashes', () => {
  assert.is(parseFolder('/photos/2024/'), 'photos/2024')
  assert.is(parseFolder('///photos///'), 'photos')
})

folderSuite('rejects dot segments', () => {
  for (const value of ['..', '../etc', 'a/../b', 'a/..', '.', 'a/./b', '/../']) {
    const error = assertFieldError(() => parseFolder(value), 'folder', value)

    assert.match(error.message, /Invalid folder segment/, value)
  }
})

folderSuite('rejects hidden segments', () => {
  for (const value of ['.hidden', 'a/.git', 'a/.ssh/keys']) {
    assertFieldError(() => parseFolder(value), 'folder', value)
  }
})

folderSuite('rejects unsafe characters', () => {
  const values = ['a//b', 'a\\b', '..\\..\\etc', 'a b', 'caf\u00e9', 'a/b\u0000', '~', 'c:', '%2e%2e', 'a\nb']
  for (const value of values) {
    assertFieldError(() => parseFolder(value), 'folder', JSON.stringify(value))
  }
})

folderSuite('limits depth', () => {
  const deepest = Array(MAX_FOLDER_DEPTH).fill('a').join('/')
  const tooDeep = `${deepest}/a`

  assert.is(parseFolder(deepest), deepest)
  assert.is(parseFolder(`/${deepest}/`), deepest)
  assertFieldError(() => parseFolder(tooDeep), 'folder', 'too deep')
})

folderSuite('limits length', () => {
  const longest = 'a'.repeat(MAX_FOLDER_LENGTH)

  assert.is(parseFolder(longest), longest)
  assert.is(parseFolder(`/${longest}/`), longest)
  assertFieldError(() => parseFolder(`${longest}b`), 'folder', 'too long')
})

folderSuite.run()

const tagsSuite = suite('parseTags')

tagsSuite('returns empty list without values', () => {
  assert.equal(parseTags([]), [])
  assert.equal(parseTags(['']), [])
  assert.equal(parseTags([' , ,, ']), [])
})

tagsSuite('reads repeated and comma-separated values', () => {
  assert.equal(parseTags(['a,b', 'c']), ['a', 'b', 'c'])
  assert.equal(parseTags(['holiday', 'beach,sun']), ['holiday', 'beach', 'sun'])
})

tagsSuite('trims and lowercases', () => {
  assert.equal(parseTags([' Foo , BAR ', '\tBaz\n']), ['foo', 'bar', 'baz'])
})

tagsSuite('removes duplicates in order', () => {
  assert.equal(parseTags(['b,a', 'B', ' a ', 'c']), ['b', 'a', 'c'])
  // Precomposed U+00E9 and e with a combining acute accent are the same tag.
  assert.equal(parseTags(['Caf\u00e9', 'cafe\u0301']), ['caf\u00e9'])
})

tagsSuite('accepts letters, digits and punctuation', () => {
  assert.equal(parseTags(['summer trip', 'v1.2', 'a_b', 'ns:key', 'x-y']), [
    'summer trip',
    'v1.2',
    'a_b',
    'ns:key',
    'x-y',
  ])
  const unicode = ['\u65e5\u672c\u8a9e', '\u00fcber', '2024']

  assert.equal(parseTags(unicode), unicode)
})

tagsSuite('rejects invalid tags', () => {
  const values = ['-lead', '.dot', '#hash', 'a/b', '<script>', 'smile\u{1F642}', 'tab\tinside', 'a;b']
  for (const value of values) {
    assertFieldError(() => parseTags([value]), 'tags', JSON.stringify(value))
  }
})

tagsSuite('limits tag length', () => {
  const longest = 'a'.repeat(MAX_TAG_LENGTH)

  assert.equal(parseTags([longest]), [longest])
  assertFieldError(() => parseTags([`${longest}a`]), 'tags', 'too long')
})

tagsSuite('limits tag count', () => {
  const allowed = Array.from({ length: MAX_TAGS }, (_, index) => `tag${index}`)

  assert.is(parseTags(allowed).length, MAX_TAGS)
  assert.is(parseTags([...allowed, ...allowed.map((tag) => tag.toUpperCase())]).length, MAX_TAGS)

  const error = assertFieldError(() => parseTags([...allowed, 'one-more']), 'tags', 'too many')

  assert.match(error.message, /Too many tags/)
})

tagsSuite('counts comma-separated tags', () => {
  const joined = Array.from({ length: MAX_TAGS + 1 }, (_, index) => `tag${index}`).join(',')

  assertFieldError(() => parseTags([joined]), 'tags', 'too many in one value')
})

tagsSuite.run()

const visibilitySuite = suite('parseVisibility')

visibilitySuite('defaults to public', () => {
  assert.is(parseVisibility(null), 'public')
  assert.is(parseVisibility(undefined), 'public')
  assert.is(parseVisibility(''), 'public')
})

visibilitySuite('accepts public and private', () => {
  assert.is(parseVisibility('public'), 'public')
  assert.is(parseVisibility('private'), 'private')
})

visibilitySuite('rejects other values', () => {
  for (const value of ['Private', 'PUBLIC', ' public', 'hidden', 'true']) {
    assertFieldError(() => parseVisibility(value), 'visibility', JSON.stringify(value))
  }
})

visibilitySuite.run()

const nameSuite = suite('sanitiseOriginalName')

nameSuite('returns null when absent', () => {
  assert.is(sanitiseOriginalName(null), null)
  assert.is(sanitiseOriginalName(undefined), null)
  assert.is(sanitiseOriginalName(''), null)
})

nameSuite('keeps ordinary names', () => {
  assert.is(sanitiseOriginalName('photo.png'), 'photo.png')
  const unicode = '\u65e5\u672c\u8a9e r\u00e9sum\u00e9.pdf'

  assert.is(sanitiseOriginalName(unicode), unicode)
  assert.is(sanitiseOriginalName('my photo (1).jpeg'), 'my photo (1).jpeg')
})

nameSuite('keeps last path segment', () => {
  assert.is(sanitiseOriginalName('a/b/c.png'), 'c.png')
  assert.is(sanitiseOriginalName('C:\\Users\\me\\photo.png'), 'photo.png')
  assert.is(sanitiseOriginalName('../../etc/passwd'), 'passwd')
  assert.is(sanitiseOriginalName('..\\..\\boot.ini'), 'boot.ini')
  assert.is(sanitiseOriginalName('mixed/..\\name.txt'), 'name.txt')
})

nameSuite('returns null for empty segments', () => {
  for (const value of ['dir/', 'a\\', '.', '..', 'a/..', '../', '   ', '/']) {
    assert.is(sanitiseOriginalName(value), null, JSON.stringify(value))
  }
})

nameSuite('removes NUL', () => {
  assert.is(sanitiseOriginalName('evil\u0000.png'), 'evil.png')
  assert.is(sanitiseOriginalName('\u0000'), null)
})

nameSuite('removes CR and LF', () => {
  const name = sanitiseOriginalName('a\r\nSet-Cookie: x.png')

  assert.is(name, 'aSet-Cookie: x.png')
  assert.not.match(name ?? '', /[\r\n]/)
})

nameSuite('removes other control characters', () => {
  assert.is(sanitiseOriginalName('a\tb\u001bc\u007fd\u0085e.txt'), 'abcde.txt')
})

nameSuite('removes bidirectional overrides', () => {
  // U+202E would show "invoice\u202Egnp.exe" as "invoiceexe.png".
  assert.is(sanitiseOriginalName('invoice\u202Egnp.exe'), 'invoicegnp.exe')
  assert.is(sanitiseOriginalName('\u202Aa\u202Bb\u202Cc\u202Dd.txt'), 'abcd.txt')
  assert.is(sanitiseOriginalName('\u2066a\u2067b\u2068c\u2069.txt'), 'abc.txt')
  assert.is(sanitiseOriginalName('\u202E'), null)
})

nameSuite('trims surrounding whitespace', () => {
  assert.is(sanitiseOriginalName('  name.png  '), 'name.png')
  assert.is(sanitiseOriginalName('dir/ \u0000 '), null)
})

nameSuite('truncates very long names', () => {
  const name = sanitiseOriginalName(`${'a'.repeat(1000)}.png`)

  assert.is(name, 'a'.repeat(MAX_NAME_LENGTH))
})

nameSuite('keeps surrogate pairs whole', () => {
  // U+1F642 takes two UTF-16 code units, and the length limit falls between them.
  const name = sanitiseOriginalName(`${'a'.repeat(MAX_NAME_LENGTH - 1)}\u{1F642}b`) ?? ''

  assert.ok(name.length <= MAX_NAME_LENGTH)
  assert.not.match(name, LONE_SURROGATE, 'the cut left half of a surrogate pair')
})

nameSuite.run()
