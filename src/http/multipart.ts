import type { IncomingMessage } from 'node:http'
import type { Readable } from 'node:stream'
import busboy from 'busboy'
import { AppError } from '../errors.js'
import { parseFolder, parseTags, parseVisibility, sanitiseOriginalName } from '../uploads/fields.js'
import type { Admission, IngestPipeline } from '../uploads/pipeline.js'
import type { FileRecord, Principal } from '../uploads/ports.js'
import { PartHeaderTap } from './part-headers.js'

const FIELD_LIMITS = {
  fields: 50,
  fieldSize: 8 * 1024,
  parts: 60,
  headerPairs: 20,
}

interface ParsedForm {
  fields: Map<string, string[]>
  admission: Admission | null
  /** The file part being stored; awaited before an abort so nothing is written after it. */
  storing: Promise<unknown> | null
}

/** Fields that take one value; tags may repeat. */
const SINGLE_FIELDS = new Set(['folder', 'visibility'])

function badRequest(message: string): AppError {
  return new AppError('bad_request', message)
}

function invalidField(field: string, message: string): AppError {
  return new AppError('bad_request', message, { details: { field } })
}

function readBoundary(contentType: string | undefined): string {
  const match = /^multipart\/form-data\s*;.*?boundary=(?:"([^"]+)"|([^\s;]+))/i.exec(contentType ?? '')
  if (!match) {
    throw badRequest('The request must be multipart/form-data with a boundary.')
  }

  return match[1] ?? match[2]
}

/**
 * Bytes a form may carry besides its file: at most 50 fields of 8 KiB and 60
 * part headers, which busboy caps at 16 KiB each, with their delimiters.
 */
const FORM_OVERHEAD_BYTES = 2 * 1024 * 1024

/**
 * Rejects a body whose Content-Length leaves no doubt that its file is over
 * every size limit, before a byte of it is read. With `Expect: 100-continue`
 * the client then never sends it.
 */
function rejectOversizeBody(contentLength: number, largestLimit: number) {
  // NOTE: a form padded with a preamble larger than FORM_OVERHEAD_BYTES is rejected too.
  if (Number.isFinite(contentLength) && contentLength > largestLimit + FORM_OVERHEAD_BYTES) {
    throw new AppError(
      'too_large',
      `The request body is ${contentLength} bytes, so its file is over the ${largestLimit}-byte limit of every type.`,
      { details: { limit: largestLimit } },
    )
  }
}

/**
 * Receives `POST /media`: exactly one `file` part with its own Content-Type,
 * and the fields folder, tags and visibility before or after it. The file
 * streams through the pipeline into storage while the form is parsed. The
 * row is written only once the whole form has arrived and every field is valid.
 */
export async function receiveMultipart(
  req: IncomingMessage,
  pipeline: IngestPipeline,
  principal: Principal,
): Promise<FileRecord> {
  const boundary = readBoundary(req.headers['content-type'])
  const contentLength = Number.parseInt(req.headers['content-length'] ?? '', 10)
  rejectOversizeBody(contentLength, pipeline.largestLimit())
  if (Number.isFinite(contentLength)) {
    // Admission reserves min(Content-Length, the file type's limit), never less than this.
    await pipeline.checkQuota(principal, Math.min(contentLength, pipeline.smallestLimit()))
  }
  const form: ParsedForm = { fields: new Map(), admission: null, storing: null }
  try {
    const stored = await parseForm(req, boundary, form, pipeline, principal, contentLength)
    const admission = form.admission
    if (!admission || !stored) {
      throw badRequest('The form has no file part. Send the file in a part named "file".')
    }

    const fields = {
      folder: parseFolder(form.fields.get('folder')?.at(-1)),
      tags: parseTags(form.fields.get('tags') ?? []),
      visibility: parseVisibility(form.fields.get('visibility')?.at(-1)),
    }

    return await pipeline.commit(admission, stored, fields)
  } catch (error) {
    await form.storing?.catch(() => {})
    if (form.admission) {
      await pipeline.abort(form.admission.fileId, form.admission.key)
    }
    throw error
  }
}

