/**
 * Hostile requests and the response each must get: malformed multipart bodies,
 * abused tus headers, abused tokens, oversized URLs and headers, and wrong
 * methods. Each row is sent as raw bytes, so nothing between the table and
 * the gateway repairs it. hostile-input.test.ts runs the table.
 */
import { readFixture } from '../helpers/fixtures.js'
import type { TestTenant } from '../helpers/gateway.js'
import type { RawRequest } from '../helpers/raw-http.js'

export interface HostileContext {
  /** A token of a fresh project, live mode, with media:read, media:write and usage:read. */
  live: TestTenant
  /** A token of the same project in test mode, with the same scopes. */
  testMode: TestTenant
  /** A token of another project with the same scopes. */
  other: TestTenant
  /** Path of the upload that the row's setup created, such as `/media/uploads/f_...`. */
  uploadPath: string
}

/** An upload a row needs before its request: `length` declares Upload-Length, `null` defers it. */
export interface UploadSetup {
  length: number | null
  /** Bytes of the PNG fixture to send before the row's request. */
  sentBytes: number
}

export interface HostileExpectation {
  status: number
  /** The envelope's error code; absent for a success. */
  code?: string
  /** The envelope's `field`, for an invalid field. */
  field?: string
  /** A pattern the envelope's message must match. */
  message?: RegExp
  /** Headers the response must carry, such as WWW-Authenticate on a 401. */
  headers?: Record<string, string | RegExp>
  /** The methods a 405 lists in Allow, in any order. */
  allow?: string[]
  /** Checks of a success body, such as the stored name. */
  body?: Record<string, unknown>
}

export interface HostileRow {
  name: string
  group: 'multipart' | 'tus' | 'token' | 'http'
  setup?: UploadSetup
  request: (context: HostileContext) => RawRequest
  expect: HostileExpectation
}

export const PNG = readFixture('fixture.png')
const JPEG = readFixture('fixture.jpg')
export const BOUNDARY = 'hostile-7MA4YWxkTrZu0gW'

const bearer = (tenant: TestTenant): [string, string] => ['Authorization', `Bearer ${tenant.token}`]

interface FilePart {
  name?: string
  /** The whole filename parameter, raw, as in `filename="a.png"`. */
  filenameParam?: string
  /** The part's Content-Type; null sends none. */
  type?: string | null
  bytes?: Buffer | string
  extraHeaders?: string[]
}

/** Builds one file part with its delimiter, as a browser sends it unless `part` changes it. */
export function filePart(part: FilePart = {}, boundary = BOUNDARY): Buffer {
  const name = part.name ?? 'file'
  const filename = part.filenameParam ?? 'filename="a.png"'
  const lines = [`--${boundary}`, `Content-Disposition: form-data; name="${name}"; ${filename}`]
  const type = part.type === undefined ? 'image/png' : part.type
  if (type !== null) {
    lines.push(`Content-Type: ${type}`)
  }
  lines.push(...(part.extraHeaders ?? []))

  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), Buffer.from(part.bytes ?? PNG), Buffer.from('\r\n')])
}

export function fieldPart(name: string, value: string, boundary = BOUNDARY): Buffer {
  return Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`)
}

export function closing(boundary = BOUNDARY): Buffer {
  return Buffer.from(`--${boundary}--\r\n`)
}

/** Builds a form of these parts and the closing delimiter. */
export function form(...parts: Buffer[]): Buffer {
  return Buffer.concat([...parts, closing()])
}

const MULTIPART_TYPE = `multipart/form-data; boundary=${BOUNDARY}`

/** POST /media with the live token and a multipart body. */
function postMedia(context: HostileContext, body: Buffer, extra: Partial<RawRequest> = {}): RawRequest {
  return {
    method: 'POST',
    target: '/media',
    headers: [bearer(context.live), ['Content-Type', MULTIPART_TYPE]],
    body,
    ...extra,
  }
}

/** POST /media of one PNG part with a raw filename parameter. */
function postNamed(filenameParam: string) {
  return (context: HostileContext) => postMedia(context, form(filePart({ filenameParam })))
}

function metadataHeader(metadata: Record<string, string>): string {
  return Object.entries(metadata)
    .map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`)
    .join(',')
}

const PNG_METADATA = metadataHeader({ filename: 'a.png', filetype: 'image/png' })

/** Builds a tus creation by the live token. `headers` replace or add to the valid ones. */
function createUpload(context: HostileContext, headers: [string, string][], body?: Buffer): RawRequest {
  const names = new Set(headers.map(([name]) => name.toLowerCase()))
  const defaults: [string, string][] = [
    ['Tus-Resumable', '1.0.0'],
    ['Upload-Length', String(PNG.length)],
    ['Upload-Metadata', PNG_METADATA],
  ]

  return {
    method: 'POST',
    target: '/media/uploads',
    headers: [bearer(context.live), ...defaults.filter(([name]) => !names.has(name.toLowerCase())), ...headers],
    body,
  }
}

/** Builds a PATCH of the setup's upload. `headers` replace or add to the valid ones. */
function patchUpload(
  context: HostileContext,
  headers: [string, string][],
  body: Buffer = PNG,
  target = context.uploadPath,
): RawRequest {
  const names = new Set(headers.map(([name]) => name.toLowerCase()))
  const defaults: [string, string][] = [
    ['Tus-Resumable', '1.0.0'],
    ['Upload-Offset', '0'],
    ['Content-Type', 'application/offset+octet-stream'],
  ]

  return {
    method: 'PATCH',
    target,
    headers: [bearer(context.live), ...defaults.filter(([name]) => !names.has(name.toLowerCase())), ...headers],
    body,
  }
}

/** Returns the request without a header that its builder added. */
function withoutHeader(request: RawRequest, name: string): RawRequest {
  return { ...request, headers: request.headers?.filter(([key]) => key !== name) }
}

/** Returns the request with another Authorization header in place of the live token's. */
function withAuthorization(request: RawRequest, authorization: [string, string]): RawRequest {
  const headers = request.headers?.map(([key, value]): [string, string] => (key === 'Authorization' ? authorization : [key, value]))

  return { ...request, headers }
}

