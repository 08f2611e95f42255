import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFixture } from '../helpers/fixtures.js'
import { NOTHING_LEFT, createTenant, findLeftovers, getGateway } from '../helpers/gateway.js'

function pngForm() {
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array(readFixture('fixture.png'))], { type: 'image/png' }), 'a.png')

  return form
}

async function upload(headers: Record<string, string>) {
  const { url } = await getGateway()
  const response = await fetch(`${url}/media`, { method: 'POST', headers, body: pngForm() })

  return { response, json: await response.json() }
}

const Auth = suite('bearer tokens')

Auth('rejects a missing token', async () => {
  const { response, json } = await upload({})

  assert.is(response.status, 401)
  assert.is(json.error.code, 'unauthorized')
  assert.is(response.headers.get('www-authenticate'), 'Bearer')
})

Auth('rejects malformed and unknown tokens', async () => {
  const cases = [
    'Basic dXNlcjpwYXNz',
    'Bearer',
    'Bearer so_prod_0123456789abcdef0123456789abcdef',
    'Bearer so_live_short',
    `Bearer so_live_${'a'.repeat(600)}`,
    'Bearer so_live_0123456789ABCDEFabcdef0123456789',
  ]
  for (const authorization of cases) {
    const { response, json } = await upload({ Authorization: authorization })
    assert.is(response.status, 401, authorization.slice(0, 40))
    assert.is(json.error.code, 'unauthorized')
    assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer/)
  }
})

Auth('requires media:write to upload', async () => {
  const reader = await createTenant(['media:read'])
  const { response, json } = await upload(reader.auth)

  assert.is(response.status, 403)
  assert.is(json.error.code, 'forbidden')
  assert.is(json.error.required_scope, 'media:write')
  assert.equal(await findLeftovers(reader.projectId), NOTHING_LEFT)
})

Auth('requires media:read to fetch a file', async () => {
  const owner = await createTenant(['media:write'])
  const { json: file } = await upload(owner.auth)
  const { url } = await getGateway()
  const response = await fetch(`${url}/media/${file.id}`, { headers: owner.auth })
  const json = await response.json()

  assert.is(response.status, 403)
  assert.is(json.error.required_scope, 'media:read')
})

Auth('hides files from other projects and modes', async () => {
  const owner = await createTenant()
  const { json: file } = await upload(owner.auth)
  const { url } = await getGateway()
  const stranger = await createTenant()
  const sameProjectTestMode = await createTenant(['media:read'], 'test', owner.projectName)
  assert.is(sameProjectTestMode.projectId, owner.projectId)
  for (const tenant of [stranger, sameProjectTestMode]) {
    const response = await fetch(`${url}/media/${file.id}`, { headers: tenant.auth })
    const json = await response.json()
    assert.is(response.status, 404)
    assert.is(json.error.code, 'not_found')
  }
  const own = await fetch(`${url}/media/${file.id}`, { headers: owner.auth })
  assert.is(own.status, 200)
})

Auth('answers unknown routes in the envelope', async () => {
  const { url } = await getGateway()
  const response = await fetch(`${url}/nowhere`)
  const json = await response.json()

  assert.is(response.status, 404)
  assert.is(json.error.code, 'not_found')
})

Auth.run()