function parseForm(
  req: IncomingMessage,
  boundary: string,
  form: ParsedForm,
  pipeline: IngestPipeline,
  principal: Principal,
  contentLength: number,
) {
  type Stored = Awaited<ReturnType<IngestPipeline['store']>>

  return new Promise<Stored | null>((resolve, reject) => {
    let parser: busboy.Busboy
    try {
      // Browsers and curl send file names as raw UTF-8; busboy would read them as Latin-1.
      parser = busboy({ headers: req.headers, limits: FIELD_LIMITS, defParamCharset: 'utf8' })
    } catch (error) {
      reject(badRequest(`Invalid multipart request: ${(error as Error).message}.`))

      return
    }

    const tap = new PartHeaderTap(boundary)
    let partIndex = 0
    let storing: Promise<Stored> | null = null
    let fileStream: Readable | null = null
    let failure: unknown = null
    const fail = (error: unknown) => {
      failure ??= error
      req.unpipe(tap)
      tap.unpipe(parser)
      // Stop a file part still streaming, so its store fails now instead of waiting for bytes.
      // The rest of the body is read and dropped once the error response is sent (discardUnreadBody).
      fileStream?.destroy()
      reject(failure)
    }

    parser.on('field', (name, value, info) => {
      partIndex += 1
      if (name === 'file') {
        fail(badRequest('The "file" part has no filename, so it is read as a text field. Send it with a filename.'))

        return
      }
      if (info.valueTruncated) {
        fail(invalidField(name, `The ${name} field is over ${FIELD_LIMITS.fieldSize} bytes.`))

        return
      }
      if (SINGLE_FIELDS.has(name) && form.fields.has(name)) {
        fail(invalidField(name, `The ${name} field is given more than once; send it once.`))

        return
      }
      const values = form.fields.get(name) ?? []
      values.push(value)
      form.fields.set(name, values)
    })

    parser.on('file', (name, stream: Readable, info) => {
      const contentType = tap.contentTypes[partIndex] ?? null
      partIndex += 1
      // busboy also reports a broken body on the parser, which fails the request. The file
      // stream gets the same error, and before admission has attached the pipeline, nothing
      // else listens to it, so an unhandled 'error' would end the process.
      stream.on('error', () => {})
      if (name !== 'file') {
        stream.resume()
        fail(badRequest(`Unexpected file part "${name}": send the file in a part named "file".`))

        return
      }
      if (storing) {
        stream.resume()
        fail(badRequest('The form has more than one file part; send one file per request.'))

        return
      }

      fileStream = stream
      storing = admitAndStore(pipeline, principal, form, stream, {
        contentType,
        originalName: sanitiseOriginalName(info.filename),
        contentLength,
      })
      form.storing = storing
      storing.catch((error) => {
        stream.resume()
        fail(error)
      })
    })

    parser.on('partsLimit', () => fail(badRequest('The form has too many parts.')))
    parser.on('fieldsLimit', () => fail(badRequest('The form has too many fields.')))
    parser.on('error', (error: Error) => fail(badRequest(`Invalid multipart body: ${error.message}.`)))
    parser.on('close', () => {
      if (failure) {
        return
      }
      if (!storing) {
        resolve(null)

        return
      }
      storing.then(resolve, () => {})
    })
    req.on('aborted', () => fail(badRequest('The client closed the request before the body ended.')))

    req.pipe(tap).pipe(parser)
  })
}

async function admitAndStore(
  pipeline: IngestPipeline,
  principal: Principal,
  form: ParsedForm,
  stream: Readable,
  part: { contentType: string | null; originalName: string | null; contentLength: number },
) {
  if (!part.contentType) {
    throw badRequest('The file part has no Content-Type header. Declare the type of the file.')
  }

  // The request's Content-Length bounds the file; the pipeline reserves the smaller of it and the limit.
  const sizeBound = Number.isFinite(part.contentLength) ? part.contentLength : null
  form.admission = await pipeline.admit(principal, {
    contentType: part.contentType,
    originalName: part.originalName,
    size: null,
    reserveBytes: sizeBound,
  })

  return pipeline.store(form.admission, stream)
}