const UPLOAD: UploadSetup = { length: PNG.length, sentBytes: 0 }
const HALF_SENT: UploadSetup = { length: PNG.length, sentBytes: 100 }
const DEFERRED: UploadSetup = { length: null, sentBytes: 0 }
const DEFERRED_HALF_SENT: UploadSetup = { length: null, sentBytes: 100 }
const UNKNOWN_FILE_ID = 'f_01JC0000000000000000000000'
const CREATION_METHODS = ['OPTIONS', 'POST']
const UPLOAD_METHODS = ['OPTIONS', 'HEAD', 'PATCH', 'DELETE']

const bad = (field?: string): HostileExpectation => ({ status: 400, code: 'bad_request', ...(field ? { field } : {}) })
const unauthorized: HostileExpectation = { status: 401, code: 'unauthorized', headers: { 'www-authenticate': /^Bearer/ } }
const notFound: HostileExpectation = { status: 404, code: 'not_found' }
const stored = (body: Record<string, unknown> = {}): HostileExpectation => ({ status: 201, body })
const notAllowed = (allow: string[]): HostileExpectation => ({ status: 405, code: 'method_not_allowed', allow })

const MULTIPART_ROWS: HostileRow[] = [
  {
    name: 'a JSON body is not a form',
    group: 'multipart',
    request: (context) => ({
      method: 'POST',
      target: '/media',
      headers: [bearer(context.live), ['Content-Type', 'application/json']],
      body: '{"file": "a.png"}',
    }),
    expect: bad(),
  },
  {
    name: 'a request with no Content-Type is refused',
    group: 'multipart',
    request: (context) => ({ method: 'POST', target: '/media', headers: [bearer(context.live)], body: form(filePart()) }),
    expect: bad(),
  },
  {
    name: 'multipart without a boundary is refused',
    group: 'multipart',
    request: (context) => postMedia(context, form(filePart()), { headers: [bearer(context.live), ['Content-Type', 'multipart/form-data']] }),
    expect: bad(),
  },
  {
    name: 'an empty boundary is refused',
    group: 'multipart',
    request: (context) =>
      postMedia(context, form(filePart()), { headers: [bearer(context.live), ['Content-Type', 'multipart/form-data; boundary=']] }),
    expect: bad(),
  },
  {
    name: 'multipart/mixed is not a form',
    group: 'multipart',
    request: (context) =>
      postMedia(context, form(filePart()), {
        headers: [bearer(context.live), ['Content-Type', `multipart/mixed; boundary=${BOUNDARY}`]],
      }),
    expect: bad(),
  },
  {
    name: 'a body under another boundary has no file',
    group: 'multipart',
    request: (context) =>
      postMedia(context, form(filePart()), {
        headers: [bearer(context.live), ['Content-Type', 'multipart/form-data; boundary=other-boundary']],
      }),
    expect: bad(),
  },
  {
    name: 'an empty body has no file',
    group: 'multipart',
    request: (context) => postMedia(context, Buffer.alloc(0)),
    expect: bad(),
  },
  {
    name: 'a body cut inside the file part is refused',
    group: 'multipart',
    request: (context) => {
      const body = form(filePart())

      return postMedia(context, body.subarray(0, 150), { contentLength: body.length, isHalfClosedAfterBody: true })
    },
    expect: bad(),
  },
  {
    name: 'a body cut inside the part headers is refused',
    group: 'multipart',
    request: (context) => {
      const body = form(filePart())

      return postMedia(context, body.subarray(0, 40), { contentLength: body.length, isHalfClosedAfterBody: true })
    },
    expect: bad(),
  },
  {
    name: 'a body without its closing delimiter is refused',
    group: 'multipart',
    request: (context) => postMedia(context, filePart()),
    expect: bad(),
  },
  {
    name: 'a body longer than Content-Length is cut at it',
    group: 'multipart',
    request: (context) => {
      const body = form(filePart())

      return postMedia(context, body, { contentLength: body.length - 30 })
    },
    expect: bad(),
  },
  {
    name: 'a body shorter than Content-Length is refused',
    group: 'multipart',
    request: (context) => {
      const body = form(filePart())

      return postMedia(context, body, { contentLength: body.length + 500, isHalfClosedAfterBody: true })
    },
    expect: bad(),
  },
  {
    name: 'a chunked body is stored',
    group: 'multipart',
    request: (context) => {
      const body = form(filePart())

      return postMedia(context, Buffer.alloc(0), {
        body: undefined,
        chunks: [body.subarray(0, 7), body.subarray(7, 120), body.subarray(120)],
      })
    },
    expect: stored({ content_type: 'image/png' }),
  },
  {
    name: 'a chunked body cut short is refused',
    group: 'multipart',
    request: (context) => {
      const body = form(filePart())

      return {
        method: 'POST',
        target: '/media',
        headers: [bearer(context.live), ['Content-Type', MULTIPART_TYPE], ['Transfer-Encoding', 'chunked']],
        body: Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body.subarray(0, 100)]),
        contentLength: null,
        isHalfClosedAfterBody: true,
      }
    },
    expect: bad(),
  },
  {
    name: 'malformed chunk sizes get the envelope',
    group: 'multipart',
    request: (context) => ({
      method: 'POST',
      target: '/media',
      headers: [bearer(context.live), ['Content-Type', MULTIPART_TYPE], ['Transfer-Encoding', 'chunked']],
      body: 'zz\r\nnot a chunk\r\n0\r\n\r\n',
      contentLength: null,
    }),
    expect: bad(),
  },
  {
    name: 'two file parts are refused',
    group: 'multipart',
    request: (context) => postMedia(context, form(filePart(), filePart({ filenameParam: 'filename="b.png"' }))),
    expect: bad(),
  },
  {
    name: 'a file part under another name is refused',
    group: 'multipart',
    request: (context) => postMedia(context, form(filePart({ name: 'upload' }))),
    expect: bad(),
  },
  {
    name: 'a form with only fields has no file',
    group: 'multipart',
    request: (context) => postMedia(context, form(fieldPart('folder', 'a'), fieldPart('tags', 'x'))),
    expect: bad(),
  },
  {
    name: 'a file field without a filename is not a file',
    group: 'multipart',
    request: (context) =>
      postMedia(
        context,
        form(
          Buffer.concat([
            Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"\r\nContent-Type: image/png\r\n\r\n`),
            PNG,
            Buffer.from('\r\n'),
          ]),
        ),
      ),
    expect: bad(),
  },
  {
    name: 'a part without Content-Type is refused',
    group: 'multipart',
    request: (context) => postMedia(context, form(filePart({ type: null }))),
    expect: bad(),
  },
  {
    name: 'an empty part Content-Type is refused',
    group: 'multipart',
    request: (context) => postMedia(context, form(filePart({ type: '' }))),
    expect: bad(),
  },
  {
    name: 'a malformed part Content-Type is refused',
    group: 'multipart',
    request: (context) => postMedia(context, form(filePart({ type: 'image/' }))),
    expect: bad(),
  },
  {
    name: 'an unaccepted part type is refused',
    group: 'multipart',
    request: (context) => postMedia(context, form(filePart({ type: 'application/x-msdownload' }))),
    expect: { status: 415, code: 'unsupported_media_type' },
  },
  {
    name: 'a part type that lies about the bytes is refused',
    group: 'multipart',
    request: (context) => postMedia(context, form(filePart({ type: 'image/jpeg' }))),
    expect: { ...bad(), body: { declared_content_type: 'image/jpeg', detected_content_type: 'image/png' } },
  },
  {
    name: 'JPEG bytes declared as PNG are refused',
    group: 'multipart',
    request: (context) => postMedia(context, form(filePart({ bytes: JPEG }))),
    expect: bad(),
  },
  {
    name: 'an empty PNG is refused',
    group: 'multipart',
    request: (context) => postMedia(context, form(filePart({ bytes: '' }))),
    expect: bad(),
  },
  {
    name: 'an empty text file is stored',
    group: 'multipart',
    request: (context) => postMedia(context, form(filePart({ type: 'text/plain', bytes: '', filenameParam: 'filename="e.txt"' }))),
    expect: stored({ size: 0, content_type: 'text/plain' }),
  },
  {
    name: 'the first of two part Content-Types counts',
    group: 'multipart',
    request: (context) => postMedia(context, form(filePart({ extraHeaders: ['Content-Type: image/jpeg'] }))),
    expect: stored({ content_type: 'image/png' }),
  },
  {
    name: 'the first of two part dispositions counts',
    group: 'multipart',
    request: (context) =>
      postMedia(context, form(filePart({ extraHeaders: ['Content-Disposition: attachment; name="file"; filename="b.png"'] }))),
    expect: stored({ original_name: 'a.png' }),
  },
  {
    name: 'a part without Content-Disposition is skipped',
    group: 'multipart',
    request: (context) =>
      postMedia(
        context,
        form(Buffer.concat([Buffer.from(`--${BOUNDARY}\r\nContent-Type: image/png\r\n\r\n`), PNG, Buffer.from('\r\n')])),
      ),
    expect: bad(),
  },
  {
    name: 'enormous part headers are refused',
    group: 'multipart',
    request: (context) => postMedia(context, form(filePart({ extraHeaders: [`X-Padding: ${'a'.repeat(100_000)}`] }))),
    expect: bad(),
  },
  {
    name: 'many part header lines are refused or ignored',
    group: 'multipart',
    request: (context) =>
      postMedia(context, form(filePart({ extraHeaders: Array.from({ length: 200 }, (_, index) => `X-Line-${index}: ${index}`) }))),
    expect: stored({ content_type: 'image/png' }),
  },
  {
    name: 'a field after the file is checked',
    group: 'multipart',
    request: (context) => postMedia(context, form(filePart(), fieldPart('folder', '../etc'))),
    expect: bad('folder'),
  },
  {
    name: 'a field after the file is kept',
    group: 'multipart',
    request: (context) => postMedia(context, form(filePart(), fieldPart('folder', 'after/file'))),
    expect: stored({ folder: 'after/file' }),
  },
  {
    name: 'unknown fields are ignored',
    group: 'multipart',
    request: (context) => postMedia(context, form(fieldPart('owner', 'admin'), fieldPart('key', '../../x'), filePart())),
    expect: stored({ folder: null }),
  },
  {
    name: 'a repeated folder field is refused',
    group: 'multipart',
    request: (context) => postMedia(context, form(fieldPart('folder', 'a'), fieldPart('folder', 'b'), filePart())),
    expect: bad('folder'),
  },
  {
    name: 'a repeated visibility field is refused',
    group: 'multipart',
    request: (context) =>
      postMedia(context, form(fieldPart('visibility', 'private'), filePart(), fieldPart('visibility', 'public'))),
    expect: bad('visibility'),
  },
  {
    name: 'repeated tags fields are merged',
    group: 'multipart',
    request: (context) => postMedia(context, form(fieldPart('tags', 'a'), fieldPart('tags', 'b,c'), filePart())),
    expect: stored({ tags: ['a', 'b', 'c'] }),
  },
  {
    name: 'an invalid visibility is refused',
    group: 'multipart',
    request: (context) => postMedia(context, form(fieldPart('visibility', 'everyone'), filePart())),
    expect: bad('visibility'),
  },
  {
    name: 'a field over 8 KiB is refused',
    group: 'multipart',
    request: (context) => postMedia(context, form(fieldPart('tags', 'a'.repeat(9000)), filePart())),
    expect: bad('tags'),
  },
  {
    name: 'more than 50 fields are refused',
    group: 'multipart',
    request: (context) =>
      postMedia(context, form(...Array.from({ length: 51 }, (_, index) => fieldPart(`f${index}`, 'x')), filePart())),
    expect: bad(),
  },
  {
    name: 'a quoted quote in the name is kept',
    group: 'multipart',
    request: postNamed('filename="say \\"hi\\".png"'),
    expect: stored({ original_name: 'say "hi".png' }),
  },
  {
    name: 'parent folders in the name are dropped',
    group: 'multipart',
    request: postNamed('filename="../../etc/passwd.png"'),
    expect: stored({ original_name: 'passwd.png' }),
  },
  {
    name: 'backslash folders in the name are dropped',
    group: 'multipart',
    request: postNamed('filename="..\\..\\boot.png"'),
    expect: stored({ original_name: 'boot.png' }),
  },
  {
    name: 'a raw NUL in the name is refused',
    group: 'multipart',
    request: postNamed('filename="a\u0000b.png"'),
    expect: bad(),
  },
  {
    name: 'an encoded NUL in filename* is removed',
    group: 'multipart',
    request: postNamed("filename*=UTF-8''a%00b.png"),
    expect: stored({ original_name: 'ab.png' }),
  },
  {
    name: 'an encoded CR LF in the name is kept as text',
    group: 'multipart',
    request: postNamed('filename="a%0D%0AX-Evil: 1.png"'),
    expect: stored({ original_name: 'a%0D%0AX-Evil: 1.png' }),
  },
  {
    name: 'a raw CR LF in the name ends the header',
    group: 'multipart',
    request: postNamed('filename="a\r\nX-Evil: 1.png"'),
    expect: bad(),
  },
  {
    name: 'a right-to-left override in the name is removed',
    group: 'multipart',
    request: postNamed('filename="invoice\u202Egnp.exe"'),
    expect: stored({ original_name: 'invoicegnp.exe' }),
  },
  {
    name: 'a very long name is cut to 255 characters',
    group: 'multipart',
    request: postNamed(`filename="${'n'.repeat(5000)}.png"`),
    expect: stored({ original_name: 'n'.repeat(255) }),
  },
  {
    name: 'a raw UTF-8 name is read as UTF-8',
    group: 'multipart',
    request: (context) =>
      postMedia(
        context,
        form(
          Buffer.concat([
            Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="`),
            Buffer.from('фото 写真.png', 'utf8'),
            Buffer.from('"\r\nContent-Type: image/png\r\n\r\n'),
            PNG,
            Buffer.from('\r\n'),
          ]),
        ),
      ),
    expect: stored({ original_name: 'фото 写真.png' }),
  },
  {
    name: 'an RFC 5987 filename* is decoded',
    group: 'multipart',
    request: postNamed("filename*=UTF-8''%E2%82%AC%20rates.png"),
    expect: stored({ original_name: '€ rates.png' }),
  },
  {
    name: 'filename* wins over filename',
    group: 'multipart',
    request: postNamed("filename=\"plain.png\"; filename*=UTF-8''%C3%A9t%C3%A9.png"),
    expect: stored({ original_name: 'été.png' }),
  },
  {
    name: 'an undecodable filename* is refused',
    group: 'multipart',
    request: postNamed("filename*=UTF-8''%ZZ%E2.png"),
    expect: bad(),
  },
  {
    name: 'a name of only dots is dropped',
    group: 'multipart',
    request: postNamed('filename=".."'),
    expect: stored({ original_name: null }),
  },
  {
    name: 'upper-case multipart headers are understood',
    group: 'multipart',
    request: (context) =>
      postMedia(context, form(filePart()), {
        headers: [bearer(context.live), ['CONTENT-TYPE', `MULTIPART/FORM-DATA; BOUNDARY=${BOUNDARY}`]],
      }),
    expect: stored({ content_type: 'image/png' }),
  },
]

