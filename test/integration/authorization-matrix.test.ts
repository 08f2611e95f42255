import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { SCOPES, generateToken } from '../../src/tokens.js'
import { readFixture } from '../helpers/fixtures.js'
import { type TestTenant, createTenant, findLeftovers, getGateway } from '../helpers/gateway.js'

type Headers = Record<string, string>

const PNG = readFixture('fixture.png')
const TUS_HEADERS = { 'Tus-Resumable': '1.0.0' }
const ALL_SCOPES = [...SCOPES]

function pngForm() {
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array(PNG)], { type: 'image/png' }), 'a.png')

  return form
}

function encodeMetadata(metadata: Record<string, string>): string {
  return Object.entries(metadata)
    .map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`)
    .join(',')
}

async function request(path: string, init: RequestInit = {}) {
  const { url } = await getGateway()

  return fetch(`${url}${path}`, init)
}

function createUpload(headers: Headers) {
  return request('/media/uploads', {
    method: 'POST',
    headers: {
      ...TUS_HEADERS,
      ...headers,
      'Upload-Length': String(PNG.length),
      'Upload-Metadata': encodeMetadata({ filename: 'a.png', filetype: 'image/png' }),
    },
  })
}

function headUpload(headers: Headers, id: string) {
  return request(`/media/uploads/${id}`, { method: 'HEAD', headers: { ...TUS_HEADERS, ...headers } })
}

function idOfLocation(response: Response): string {
  const location = response.headers.get('location') ?? ''

  return location.slice(location.lastIndexOf('/') + 1)
}

/** One cell of the matrix: the owner of the target, the caller and the target. */
interface Case {
  /** Owner of the target resources. Its token has every scope and is the right token for every route. */
  owner: TestTenant
  /** The tenant making the request, when the caller's token belongs to a project. */
  caller: TestTenant | null
  /** Id of the target file or unfinished upload, created for this case alone. */
  targetId: string
  label: string
}

type Target = 'file' | 'upload'

interface Route {
  name: string
  scope: string
  /** What must exist before the request: a file of the owner, or an unfinished upload of the owner. */
  target: Target
  /** True when the path names the target, so callers of another project or mode get 404. */
  isTargetInPath: boolean
  successStatus: number
  send(headers: Headers, targetId: string): Promise<Response>
  /** Checks a success response. The caller must see only its own project's and mode's data. */
  checkSuccess(response: Response, context: Case): Promise<void>
}

function keyPrefixOf(tenant: TestTenant) {
  return `${tenant.projectId}/${tenant.mode}/`
}

const ROUTES: Route[] = [
  {
    name: 'POST /media',
    scope: 'media:write',
    target: 'file',
    isTargetInPath: false,
    successStatus: 201,
    send: (headers) => request('/media', { method: 'POST', headers, body: pngForm() }),
    checkSuccess: async (response, { caller, label }) => {
      const json = await response.json()
      assert.ok(json.key.startsWith(keyPrefixOf(caller as TestTenant)), `${label}: key ${json.key}`)
      assert.is(response.headers.get('location'), `/media/${json.id}`, `${label}: Location`)
    },
  },
  {
    name: 'GET /media',
    scope: 'media:read',
    target: 'file',
    isTargetInPath: false,
    successStatus: 200,
    send: (headers) => request('/media', { headers }),
    checkSuccess: async (response, { owner, caller, targetId, label }) => {
      const json = await response.json()
      const expectedIds = caller === owner ? [targetId] : []
      const ids = json.data.map((file: { id: string }) => file.id)
      assert.equal(ids, expectedIds, `${label}: listed file ids`)
    },
  },
  {
    name: 'GET /media/{id}',
    scope: 'media:read',
    target: 'file',
    isTargetInPath: true,
    successStatus: 200,
    send: (headers, id) => request(`/media/${id}`, { headers }),
    checkSuccess: async (response, { targetId, label }) => {
      const json = await response.json()
      assert.is(json.id, targetId, `${label}: file id`)
    },
  },
  {
    name: 'DELETE /media/{id}',
    scope: 'media:write',
    target: 'file',
    isTargetInPath: true,
    successStatus: 204,
    send: (headers, id) => request(`/media/${id}`, { method: 'DELETE', headers }),
    checkSuccess: async (_response, { owner, targetId, label }) => {
      const after = await request(`/media/${targetId}`, { headers: owner.auth })
      assert.is(after.status, 404, `${label}: GET after DELETE`)
    },
  },
  {
    name: 'GET /usage',
    scope: 'usage:read',
    target: 'file',
    isTargetInPath: false,
    successStatus: 200,
    send: (headers) => request('/usage', { headers }),
    checkSuccess: async (response, { owner, caller, label }) => {
      const json = await response.json()
      const storage = json.quotas.find((quota: { metric: string }) => quota.metric === 'storage_bytes')
      const expectedUsed = caller === owner ? PNG.length : 0
      assert.is(json.tier, 'default', `${label}: tier`)
      assert.is(storage?.used, expectedUsed, `${label}: storage_bytes used`)
    },
  },
  {
    name: 'POST /media/uploads',
    scope: 'media:write',
    target: 'upload',
    isTargetInPath: false,
    successStatus: 201,
    send: (headers) => createUpload(headers),
    checkSuccess: async (response, { owner, caller, label }) => {
      const id = idOfLocation(response)
      const ownHead = await headUpload((caller as TestTenant).auth, id)
      assert.is(ownHead.status, 200, `${label}: HEAD of the new upload by its creator`)
      if (caller !== owner) {
        const ownerHead = await headUpload(owner.auth, id)
        assert.is(ownerHead.status, 404, `${label}: HEAD of the new upload by the owner`)
      }
    },
  },
  {
    name: 'HEAD /media/uploads/{id}',
    scope: 'media:write',
    target: 'upload',
    isTargetInPath: true,
    successStatus: 200,
    send: (headers, id) => headUpload(headers, id),
    checkSuccess: async (response, { label }) => {
      assert.is(response.headers.get('upload-offset'), '0', `${label}: Upload-Offset`)
      assert.is(response.headers.get('upload-length'), String(PNG.length), `${label}: Upload-Length`)
    },
  },
  {
    name: 'PATCH /media/uploads/{id}',
    scope: 'media:write',
    target: 'upload',
    isTargetInPath: true,
    successStatus: 204,
    send: (headers, id) =>
      request(`/media/uploads/${id}`, {
        method: 'PATCH',
        headers: {
          ...TUS_HEADERS,
          ...headers,
          'Upload-Offset': '0',
          'Content-Type': 'application/offset+octet-stream',
        },
        body: new Uint8Array(PNG),
      }),
    checkSuccess: async (response, { owner, targetId, label }) => {
      assert.is(response.headers.get('upload-offset'), String(PNG.length), `${label}: Upload-Offset`)
      const file = await request(`/media/${targetId}`, { headers: owner.auth })
      assert.is(file.status, 200, `${label}: GET of the finished file`)
    },
  },
  {
    name: 'DELETE /media/uploads/{id}',
    scope: 'media:write',
    target: 'upload',
    isTargetInPath: true,
    successStatus: 204,
    send: (headers, id) =>
      request(`/media/uploads/${id}`, { method: 'DELETE', headers: { ...TUS_HEADERS, ...headers } }),
    checkSuccess: async (_response, { owner, targetId, label }) => {
      const after = await headUpload(owner.auth, targetId)
      assert.is(after.status, 404, `${label}: HEAD after DELETE`)
    },
  },
]

/** Expected handling of a caller: rejected before any action, treated as a stranger, or served. */
type Outcome = 'unauthorized' | 'forbidden' | 'foreign' | 'owner'

interface Caller {
  name: string
  outcome: Outcome
  /** Makes the caller's credentials; `tenant` is null when the token belongs to no usable project. */
  create(owner: TestTenant, label: string): Promise<{ headers: Headers; tenant: TestTenant | null }>
}

const CALLERS: Caller[] = [
  {
    name: 'no token',
    outcome: 'unauthorized',
    create: async () => ({ headers: {}, tenant: null }),
  },
  {
    name: 'malformed token',
    outcome: 'unauthorized',
    create: async () => ({ headers: { Authorization: 'Bearer nope' }, tenant: null }),
  },
  {
    name: 'unknown token',
    outcome: 'unauthorized',
    // A fresh so_live_ token with 32 base62 characters that was never stored.
    create: async () => ({ headers: { Authorization: `Bearer ${generateToken('live')}` }, tenant: null }),
  },
  {
    name: 'revoked token',
    outcome: 'unauthorized',
    create: async (owner, label) => {
      const { gateway } = await getGateway()
      const { id, token } = await gateway.tokens.createToken(owner.projectId, owner.mode, ALL_SCOPES)
      const isRevoked = await gateway.tokens.revokeToken(id)
      assert.ok(isRevoked, `${label}: revokeToken returned false for a new token`)

      return { headers: { Authorization: `Bearer ${token}` }, tenant: null }
    },
  },
  {
    name: 'missing scope',
    outcome: 'forbidden',
    // Same project and mode as the owner, so only the scope differs.
    create: async (owner) => {
      const tenant = await createTenant(['logs:read'], owner.mode, owner.projectName)

      return { headers: tenant.auth, tenant }
    },
  },
  {
    name: 'other project',
    outcome: 'foreign',
    create: async () => {
      const tenant = await createTenant(ALL_SCOPES)

      return { headers: tenant.auth, tenant }
    },
  },
  {
    name: 'other mode',
    outcome: 'foreign',
    create: async (owner, label) => {
      const tenant = await createTenant(ALL_SCOPES, 'test', owner.projectName)
      assert.is(tenant.projectId, owner.projectId, `${label}: same project as the owner`)

      return { headers: tenant.auth, tenant }
    },
  },
  {
    name: 'right token',
    outcome: 'owner',
    create: async (owner) => ({ headers: owner.auth, tenant: owner }),
  },
]

async function createTarget(owner: TestTenant, target: Target, label: string): Promise<string> {
  if (target === 'file') {
    const response = await request('/media', { method: 'POST', headers: owner.auth, body: pngForm() })
    const json = await response.json()
    assert.is(response.status, 201, `${label}: setup POST /media: ${JSON.stringify(json)}`)

    return json.id
  }

  const response = await createUpload(owner.auth)
  assert.is(response.status, 201, `${label}: setup POST /media/uploads: ${await response.text()}`)

  return idOfLocation(response)
}

/** Checks that a rejected request left the owner's target as it was. */
async function assertTargetIntact(owner: TestTenant, target: Target, targetId: string, label: string) {
  if (target === 'file') {
    const response = await request(`/media/${targetId}`, { headers: owner.auth })
    assert.is(response.status, 200, `${label}: owner's file still readable`)

    return
  }

  const response = await headUpload(owner.auth, targetId)
  assert.is(response.status, 200, `${label}: owner's upload still there`)
  assert.is(response.headers.get('upload-offset'), '0', `${label}: owner's upload offset`)
}

