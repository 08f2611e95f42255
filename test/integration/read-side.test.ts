import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFixture, sha256Of } from '../helpers/fixtures.js'
import { NOTHING_LEFT, type TestTenant, createTenant, findLeftovers, getGateway } from '../helpers/gateway.js'

async function upload(tenant: TestTenant, name: string, type: string, fields: Record<string, string> = {}) {
  const { url } = await getGateway()
  const form = new FormData()
  for (const [key, value] of Object.entries(fields)) {
    form.append(key, value)
  }
  form.append('file', new Blob([new Uint8Array(readFixture(name))], { type }), name)
  const response = await fetch(`${url}/media`, { method: 'POST', headers: tenant.auth, body: form })
  assert.is(response.status, 201)

  return response.json()
}

async function list(tenant: TestTenant, query: string) {
  const { url } = await getGateway()
  const response = await fetch(`${url}/media?${query}`, { headers: tenant.auth })

  return { response, json: await response.json() }
}

const Listing = suite('GET /media')

Listing('pages newest first without gaps', async () => {
  const tenant = await createTenant()
  const ids: string[] = []
  for (let index = 0; index < 5; index++) {
    ids.push((await upload(tenant, 'fixture.gif', 'image/gif')).id)
  }
  const seen: string[] = []
  let cursor = ''
  for (let page = 0; page < 3; page++) {
    const { response, json } = await list(tenant, `limit=2${cursor ? `&cursor=${cursor}` : ''}`)
    assert.is(response.status, 200)
    seen.push(...json.data.map((file: { id: string }) => file.id))
    // A file uploaded between pages lands before the cursor and never shifts the next page.
    if (page === 0) {
      await upload(tenant, 'fixture.gif', 'image/gif')
    }
    assert.is(json.has_more, page < 2)
    cursor = json.next_cursor
  }

  assert.equal(seen, [...ids].reverse())
  assert.is(cursor, null)
})

Listing('filters by folder, tag and type', async () => {
  const tenant = await createTenant()
  const png = await upload(tenant, 'fixture.png', 'image/png', { folder: 'shots', tags: 'ui,launch' })
  const gif = await upload(tenant, 'fixture.gif', 'image/gif', { folder: 'shots' })
  const pdf = await upload(tenant, 'fixture.pdf', 'application/pdf', { tags: 'launch' })
  const idsOf = (json: { data: { id: string }[] }) => json.data.map((file) => file.id)

  assert.equal(idsOf((await list(tenant, 'folder=shots')).json), [gif.id, png.id])
  assert.equal(idsOf((await list(tenant, 'tag=Launch')).json), [pdf.id, png.id])
  assert.equal(idsOf((await list(tenant, 'content_type=image/*')).json), [gif.id, png.id])
  assert.equal(idsOf((await list(tenant, 'content_type=image/jpg')).json), [])
  assert.equal(idsOf((await list(tenant, 'content_type=imag_/*')).json), [], 'no LIKE wildcard')
  assert.equal(idsOf((await list(tenant, 'content_type=application/pdf&tag=launch')).json), [pdf.id])
})

Listing('rejects invalid query values', async () => {
  const tenant = await createTenant()
  for (const [query, field] of [
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=ten', 'limit'],
    ['cursor=bm9wZQ', 'cursor'],
    ['folder=../x', 'folder'],
    ['content_type=nonsense', 'content_type'],
    ['tag=a&tag=b', 'tag'],
  ]) {
    const { response, json } = await list(tenant, query)
    assert.is(response.status, 400, query)
    assert.is(json.error.code, 'bad_request', query)
    assert.is(json.error.field, field, query)
  }
})

const Delete = suite('DELETE /media/{id}')

Delete('removes the row and the object', async () => {
  const test = await getGateway()
  const tenant = await createTenant()
  const file = await upload(tenant, 'fixture.jpg', 'image/jpeg')
  const response = await fetch(`${test.url}/media/${file.id}`, { method: 'DELETE', headers: tenant.auth })

  assert.is(response.status, 204)
  const after = await fetch(`${test.url}/media/${file.id}`, { headers: tenant.auth })
  assert.is(after.status, 404)
  assert.equal(await findLeftovers(tenant.projectId), NOTHING_LEFT)
  const again = await fetch(`${test.url}/media/${file.id}`, { method: 'DELETE', headers: tenant.auth })
  assert.is(again.status, 404)
})

Delete('forgets a deleted tus upload', async () => {
  const test = await getGateway()
  const tenant = await createTenant()
  const bytes = readFixture('fixture.png')
  const created = await fetch(`${test.url}/media/uploads`, {
    method: 'POST',
    headers: {
      ...tenant.auth,
      'Tus-Resumable': '1.0.0',
      'Upload-Length': String(bytes.length),
      'Upload-Metadata': `filename ${Buffer.from('a.png').toString('base64')},filetype ${Buffer.from('image/png').toString('base64')}`,
      'Content-Type': 'application/offset+octet-stream',
    },
    body: new Uint8Array(bytes),
  })
  const location = created.headers.get('location') ?? ''
  const tusHeaders = { ...tenant.auth, 'Tus-Resumable': '1.0.0' }
  assert.is((await fetch(location, { method: 'HEAD', headers: tusHeaders })).status, 200)

  const id = location.slice(location.lastIndexOf('/') + 1)
  assert.is((await fetch(`${test.url}/media/${id}`, { method: 'DELETE', headers: tenant.auth })).status, 204)
  assert.is((await fetch(location, { method: 'HEAD', headers: tusHeaders })).status, 404)
  assert.equal(await findLeftovers(tenant.projectId), NOTHING_LEFT)
})

Delete('answers a NUL in a file path with 404', async () => {
  const test = await getGateway()
  if (test.isS3) {
    return
  }
  const response = await fetch(`${test.url}/files/p_x/live/f_x%00`)

  assert.is(response.status, 404)
})

const Private = suite('private file URLs')

Private('signs private URLs and checks them', async () => {
  const test = await getGateway()
  const tenant = await createTenant()
  const file = await upload(tenant, 'fixture.png', 'image/png', { visibility: 'private' })
  const served = await fetch(file.url)

  assert.is(served.status, 200)
  assert.is(sha256Of(new Uint8Array(await served.arrayBuffer())), file.sha256)
  const unsigned = await fetch(file.url.split('?')[0])
  assert.ok(unsigned.status === 403 || unsigned.status === 404, `unsigned: ${unsigned.status}`)
  if (!test.isS3) {
    const tampered = await fetch(file.url.replace(/signature=.{4}/, 'signature=0000'))
    assert.is(tampered.status, 404)
    const expired = await fetch(file.url.replace(/expires=\d+/, 'expires=1000'))
    assert.is(expired.status, 404)
  }

  const read = await fetch(`${test.url}/media/${file.id}`, { headers: tenant.auth })
  const json = await read.json()
  assert.match(json.url, /[?&](signature|X-Amz-Signature)=/)
})

Private('leaves public URLs unsigned', async () => {
  const test = await getGateway()
  const tenant = await createTenant()
  const file = await upload(tenant, 'fixture.png', 'image/png')

  assert.is(file.url, `${test.config.publicMediaUrl}/${file.key}`)
})

Listing.run()
Delete.run()
Private.run()