const TUS_ROWS: HostileRow[] = [
  {
    name: 'tus without Tus-Resumable is refused',
    group: 'tus',
    request: (context) => withoutHeader(createUpload(context, []), 'Tus-Resumable'),
    expect: { status: 412, code: 'unsupported_version', headers: { 'tus-version': '1.0.0' } },
  },
  {
    name: 'an unknown tus version is refused',
    group: 'tus',
    request: (context) => createUpload(context, [['Tus-Resumable', '0.2.2']]),
    expect: { status: 412, code: 'unsupported_version', headers: { 'tus-version': '1.0.0' } },
  },
  {
    name: 'a negative Upload-Length is refused',
    group: 'tus',
    request: (context) => createUpload(context, [['Upload-Length', '-1']]),
    expect: bad(),
  },
  {
    name: 'a non-numeric Upload-Length is refused',
    group: 'tus',
    request: (context) => createUpload(context, [['Upload-Length', 'abc']]),
    expect: bad(),
  },
  {
    name: 'a fractional Upload-Length is refused',
    group: 'tus',
    request: (context) => createUpload(context, [['Upload-Length', '178.5']]),
    expect: bad(),
  },
  {
    name: 'a hex Upload-Length is refused',
    group: 'tus',
    request: (context) => createUpload(context, [['Upload-Length', '0xb2']]),
    expect: bad(),
  },
  {
    name: 'an exponent Upload-Length is refused',
    group: 'tus',
    request: (context) => createUpload(context, [['Upload-Length', '1e3']]),
    expect: bad(),
  },
  {
    name: 'an Upload-Length past 2^53 is too large',
    group: 'tus',
    request: (context) => createUpload(context, [['Upload-Length', '9007199254740993']]),
    expect: { status: 413, code: 'too_large' },
  },
  {
    name: 'a huge Upload-Length is too large',
    group: 'tus',
    request: (context) => createUpload(context, [['Upload-Length', '100000000000000000000']]),
    expect: { status: 413, code: 'too_large' },
  },
  {
    name: 'two Upload-Length headers are refused',
    group: 'tus',
    request: (context) => createUpload(context, [['Upload-Length', '178'], ['Upload-Length', '178']]),
    expect: bad(),
  },
  {
    name: 'both Upload-Length and Upload-Defer-Length are refused',
    group: 'tus',
    request: (context) => createUpload(context, [['Upload-Defer-Length', '1']]),
    expect: bad(),
  },
  {
    name: 'neither Upload-Length nor Upload-Defer-Length is refused',
    group: 'tus',
    request: (context) => withoutHeader(createUpload(context, []), 'Upload-Length'),
    expect: bad(),
  },
  {
    name: 'an Upload-Defer-Length other than 1 is refused',
    group: 'tus',
    request: (context) => withoutHeader(createUpload(context, [['Upload-Defer-Length', '2']]), 'Upload-Length'),
    expect: bad(),
  },
  {
    name: 'invalid base64 in Upload-Metadata is refused',
    group: 'tus',
    request: (context) => createUpload(context, [['Upload-Metadata', 'filename !!!,filetype aW1hZ2UvcG5n']]),
    expect: bad(),
  },
  {
    name: 'duplicate Upload-Metadata keys are refused',
    group: 'tus',
    request: (context) =>
      createUpload(context, [['Upload-Metadata', `${PNG_METADATA},filetype ${Buffer.from('image/gif').toString('base64')}`]]),
    expect: bad(),
  },
  {
    name: 'a key with no value pair is refused',
    group: 'tus',
    request: (context) => createUpload(context, [['Upload-Metadata', `${PNG_METADATA},,`]]),
    expect: bad(),
  },
  {
    name: 'a NUL in the metadata filename is refused',
    group: 'tus',
    request: (context) =>
      createUpload(context, [['Upload-Metadata', metadataHeader({ filename: 'a\u0000b.png', filetype: 'image/png' })]]),
    expect: bad('filename'),
  },
  {
    name: 'a NUL in the metadata filetype is refused',
    group: 'tus',
    request: (context) => createUpload(context, [['Upload-Metadata', metadataHeader({ filename: 'a.png', filetype: 'image/png\u0000' })]]),
    expect: bad(),
  },
  {
    name: 'metadata without filetype is refused',
    group: 'tus',
    request: (context) => createUpload(context, [['Upload-Metadata', metadataHeader({ filename: 'a.png' })]]),
    expect: bad(),
  },
  {
    name: 'no Upload-Metadata at all is refused',
    group: 'tus',
    request: (context) => withoutHeader(createUpload(context, []), 'Upload-Metadata'),
    expect: bad(),
  },
  {
    name: 'an unaccepted filetype is refused',
    group: 'tus',
    request: (context) =>
      createUpload(context, [['Upload-Metadata', metadataHeader({ filename: 'a.exe', filetype: 'application/x-msdownload' })]]),
    expect: { status: 415, code: 'unsupported_media_type' },
  },
  {
    name: 'an invalid folder in metadata is refused',
    group: 'tus',
    request: (context) =>
      createUpload(context, [['Upload-Metadata', metadataHeader({ filename: 'a.png', filetype: 'image/png', folder: '../x' })]]),
    expect: bad('folder'),
  },
  {
    name: 'an Upload-Length over the limit is too large',
    group: 'tus',
    request: (context) => createUpload(context, [['Upload-Length', '50000001']]),
    expect: { status: 413, code: 'too_large', body: { limit: 50_000_000, category: 'image' } },
  },
  {
    name: 'concatenation is not offered',
    group: 'tus',
    request: (context) => createUpload(context, [['Upload-Concat', 'partial']]),
    expect: { status: 501, code: 'not_implemented' },
  },
  {
    name: 'a creation body past Upload-Length is refused',
    group: 'tus',
    request: (context) =>
      createUpload(context, [['Upload-Length', '100'], ['Content-Type', 'application/offset+octet-stream']], PNG),
    expect: { status: 413, code: 'too_large' },
  },
  {
    name: 'a creation body that lies about its type is refused',
    group: 'tus',
    request: (context) =>
      createUpload(
        context,
        [['Upload-Length', String(JPEG.length)], ['Content-Type', 'application/offset+octet-stream']],
        JPEG,
      ),
    expect: bad(),
  },
  {
    name: 'a PATCH past the declared length is refused',
    group: 'tus',
    setup: UPLOAD,
    request: (context) => patchUpload(context, [], Buffer.concat([PNG, PNG])),
    expect: { status: 413, code: 'too_large' },
  },
  {
    name: 'a chunked PATCH past the declared length is refused',
    group: 'tus',
    setup: UPLOAD,
    request: (context) => ({ ...patchUpload(context, []), body: undefined, chunks: [PNG, PNG] }),
    expect: { status: 413, code: 'too_large' },
  },
  {
    name: 'a PATCH with another Content-Type is refused',
    group: 'tus',
    setup: UPLOAD,
    request: (context) => patchUpload(context, [['Content-Type', 'image/png']]),
    expect: bad(),
  },
  {
    name: 'a PATCH without Content-Type is refused',
    group: 'tus',
    setup: UPLOAD,
    request: (context) => withoutHeader(patchUpload(context, []), 'Content-Type'),
    expect: bad(),
  },
  {
    name: 'a PATCH without Upload-Offset is refused',
    group: 'tus',
    setup: UPLOAD,
    request: (context) => withoutHeader(patchUpload(context, []), 'Upload-Offset'),
    expect: bad(),
  },
  {
    name: 'an Upload-Offset ahead of the upload conflicts',
    group: 'tus',
    setup: UPLOAD,
    request: (context) => patchUpload(context, [['Upload-Offset', '50']], PNG.subarray(50)),
    expect: { status: 409, code: 'offset_mismatch' },
  },
  {
    name: 'an Upload-Offset behind the upload conflicts',
    group: 'tus',
    setup: HALF_SENT,
    request: (context) => patchUpload(context, [['Upload-Offset', '50']], PNG.subarray(50)),
    expect: { status: 409, code: 'offset_mismatch' },
  },
  {
    name: 'a negative Upload-Offset is refused',
    group: 'tus',
    setup: UPLOAD,
    request: (context) => patchUpload(context, [['Upload-Offset', '-1']]),
    expect: bad(),
  },
  {
    name: 'a non-numeric Upload-Offset is refused',
    group: 'tus',
    setup: UPLOAD,
    request: (context) => patchUpload(context, [['Upload-Offset', 'zero']]),
    expect: bad(),
  },
  {
    name: 'two Upload-Offset headers are refused',
    group: 'tus',
    setup: UPLOAD,
    request: (context) => patchUpload(context, [['Upload-Offset', '0'], ['Upload-Offset', '100']]),
    expect: bad(),
  },
  {
    name: 'a PATCH that lies about its type ends the upload',
    group: 'tus',
    setup: UPLOAD,
    request: (context) => patchUpload(context, [], JPEG.subarray(0, PNG.length)),
    expect: bad(),
  },
  {
    name: 'a PATCH on an unknown upload is not found',
    group: 'tus',
    request: (context) => patchUpload(context, [], PNG, `/media/uploads/${UNKNOWN_FILE_ID}`),
    expect: notFound,
  },
  {
    name: "a PATCH on another project's upload is not found",
    group: 'tus',
    setup: UPLOAD,
    request: (context) => withAuthorization(patchUpload(context, []), bearer(context.other)),
    expect: notFound,
  },
  {
    name: 'a test token cannot PATCH a live upload',
    group: 'tus',
    setup: UPLOAD,
    request: (context) => withAuthorization(patchUpload(context, []), bearer(context.testMode)),
    expect: notFound,
  },
  {
    name: 'a PATCH on a dot-dot id is not found',
    group: 'tus',
    request: (context) => patchUpload(context, [], PNG, '/media/uploads/..'),
    expect: notFound,
  },
  {
    name: 'a PATCH with an encoded slash in the id is not found',
    group: 'tus',
    setup: UPLOAD,
    request: (context) => patchUpload(context, [], PNG, `/media/uploads/x%2F..%2F${context.uploadPath.split('/').pop()}`),
    expect: notFound,
  },
  {
    name: 'a PATCH with a very long id is not found',
    group: 'tus',
    request: (context) => patchUpload(context, [], PNG, `/media/uploads/${'f'.repeat(4000)}`),
    expect: notFound,
  },
  {
    name: 'a HEAD on a dot-dot id is not found',
    group: 'tus',
    request: (context) => ({ method: 'HEAD', target: '/media/uploads/..', headers: [bearer(context.live), ['Tus-Resumable', '1.0.0']] }),
    expect: { status: 404 },
  },
  {
    name: 'a HEAD with encoded dots is not found',
    group: 'tus',
    request: (context) => ({
      method: 'HEAD',
      target: '/media/uploads/%2e%2e%2f%2e%2e%2fetc',
      headers: [bearer(context.live), ['Tus-Resumable', '1.0.0']],
    }),
    expect: { status: 404 },
  },
  {
    name: 'a HEAD with a very long id is not found',
    group: 'tus',
    request: (context) => ({
      method: 'HEAD',
      target: `/media/uploads/${'%41'.repeat(2000)}`,
      headers: [bearer(context.live), ['Tus-Resumable', '1.0.0']],
    }),
    expect: { status: 404 },
  },
  {
    name: 'a DELETE of an encoded slash id is not found',
    group: 'tus',
    setup: UPLOAD,
    request: (context) => ({
      method: 'DELETE',
      target: `/media/uploads/..%2F${context.uploadPath.split('/').pop()}`,
      headers: [bearer(context.live), ['Tus-Resumable', '1.0.0']],
    }),
    expect: notFound,
  },
  {
    name: 'a DELETE with a malformed escape is not found',
    group: 'tus',
    request: (context) => ({
      method: 'DELETE',
      target: '/media/uploads/%E0%A4%A',
      headers: [bearer(context.live), ['Tus-Resumable', '1.0.0']],
    }),
    expect: notFound,
  },
  {
    name: "a DELETE of another project's upload is not found",
    group: 'tus',
    setup: UPLOAD,
    request: (context) => ({
      method: 'DELETE',
      target: context.uploadPath,
      headers: [bearer(context.other), ['Tus-Resumable', '1.0.0']],
    }),
    expect: notFound,
  },
  {
    name: 'declaring the length twice is refused',
    group: 'tus',
    setup: UPLOAD,
    request: (context) => patchUpload(context, [['Upload-Length', String(PNG.length)]]),
    expect: { ...bad(), message: /already declared/ },
  },
  {
    name: 'an Upload-Length below the offset is refused',
    group: 'tus',
    setup: DEFERRED_HALF_SENT,
    request: (context) => patchUpload(context, [['Upload-Offset', '100'], ['Upload-Length', '50']], Buffer.alloc(0)),
    expect: { ...bad(), message: /less than the 100 bytes/ },
  },
  {
    name: 'a non-numeric Upload-Length on PATCH is refused',
    group: 'tus',
    setup: DEFERRED,
    request: (context) => patchUpload(context, [['Upload-Length', 'many']]),
    expect: bad(),
  },
  {
    name: 'a deferred length over the limit is too large',
    group: 'tus',
    setup: DEFERRED,
    request: (context) => patchUpload(context, [['Upload-Length', '50000001']], Buffer.alloc(0)),
    expect: { status: 413, code: 'too_large' },
  },
  {
    name: 'a POST to an upload URL is not allowed',
    group: 'tus',
    setup: UPLOAD,
    request: (context) => ({ ...createUpload(context, []), target: context.uploadPath }),
    expect: notAllowed(UPLOAD_METHODS),
  },
  {
    name: 'a PATCH on the creation URL is not allowed',
    group: 'tus',
    request: (context) => patchUpload(context, [], PNG, '/media/uploads'),
    expect: notAllowed(CREATION_METHODS),
  },
  {
    name: 'an upload path two segments deep is not found',
    group: 'tus',
    setup: UPLOAD,
    request: (context) => patchUpload(context, [], PNG, `/media/uploads/extra${context.uploadPath.slice('/media/uploads'.length)}`),
    expect: notFound,
  },
  {
    name: 'a HEAD without Tus-Resumable is refused',
    group: 'tus',
    setup: UPLOAD,
    request: (context) => ({ method: 'HEAD', target: context.uploadPath, headers: [bearer(context.live)] }),
    expect: { status: 412, headers: { 'tus-version': '1.0.0' } },
  },
]

