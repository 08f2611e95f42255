/**
 * The OpenAPI 3.1 document of the gateway, served at GET /openapi.json.
 * test/integration/openapi.test.ts validates it against the OpenAPI 3.1
 * schema, checks real responses against it, and requires every documented
 * status of every operation to be seen at least once.
 */
import { ERROR_STATUS } from '../errors.js'
import { CATEGORY_LIMIT_BYTES } from '../uploads/media-types.js'
import { SCOPES } from '../tokens.js'

/** Error codes of the tus door's own statuses, beside the catalogue in errors.ts. */
const TUS_ERROR_CODES = ['offset_mismatch', 'unsupported_version', 'not_implemented', 'method_not_allowed', 'checksum_mismatch']

type Schema = Record<string, unknown>

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
const response = (name: string) => ({ $ref: `#/components/responses/${name}` })
const header = (name: string) => ({ $ref: `#/components/headers/${name}` })

/** Builds a response whose body is the error envelope, with extra fields for some codes. */
function errorResponse(description: string, code: string | string[], extra: Schema = {}, headers: Schema = {}) {
  const codes = Array.isArray(code) ? code : [code]

  return {
    description,
    headers: { 'X-Request-Id': header('RequestId'), ...headers },
    content: {
      'application/json': {
        schema: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              allOf: [ref('ErrorBody')],
              properties: { code: { enum: codes }, ...extra },
            },
          },
        },
      },
    },
  }
}

function jsonResponse(description: string, schema: Schema, headers: Schema = {}) {
  return {
    description,
    headers: { 'X-Request-Id': header('RequestId'), ...headers },
    content: { 'application/json': { schema } },
  }
}

const SECURED = [{ bearer: [] as string[] }]

/** Statuses every authenticated route can return, beside its own. */
const AUTH_ERRORS = {
  '401': response('Unauthorized'),
  '403': response('Forbidden'),
  default: response('Internal'),
}

const FILE_ID = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'File id, `f_` and a ULID. For an upload, the same id its file will have.',
  schema: { type: 'string', examples: ['f_01M90X1KHWY3Q6RT87JC46AD2G'] },
}

const TUS_RESUMABLE_REQUEST = {
  name: 'Tus-Resumable',
  in: 'header',
  required: true,
  description: 'The tus version the client speaks, `1.0.0`. A request without it, or with another version, gets 412.',
  schema: { type: 'string', const: '1.0.0' },
}

const UPLOAD_OFFSET_REQUEST = {
  name: 'Upload-Offset',
  in: 'header',
  required: true,
  description: 'Byte offset this request continues from. It must equal the stored offset, or the response is 409.',
  schema: { type: 'integer', minimum: 0 },
}

/**
 * tus statuses every request to an existing upload can return. HEAD and PATCH
 * also return 410 for an expired upload; DELETE removes it like any other.
 */
const TUS_UPLOAD_ERRORS = {
  '401': response('Unauthorized'),
  '403': response('Forbidden'),
  '404': response('UploadNotFound'),
  '412': response('UnsupportedVersion'),
  '503': response('StorageError'),
  default: response('Internal'),
}

const FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'url',
    'key',
    'size',
    'content_type',
    'sha256',
    'original_name',
    'tags',
    'folder',
    'abuse_status',
    'visibility',
    'storage_class',
    'created_at',
    'updated_at',
  ],
  properties: {
    id: { type: 'string', pattern: '^f_[0-9A-HJKMNP-TV-Z]{26}$' },
    url: {
      type: 'string',
      format: 'uri',
      description:
        'A public file: `PUBLIC_MEDIA_URL/<key>`. A private file: a new signed URL on every read, ' +
        'valid for `SIGNED_URL_TTL_SECONDS`.',
    },
    key: { type: 'string', description: 'Object key: `<project id>/<mode>/<file id>`.' },
    size: { type: 'integer', minimum: 0, description: 'Bytes.' },
    content_type: { type: 'string', description: 'Canonical type of the bytes, such as `image/jpeg` for `image/jpg`.' },
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    original_name: { type: ['string', 'null'], description: "The client's file name, kept only here." },
    tags: { type: 'array', items: { type: 'string' } },
    folder: { type: ['string', 'null'] },
    abuse_status: { type: 'string', enum: ['clean'] },
    visibility: { type: 'string', enum: ['public', 'private'] },
    storage_class: { type: 'string', enum: ['standard'] },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
}