/** Checks the status, the JSON error envelope and the code of an error response. */
async function assertError(response: Response, route: Route, status: number, code: string, label: string) {
  assert.is(response.status, status, `${label}: status`)
  // A response to HEAD has no body, so only its status and headers can be checked.
  if (route.name.startsWith('HEAD ')) {
    return undefined
  }

  assert.match(response.headers.get('content-type') ?? '', /^application\/json/, `${label}: Content-Type`)
  const json = await response.json()
  assert.equal(Object.keys(json), ['error'], `${label}: envelope keys ${JSON.stringify(json)}`)
  assert.is(json.error.code, code, `${label}: error.code`)
  assert.type(json.error.message, 'string', `${label}: error.message`)

  return json.error
}

const Matrix = suite('authorization matrix')

for (const route of ROUTES) {
  for (const caller of CALLERS) {
    const label = `${route.name} as ${caller.name}`
    Matrix(label, async () => {
      const owner = await createTenant(ALL_SCOPES)
      const targetId = await createTarget(owner, route.target, label)
      const { headers, tenant } = await caller.create(owner, label)
      const context: Case = { owner, caller: tenant, targetId, label }
      const before = await findLeftovers(owner.projectId)
      const response = await route.send(headers, targetId)

      if (caller.outcome === 'owner' || (caller.outcome === 'foreign' && !route.isTargetInPath)) {
        const body = response.status >= 400 ? await response.text() : ''
        assert.is(response.status, route.successStatus, `${label}: status ${body}`)
        await route.checkSuccess(response, context)

        return
      }

      if (caller.outcome === 'unauthorized') {
        await assertError(response, route, 401, 'unauthorized', label)
        const challenge = response.headers.get('www-authenticate') ?? ''
        assert.match(challenge, /^Bearer/, `${label}: WWW-Authenticate`)
      } else if (caller.outcome === 'forbidden') {
        const error = await assertError(response, route, 403, 'forbidden', label)
        if (error) {
          assert.is(error.required_scope, route.scope, `${label}: error.required_scope`)
        }
      } else {
        await assertError(response, route, 404, 'not_found', label)
      }
      assert.equal(await findLeftovers(owner.projectId), before, `${label}: owner's data changed`)
      await assertTargetIntact(owner, route.target, targetId, label)
    })
  }
}

Matrix('OPTIONS /media/uploads needs no token', async () => {
  const owner = await createTenant(ALL_SCOPES)
  for (const caller of CALLERS) {
    const label = `OPTIONS /media/uploads as ${caller.name}`
    const { headers } = await caller.create(owner, label)
    const response = await request('/media/uploads', { method: 'OPTIONS', headers })
    assert.is(response.status, 204, `${label}: status`)
    assert.is(response.headers.get('tus-resumable'), '1.0.0', `${label}: Tus-Resumable`)
  }
})

Matrix.run()