const liveToken = (context: HostileContext) => context.live.token
const getMedia = (authorization: [string, string][], target = '/media'): RawRequest => ({
  method: 'GET',
  target,
  headers: authorization,
})

const TOKEN_ROWS: HostileRow[] = [
  {
    name: 'no token is unauthorized',
    group: 'token',
    request: () => getMedia([]),
    expect: unauthorized,
  },
  {
    name: 'a very long token is unauthorized',
    group: 'token',
    request: () => getMedia([['Authorization', `Bearer so_live_${'a'.repeat(8000)}`]]),
    expect: unauthorized,
  },
  {
    name: 'a token with another prefix is unauthorized',
    group: 'token',
    request: (context) => getMedia([['Authorization', `Bearer sk_live_${liveToken(context).slice(8)}`]]),
    expect: unauthorized,
  },
  {
    name: 'a live secret with the test prefix is unauthorized',
    group: 'token',
    request: (context) => getMedia([['Authorization', `Bearer ${liveToken(context).replace('so_live_', 'so_test_')}`]]),
    expect: unauthorized,
  },
  {
    name: 'a truncated token is unauthorized',
    group: 'token',
    request: (context) => getMedia([['Authorization', `Bearer ${liveToken(context).slice(0, -1)}`]]),
    expect: unauthorized,
  },
  {
    name: 'a token in the query string is ignored',
    group: 'token',
    request: (context) => getMedia([], `/media?access_token=${liveToken(context)}&token=${liveToken(context)}`),
    expect: unauthorized,
  },
  {
    name: 'two Authorization headers are unauthorized',
    group: 'token',
    request: (context) => getMedia([bearer(context.live), bearer(context.other)]),
    expect: unauthorized,
  },
  {
    name: 'a valid token after a bad one is unauthorized',
    group: 'token',
    request: (context) => getMedia([['Authorization', 'Bearer so_live_bad'], bearer(context.live)]),
    expect: unauthorized,
  },
  {
    name: 'Bearer with no token is unauthorized',
    group: 'token',
    request: () => getMedia([['Authorization', 'Bearer']]),
    expect: unauthorized,
  },
  {
    name: 'Bearer and a space is unauthorized',
    group: 'token',
    request: () => getMedia([['Authorization', 'Bearer ']]),
    expect: unauthorized,
  },
  {
    name: 'a lower-case scheme is accepted',
    group: 'token',
    request: (context) => getMedia([['Authorization', `bearer ${liveToken(context)}`]]),
    expect: { status: 200, body: { has_more: false } },
  },
  {
    name: 'the Basic scheme is unauthorized',
    group: 'token',
    request: (context) => getMedia([['Authorization', `Basic ${Buffer.from(`${liveToken(context)}:`).toString('base64')}`]]),
    expect: unauthorized,
  },
  {
    name: 'a token with a space inside is unauthorized',
    group: 'token',
    request: (context) => getMedia([['Authorization', `Bearer ${liveToken(context).slice(0, 20)} ${liveToken(context).slice(20)}`]]),
    expect: unauthorized,
  },
  {
    name: 'a tab after Bearer is unauthorized',
    group: 'token',
    request: (context) => getMedia([['Authorization', `Bearer\t${liveToken(context)}`]]),
    expect: unauthorized,
  },
  {
    name: 'a token with a NUL is refused',
    group: 'token',
    request: (context) => getMedia([['Authorization', `Bearer ${liveToken(context)}\u0000`]]),
    expect: bad(),
  },
  {
    name: 'a token with a non-ASCII byte is unauthorized',
    group: 'token',
    request: (context) => getMedia([['Authorization', `Bearer ${liveToken(context)}\u00a0`]]),
    expect: unauthorized,
  },
  {
    name: 'a token sent twice in one header is unauthorized',
    group: 'token',
    request: (context) => getMedia([['Authorization', `Bearer ${liveToken(context)}, Bearer ${liveToken(context)}`]]),
    expect: unauthorized,
  },
  {
    name: 'a bad token on POST /media is unauthorized',
    group: 'token',
    request: () => ({
      method: 'POST',
      target: '/media',
      headers: [['Authorization', 'Bearer so_live_nope'], ['Content-Type', MULTIPART_TYPE]],
      body: form(filePart()),
    }),
    expect: unauthorized,
  },
  {
    name: 'a bad token on tus creation is unauthorized',
    group: 'token',
    request: (context) => withAuthorization(createUpload(context, []), ['Authorization', 'Bearer so_test_nope']),
    expect: unauthorized,
  },
]