const QUOTA_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['metric', 'used', 'limit', 'cumulative'],
  properties: {
    metric: { type: 'string', enum: ['storage_bytes', 'upload_bytes'] },
    used: { type: 'integer', minimum: 0, description: 'Committed bytes; reservations of uploads in progress are not included.' },
    limit: { type: 'integer', minimum: 0 },
    cumulative: {
      type: 'boolean',
      description: '`true` for bytes stored now; `false` for bytes uploaded this calendar month (UTC).',
    },
  },
}

const ERROR_BODY_SCHEMA = {
  type: 'object',
  required: ['code', 'message'],
  description: 'Fields beside `code` and `message` depend on the code, as each response lists.',
  properties: {
    code: { type: 'string', enum: [...Object.keys(ERROR_STATUS), ...TUS_ERROR_CODES] },
    message: { type: 'string' },
  },
}

const TUS_HEADERS = {
  TusResumable: {
    description: 'The tus version of the response, always `1.0.0`.',
    schema: { type: 'string', const: '1.0.0' },
  },
  TusVersion: { description: 'tus versions the server speaks.', schema: { type: 'string' } },
  TusExtension: {
    description: 'tus extensions the server supports.',
    schema: { type: 'string', examples: ['creation,creation-with-upload,creation-defer-length,termination,expiration'] },
  },
  UploadOffset: { description: 'Bytes of the upload stored so far.', schema: { type: 'integer', minimum: 0 } },
  UploadLength: { description: 'Declared length of the upload, in bytes.', schema: { type: 'integer', minimum: 0 } },
  UploadDeferLength: {
    description: '`1` while the upload length has not been declared.',
    schema: { type: 'string', const: '1' },
  },
  UploadMetadata: { description: 'The metadata given at creation, as tus encodes it.', schema: { type: 'string' } },
  UploadExpires: {
    description: 'When an unfinished upload expires (an HTTP date); absent once it is finished.',
    schema: { type: 'string' },
  },
}