const PADDING = 'a'.repeat(20_000)

const HTTP_ROWS: HostileRow[] = [
  {
    name: 'a very long path is not found',
    group: 'http',
    request: (context) => getMedia([bearer(context.live)], `/media/${'x'.repeat(8000)}`),
    expect: notFound,
  },
  {
    name: 'a URL over the header limit gets the envelope',
    group: 'http',
    request: (context) => getMedia([bearer(context.live)], `/media?folder=${PADDING}`),
    expect: { status: 431, code: 'header_too_large' },
  },
  {
    name: 'a header over the limit gets the envelope',
    group: 'http',
    request: (context) => getMedia([bearer(context.live), ['X-Padding', PADDING]]),
    expect: { status: 431, code: 'header_too_large' },
  },
  {
    name: 'many headers over the limit get the envelope',
    group: 'http',
    request: (context) =>
      getMedia([bearer(context.live), ...Array.from({ length: 400 }, (_, index): [string, string] => [`X-H${index}`, 'v'.repeat(60)])]),
    expect: { status: 431, code: 'header_too_large' },
  },
  {
    name: 'a header with a raw CR gets the envelope',
    group: 'http',
    request: (context) => getMedia([bearer(context.live), ['X-Note', 'a\rb']]),
    expect: bad(),
  },
  {
    name: 'a header without a colon gets the envelope',
    group: 'http',
    request: (context) => getMedia([bearer(context.live), ['X-Broken', 'x\r\nno colon here']]),
    expect: bad(),
  },
  {
    name: 'Content-Length and chunked together get the envelope',
    group: 'http',
    request: (context) => ({
      method: 'POST',
      target: '/media',
      headers: [bearer(context.live), ['Content-Type', MULTIPART_TYPE], ['Content-Length', '5'], ['Transfer-Encoding', 'chunked']],
      body: '0\r\n\r\n',
      contentLength: null,
    }),
    expect: bad(),
  },
  {
    name: 'two different Content-Lengths get the envelope',
    group: 'http',
    request: (context) => ({
      method: 'POST',
      target: '/media',
      headers: [bearer(context.live), ['Content-Type', MULTIPART_TYPE], ['Content-Length', '10'], ['Content-Length', '20']],
      body: 'x'.repeat(20),
      contentLength: null,
    }),
    expect: bad(),
  },
  {
    name: 'a negative Content-Length gets the envelope',
    group: 'http',
    request: (context) => ({
      method: 'POST',
      target: '/media',
      headers: [bearer(context.live), ['Content-Type', MULTIPART_TYPE], ['Content-Length', '-1']],
      contentLength: null,
    }),
    expect: bad(),
  },
  {
    name: 'an unknown method gets the envelope',
    group: 'http',
    request: (context) => ({ method: 'BREW', target: '/media', headers: [bearer(context.live)] }),
    expect: bad(),
  },
  {
    name: 'a request without Host gets the envelope',
    group: 'http',
    request: () => ({ method: 'GET', target: '/healthz', isHostOmitted: true }),
    expect: bad(),
  },
  {
    name: 'an empty Host is accepted',
    group: 'http',
    request: () => ({ method: 'GET', target: '/healthz', headers: [['Host', '']] }),
    expect: { status: 200, body: { status: 'ok' } },
  },
  {
    name: 'two Host headers are refused',
    group: 'http',
    request: () => ({ method: 'GET', target: '/healthz', headers: [['Host', '127.0.0.1'], ['Host', 'example.com']] }),
    expect: bad(),
  },
  {
    name: 'two request Content-Types are refused',
    group: 'http',
    request: (context) => ({
      method: 'POST',
      target: '/media',
      headers: [bearer(context.live), ['Content-Type', MULTIPART_TYPE], ['Content-Type', 'application/json']],
      body: form(filePart()),
    }),
    expect: bad(),
  },
  {
    name: 'OPTIONS on a route lists its methods',
    group: 'http',
    request: () => ({ method: 'OPTIONS', target: '/usage' }),
    expect: { status: 204, headers: { allow: /GET/ } },
  },
  {
    name: 'an unknown Expect gets the envelope',
    group: 'http',
    request: (context) => ({
      method: 'POST',
      target: '/media',
      headers: [bearer(context.live), ['Content-Type', MULTIPART_TYPE], ['Expect', 'teapot']],
      body: form(filePart()),
    }),
    expect: { status: 417, code: 'expectation_failed' },
  },
  {
    name: 'a malformed escape in a file id is not found',
    group: 'http',
    request: (context) => getMedia([bearer(context.live)], '/media/%E0%A4%A'),
    expect: notFound,
  },
  {
    name: 'an encoded NUL in a file id is not found',
    group: 'http',
    request: (context) => getMedia([bearer(context.live)], '/media/f_%00'),
    expect: notFound,
  },
  {
    name: 'a repeated limit is refused',
    group: 'http',
    request: (context) => getMedia([bearer(context.live)], '/media?limit=1&limit=2'),
    expect: bad('limit'),
  },
  {
    name: 'a limit in exponent form is refused',
    group: 'http',
    request: (context) => getMedia([bearer(context.live)], '/media?limit=1e1'),
    expect: bad('limit'),
  },
  {
    name: 'a forged cursor is refused',
    group: 'http',
    request: (context) => getMedia([bearer(context.live)], '/media?cursor=%00%FF'),
    expect: bad('cursor'),
  },
  {
    name: 'a repeated tag filter is refused',
    group: 'http',
    request: (context) => getMedia([bearer(context.live)], '/media?tag=a&tag=b'),
    expect: bad('tag'),
  },
  {
    name: 'a malformed content_type filter is refused',
    group: 'http',
    request: (context) => getMedia([bearer(context.live)], '/media?content_type=%2F%2F'),
    expect: bad('content_type'),
  },
  {
    name: 'PUT /media is not allowed',
    group: 'http',
    request: (context) => ({ method: 'PUT', target: '/media', headers: [bearer(context.live)], body: 'x' }),
    expect: notAllowed(['HEAD', 'GET', 'POST']),
  },
  {
    name: 'DELETE /media is not allowed',
    group: 'http',
    request: (context) => ({ method: 'DELETE', target: '/media', headers: [bearer(context.live)] }),
    expect: notAllowed(['HEAD', 'GET', 'POST']),
  },
  {
    name: 'PATCH on a file is not allowed',
    group: 'http',
    request: (context) => ({ method: 'PATCH', target: `/media/${UNKNOWN_FILE_ID}`, headers: [bearer(context.live)], body: '{}' }),
    expect: notAllowed(['HEAD', 'GET', 'DELETE']),
  },
  {
    name: 'POST on a file is not allowed',
    group: 'http',
    request: (context) => ({ method: 'POST', target: `/media/${UNKNOWN_FILE_ID}`, headers: [bearer(context.live)], body: 'x' }),
    expect: notAllowed(['HEAD', 'GET', 'DELETE']),
  },
  {
    name: 'POST /usage is not allowed',
    group: 'http',
    request: (context) => ({ method: 'POST', target: '/usage', headers: [bearer(context.live)], body: '{}' }),
    expect: notAllowed(['HEAD', 'GET']),
  },
  {
    name: 'DELETE /healthz is not allowed',
    group: 'http',
    request: () => ({ method: 'DELETE', target: '/healthz' }),
    expect: notAllowed(['HEAD', 'GET']),
  },
  {
    name: 'POST /readyz is not allowed',
    group: 'http',
    request: () => ({ method: 'POST', target: '/readyz', body: '' }),
    expect: notAllowed(['HEAD', 'GET']),
  },
  {
    name: 'PUT /metrics is not allowed',
    group: 'http',
    request: () => ({ method: 'PUT', target: '/metrics', body: '' }),
    expect: notAllowed(['HEAD', 'GET']),
  },
  {
    name: 'PUT on the tus endpoint is not allowed',
    group: 'http',
    request: (context) => ({
      method: 'PUT',
      target: '/media/uploads',
      headers: [bearer(context.live), ['Tus-Resumable', '1.0.0']],
      body: 'x',
    }),
    expect: notAllowed(CREATION_METHODS),
  },
  {
    name: 'GET on an upload is not allowed',
    group: 'http',
    setup: UPLOAD,
    request: (context) => ({ method: 'GET', target: context.uploadPath, headers: [bearer(context.live), ['Tus-Resumable', '1.0.0']] }),
    expect: notAllowed(UPLOAD_METHODS),
  },
  {
    name: 'CONNECT gets the envelope',
    group: 'http',
    request: () => ({ method: 'CONNECT', target: '127.0.0.1:80', headers: [['Host', '127.0.0.1:80']] }),
    expect: { status: 405, code: 'method_not_allowed' },
  },
  {
    name: 'an unknown route is not found',
    group: 'http',
    request: (context) => getMedia([bearer(context.live)], '/admin/../etc/passwd'),
    expect: notFound,
  },
]

export const HOSTILE_ROWS: readonly HostileRow[] = [...MULTIPART_ROWS, ...TUS_ROWS, ...TOKEN_ROWS, ...HTTP_ROWS]