const UPLOAD_CREATION = {
  summary: 'Create a resumable upload (tus creation)',
  description:
    'Creates a tus upload. It is judged at once from its declared type and `Upload-Length`: an unsupported ' +
    'type (415), a length over the category limit (413) or over a quota (429) is rejected before any byte is ' +
    'sent. With `Content-Type: application/offset+octet-stream` the request may carry the first bytes ' +
    '(creation-with-upload). The upload id in `Location` is the id the file will have.',
  operationId: 'createUpload',
  tags: ['tus'],
  security: SECURED,
  parameters: [
    TUS_RESUMABLE_REQUEST,
    {
      name: 'Upload-Length',
      in: 'header',
      description: 'Size of the whole file in bytes. Give it, or `Upload-Defer-Length: 1`.',
      schema: { type: 'integer', minimum: 0 },
    },
    {
      name: 'Upload-Defer-Length',
      in: 'header',
      description: 'Send `1` to declare the length in a later PATCH.',
      schema: { type: 'string', const: '1' },
    },
    {
      name: 'Upload-Metadata',
      in: 'header',
      description:
        'Comma-separated `key base64(value)` pairs: `filename` (or `name`), `filetype` (or `type`, ' +
        '`content_type`), and optionally `folder`, `tags` and `visibility`.',
      schema: { type: 'string', examples: ['filename dGFsay5tcDQ=,filetype dmlkZW8vbXA0'] },
    },
    {
      name: 'Upload-Concat',
      in: 'header',
      description: 'Concatenation is not offered; a request with this header gets 501.',
      schema: { type: 'string' },
    },
  ],
  requestBody: {
    required: false,
    description: 'The first bytes of the file (creation-with-upload).',
    content: { 'application/offset+octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } },
  },
  responses: {
    '201': {
      description: 'Upload created; continue it at `Location` with PATCH.',
      headers: {
        Location: {
          description:
            'Absolute URL of the upload, `…/media/uploads/<file id>`. With TRUST_PROXY it uses the ' +
            "proxy's scheme and host.",
          required: true,
          schema: { type: 'string', format: 'uri' },
        },
        'Tus-Resumable': header('TusResumable'),
        'Upload-Offset': header('UploadOffset'),
        'Upload-Expires': header('UploadExpires'),
        'X-Request-Id': header('RequestId'),
      },
    },
    '400': response('BadRequest'),
    ...AUTH_ERRORS,
    '412': response('UnsupportedVersion'),
    '413': response('TooLarge'),
    '415': response('UnsupportedMediaType'),
    '429': response('QuotaExceeded'),
    '501': response('NotImplemented'),
    '503': response('StorageError'),
  },
}

/** Builds the document; it names no server, so it is valid at whatever URL serves it. */
export function createOpenApiDocument() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'media-gateway',
      version: '0.1.0',
      summary: 'Resumable and multipart uploads of media files, sniffed, limited, hashed and stored.',
      description:
        'Files arrive as `multipart/form-data` at `POST /media` or as tus 1.0 uploads at `/media/uploads`. ' +
        'Both doors check the declared type against the real bytes, the category size limit and the ' +
        "project's quotas before the file is stored. Every error has one JSON envelope: " +
        '`{"error": {"code", "message", ...}}`. A token belongs to one project and one mode (`so_live_` ' +
        'or `so_test_`); files of one mode are invisible to tokens of the other.',
    },
    tags: [
      { name: 'media', description: 'Files: upload, list, read and delete.' },
      { name: 'tus', description: 'Resumable uploads, tus 1.0.0.' },
      { name: 'operations', description: 'Health, readiness, metrics and this document.' },
    ],
    paths: {
      '/media': {
        post: {
          summary: 'Upload a file (multipart)',
          description:
            'Takes `multipart/form-data` with exactly one `file` part that carries its own `Content-Type`, ' +
            'and the fields `folder`, `tags` and `visibility` before or after it.',
          operationId: 'uploadFile',
          tags: ['media'],
          security: SECURED,
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: {
                  type: 'object',
                  required: ['file'],
                  properties: {
                    file: { type: 'string', contentMediaType: 'application/octet-stream' },
                    folder: { type: 'string', description: 'A slash-separated path of safe segments.' },
                    tags: {
                      type: 'string',
                      description: 'Repeat the field, or give one comma-separated value.',
                    },
                    visibility: { type: 'string', enum: ['public', 'private'], default: 'public' },
                  },
                },
                encoding: { file: { contentType: 'image/*, video/*, audio/*, application/*, text/*' } },
              },
            },
          },
          responses: {
            '201': jsonResponse('The file was stored.', ref('File'), {
              Location: {
                description: 'Path of the new file, `/media/<id>`.',
                required: true,
                schema: { type: 'string' },
              },
            }),
            '400': response('BadRequest'),
            ...AUTH_ERRORS,
            '413': response('TooLarge'),
            '415': response('UnsupportedMediaType'),
            '429': response('QuotaExceeded'),
            '503': response('StorageError'),
          },
        },
        get: {
          summary: 'List files, newest first',
          operationId: 'listFiles',
          tags: ['media'],
          security: SECURED,
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
            {
              name: 'cursor',
              in: 'query',
              description: "The previous page's `next_cursor`.",
              schema: { type: 'string' },
            },
            { name: 'folder', in: 'query', schema: { type: 'string' } },
            { name: 'tag', in: 'query', schema: { type: 'string' } },
            {
              name: 'content_type',
              in: 'query',
              description: 'An exact type (`image/png`) or a family (`image/*`).',
              schema: { type: 'string' },
            },
          ],
          responses: {
            '200': jsonResponse('One page of files.', ref('FileList')),
            '400': response('BadRequest'),
            ...AUTH_ERRORS,
          },
        },
      },
      '/media/{id}': {
        parameters: [FILE_ID],
        get: {
          summary: 'Get one file',
          operationId: 'getFile',
          tags: ['media'],
          security: SECURED,
          responses: {
            '200': jsonResponse('The file.', ref('File')),
            ...AUTH_ERRORS,
            '404': response('NotFound'),
          },
        },
        delete: {
          summary: 'Delete a file',
          description: "Deletes the row and the object and gives the file's bytes back to `storage_bytes`.",
          operationId: 'deleteFile',
          tags: ['media'],
          security: SECURED,
          responses: {
            '204': { description: 'Deleted.', headers: { 'X-Request-Id': header('RequestId') } },
            ...AUTH_ERRORS,
            '404': response('NotFound'),
          },
        },
      },
      '/usage': {
        get: {
          summary: "Get the project's quotas and usage for this mode",
          operationId: 'getUsage',
          tags: ['media'],
          security: SECURED,
          responses: {
            '200': jsonResponse('Every quota of the tier.', ref('Usage')),
            ...AUTH_ERRORS,
          },
        },
      },
      '/media/uploads': {
        options: {
          summary: 'Discover tus support',
          operationId: 'getTusOptions',
          tags: ['tus'],
          security: [],
          responses: {
            '204': {
              description: 'The tus versions and extensions the server supports.',
              headers: {
                'Tus-Resumable': header('TusResumable'),
                'Tus-Version': header('TusVersion'),
                'Tus-Extension': header('TusExtension'),
                'X-Request-Id': header('RequestId'),
              },
            },
          },
        },
        post: UPLOAD_CREATION,
      },
      '/media/uploads/{id}': {
        parameters: [FILE_ID],
        head: {
          summary: 'Get the offset of an upload',
          description:
            'Returns how many bytes are stored. A HEAD that finds every byte stored also commits the file, ' +
            'when the request that stored them ended before it could.',
          operationId: 'getUploadOffset',
          tags: ['tus'],
          security: SECURED,
          parameters: [TUS_RESUMABLE_REQUEST],
          responses: {
            '200': {
              description: 'The upload and its offset; there is no body.',
              headers: {
                'Upload-Offset': { ...header('UploadOffset'), required: true },
                'Upload-Length': header('UploadLength'),
                'Upload-Defer-Length': header('UploadDeferLength'),
                'Upload-Metadata': header('UploadMetadata'),
                'Upload-Expires': header('UploadExpires'),
                'Tus-Resumable': header('TusResumable'),
                'Cache-Control': { description: '`no-store`.', schema: { type: 'string' } },
                'X-Request-Id': header('RequestId'),
              },
            },
            '410': response('Gone'),
            ...TUS_UPLOAD_ERRORS,
          },
        },
        patch: {
          summary: 'Send bytes of an upload',
          description:
            'Appends bytes at `Upload-Offset`. The first bytes are sniffed as soon as 64 KiB (or the whole ' +
            'file) have arrived; a mismatch answers 400 and deletes the upload. The request that brings ' +
            'the last byte commits the file, after which `GET /media/{id}` returns it.',
          operationId: 'patchUpload',
          tags: ['tus'],
          security: SECURED,
          parameters: [
            TUS_RESUMABLE_REQUEST,
            UPLOAD_OFFSET_REQUEST,
            {
              name: 'Upload-Length',
              in: 'header',
              description: 'Declares the length of an upload created with `Upload-Defer-Length: 1`.',
              schema: { type: 'integer', minimum: 0 },
            },
          ],
          requestBody: {
            required: true,
            content: { 'application/offset+octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } },
          },
          responses: {
            '204': {
              description: 'The bytes are stored.',
              headers: {
                'Upload-Offset': { ...header('UploadOffset'), required: true },
                'Upload-Expires': header('UploadExpires'),
                'Tus-Resumable': header('TusResumable'),
                'X-Request-Id': header('RequestId'),
              },
            },
            '400': response('BadRequest'),
            '409': response('OffsetMismatch'),
            '410': response('Gone'),
            '413': response('TooLarge'),
            '429': response('QuotaExceeded'),
            ...TUS_UPLOAD_ERRORS,
          },
        },
        delete: {
          summary: 'End an unfinished upload (tus termination)',
          description:
            'Deletes the bytes of an unfinished upload and releases its quota reservation. A finished ' +
            'upload is a file: delete it with `DELETE /media/{id}` (400 here).',
          operationId: 'terminateUpload',
          tags: ['tus'],
          security: SECURED,
          parameters: [TUS_RESUMABLE_REQUEST],
          responses: {
            '204': {
              description: 'The upload is gone.',
              headers: { 'Tus-Resumable': header('TusResumable'), 'X-Request-Id': header('RequestId') },
            },
            '400': response('BadRequest'),
            ...TUS_UPLOAD_ERRORS,
          },
        },
      },
      '/files/{key}': {
        get: {
          summary: 'Download a stored file (embedded default)',
          description:
            'Served only when files live in the data folder; with S3, file URLs point at the bucket. A ' +
            'private file needs the `expires` and `signature` of its signed URL, and answers 404 without ' +
            'them. Files are served with `X-Content-Type-Options: nosniff` and a sandboxing ' +
            '`Content-Security-Policy`, so an SVG never runs its scripts.',
          operationId: 'downloadFile',
          tags: ['media'],
          security: [],
          parameters: [
            {
              name: 'key',
              in: 'path',
              required: true,
              description: 'The object key, slashes included.',
              schema: { type: 'string' },
            },
            { name: 'expires', in: 'query', description: 'Unix time the signature expires.', schema: { type: 'integer' } },
            { name: 'signature', in: 'query', description: 'HMAC-SHA256 of the key and `expires`, in hex.', schema: { type: 'string' } },
          ],
          responses: {
            '200': {
              description: "The file's bytes, with its stored content type.",
              headers: {
                'Content-Security-Policy': { schema: { type: 'string' } },
                'X-Content-Type-Options': { schema: { type: 'string', const: 'nosniff' } },
                'X-Request-Id': header('RequestId'),
              },
              content: { '*/*': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } },
            },
            '404': response('NotFound'),
            default: response('Internal'),
          },
        },
      },
      '/': {
        get: {
          summary: 'The demo upload page',
          description:
            'The page that `npm run build` makes from web/. It answers 404, like an unknown route, when ' +
            'the page was not built.',
          operationId: 'getDemoPage',
          tags: ['operations'],
          security: [],
          responses: {
            '200': {
              description: 'The HTML of the page, revalidated on every load.',
              headers: { 'X-Request-Id': header('RequestId') },
              content: { 'text/html': { schema: { type: 'string' } } },
            },
            '304': { description: 'The cached page is current.', headers: { 'X-Request-Id': header('RequestId') } },
          },
        },
      },
      '/demo/{path}': {
        get: {
          summary: "A file of the demo page's build",
          description: 'Files whose names carry a content hash are cached for a year.',
          operationId: 'getDemoAsset',
          tags: ['operations'],
          security: [],
          parameters: [{ name: 'path', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': {
              description: 'The file.',
              headers: { 'X-Request-Id': header('RequestId') },
              content: { '*/*': { schema: { type: 'string' } } },
            },
            '304': { description: 'The cached file is current.', headers: { 'X-Request-Id': header('RequestId') } },
            '404': response('NotFound'),
          },
        },
      },
      '/healthz': {
        get: {
          summary: 'Liveness',
          operationId: 'getHealth',
          tags: ['operations'],
          security: [],
          responses: {
            '200': jsonResponse('The process serves requests.', {
              type: 'object',
              required: ['status'],
              properties: { status: { const: 'ok' } },
            }),
          },
        },
      },
      '/readyz': {
        get: {
          summary: 'Readiness: the database and the object store answer',
          operationId: 'getReadiness',
          tags: ['operations'],
          security: [],
          responses: {
            '200': jsonResponse('Both backends answer.', {
              type: 'object',
              required: ['status', 'checks'],
              properties: { status: { const: 'ready' }, checks: ref('ReadinessChecks') },
            }),
            '503': errorResponse('A backend is unreachable; `checks` names it.', 'storage_error', {
              checks: ref('ReadinessChecks'),
            }),
            default: response('Internal'),
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          description:
            'Bytes received and uploads by door, outcome and error code, request durations, uploads in ' +
            'flight, backend failures, and the Node.js process metrics, all prefixed `media_gateway_`.',
          operationId: 'getMetrics',
          tags: ['operations'],
          security: [],
          responses: {
            '200': {
              description: 'The Prometheus text format.',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
          },
        },
      },
      '/openapi.json': {
        get: {
          summary: 'This document',
          operationId: 'getOpenApiDocument',
          tags: ['operations'],
          security: [],
          responses: {
            '200': jsonResponse('The OpenAPI 3.1 document.', { type: 'object', required: ['openapi', 'paths'] }),
          },
        },
      },
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            `A token \`so_live_...\` or \`so_test_...\` with the route's scope: \`media:read\` to list and read, ` +
            `\`media:write\` to upload and delete, \`usage:read\` for /usage. Scopes a token may carry: ${SCOPES.join(', ')}.`,
        },
      },
      headers: {
        RequestId: {
          description: 'The request id (taken from `REQUEST_ID_HEADER` when safe), also in the log line of the request.',
          schema: { type: 'string' },
        },
        ...TUS_HEADERS,
      },
      schemas: {
        File: FILE_SCHEMA,
        FileList: {
          type: 'object',
          additionalProperties: false,
          required: ['data', 'has_more', 'next_cursor'],
          properties: {
            data: { type: 'array', items: ref('File') },
            has_more: { type: 'boolean' },
            next_cursor: { type: ['string', 'null'], description: '`null` on the last page.' },
          },
        },
        Quota: QUOTA_SCHEMA,
        Usage: {
          type: 'object',
          additionalProperties: false,
          required: ['tier', 'quotas'],
          properties: { tier: { type: 'string' }, quotas: { type: 'array', items: ref('Quota') } },
        },
        ErrorBody: ERROR_BODY_SCHEMA,
        ReadinessChecks: {
          type: 'object',
          required: ['database', 'storage'],
          properties: {
            database: { enum: ['ok', 'unreachable'] },
            storage: { enum: ['ok', 'unreachable'] },
          },
        },
      },
      responses: {
        BadRequest: errorResponse(
          'Malformed request, missing file part or part `Content-Type`, bytes that do not match the declared ' +
            'type (`declared_content_type`, `detected_content_type`), or an invalid field (`field`).',
          'bad_request',
          {
            field: { type: 'string' },
            declared_content_type: { type: 'string' },
            detected_content_type: { type: 'string' },
          },
        ),
        Unauthorized: errorResponse(
          'Missing, malformed, unknown or revoked token.',
          'unauthorized',
          {},
          { 'WWW-Authenticate': { required: true, schema: { type: 'string', examples: ['Bearer'] } } },
        ),
        Forbidden: errorResponse('The token lacks the scope of the route (`required_scope`).', 'forbidden', {
          required_scope: { type: 'string' },
        }),
        NotFound: errorResponse("No such file (or route) for this token's project and mode.", 'not_found'),
        UploadNotFound: errorResponse("No such upload for this token's project and mode.", 'not_found'),
        Gone: errorResponse('The upload expired (`TUS_EXPIRATION_MS` after its creation).', 'gone'),
        OffsetMismatch: errorResponse('`Upload-Offset` is not the stored offset; HEAD the upload and resume.', 'offset_mismatch'),
        UnsupportedVersion: errorResponse('The `Tus-Resumable` header is missing or names another version.', 'unsupported_version'),
        NotImplemented: errorResponse(
          'A tus extension the gateway does not offer, such as concatenation (`Upload-Concat`).',
          'not_implemented',
        ),
        TooLarge: errorResponse(
          `Over the category limit in bytes (${Object.entries(CATEGORY_LIMIT_BYTES)
            .map(([category, limit]) => `${category} ${limit}`)
            .join(', ')}).`,
          'too_large',
          { limit: { type: 'integer' }, category: { type: 'string' } },
        ),
        UnsupportedMediaType: errorResponse('A declared type the gateway does not accept.', 'unsupported_media_type', {
          content_type: { type: 'string' },
        }),
        QuotaExceeded: errorResponse(
          'The upload would take a quota over its limit; `quotas` lists every quota of the tier.',
          'quota_exceeded',
          { metric: { type: 'string' }, quotas: { type: 'array', items: ref('Quota') } },
        ),
        StorageError: errorResponse('Object storage or the database failed; retry.', 'storage_error'),
        Internal: errorResponse(
          'A bug (500 `internal`; the log has the cause under the request id), or a failed backend ' +
            '(503 `storage_error`) on a route that lists no 503.',
          ['internal', 'storage_error'],
        ),
      },
    },
  }
}
