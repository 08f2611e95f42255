import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { hasCurl } from '../helpers/curl.js'
import { ACCEPTED_FIXTURES, fixturePath, readFixture, sha256Of } from '../helpers/fixtures.js'
import { NOTHING_LEFT, createTenant, findLeftovers, getGateway, setStorageUsed } from '../helpers/gateway.js'

const run = promisify(execFile)

function formWith(name: string, bytes: Uint8Array, type: string, fields: [string, string][] = []) {
  const form = new FormData()
  for (const [key, value] of fields) {
    form.append(key, value)
  }
  form.append('file', new Blob([bytes as Uint8Array<ArrayBuffer>], { type }), name)

  return form
}

async function postMedia(body: FormData | string, headers: Record<string, string>) {
  const { url } = await getGateway()
  const response = await fetch(`${url}/media`, { method: 'POST', headers, body })

  return { response, json: await response.json() }
}

const PostMedia = suite('POST /media')

PostMedia('stores every accepted type with its SHA-256', async () => {
  const tenant = await createTenant()
  for (const fixture of ACCEPTED_FIXTURES) {
    const bytes = readFixture(fixture.name)
    const { response, json } = await postMedia(
      formWith(fixture.name, bytes, fixture.declared),
      tenant.auth,
    )
    assert.is(response.status, 201, `${fixture.name}: ${JSON.stringify(json)}`)
    assert.is(json.content_type, fixture.stored, fixture.name)
    assert.is(json.sha256, sha256Of(bytes), fixture.name)
    assert.is(json.size, bytes.length, fixture.name)
    assert.is(response.headers.get('location'), `/media/${json.id}`)
  }
})

PostMedia('returns every field of the file object', async () => {
  const tenant = await createTenant()
  const bytes = readFixture('fixture.png')
  const fields: [string, string][] = [
    ['folder', 'screens/2026'],
    ['tags', 'Alpha, beta'],
    ['tags', 'gamma'],
    ['visibility', 'private'],
  ]
  const { response, json } = await postMedia(formWith('shot.png', bytes, 'image/png', fields), tenant.auth)
  const { config } = await getGateway()

  assert.is(response.status, 201)
  assert.match(json.id, /^f_[0-9A-HJKMNP-TV-Z]{26}$/)
  assert.is(json.key, `${tenant.projectId}/live/${json.id}`)
  // A private file's URL is signed and time-limited.
  assert.ok(json.url.startsWith(config.s3 ? config.s3.endpoint : `${config.publicMediaUrl}/${json.key}`))
  assert.match(json.url, /[?&](signature|X-Amz-Signature)=/)
  assert.is(json.original_name, 'shot.png')
  assert.equal(json.tags, ['alpha', 'beta', 'gamma'])
  assert.is(json.folder, 'screens/2026')
  assert.is(json.visibility, 'private')
  assert.is(json.abuse_status, 'clean')
  assert.is(json.storage_class, 'standard')
  assert.ok(!Number.isNaN(Date.parse(json.created_at)))
  assert.is(json.updated_at, json.created_at)
})

PostMedia('accepts fields after the file part', async () => {
  const tenant = await createTenant()
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array(readFixture('fixture.gif'))], { type: 'image/gif' }), 'a.gif')
  form.append('folder', 'late')
  form.append('visibility', 'public')
  const { response, json } = await postMedia(form, tenant.auth)

  assert.is(response.status, 201)
  assert.is(json.folder, 'late')
})

PostMedia('keeps client paths out of the key', async () => {
  const tenant = await createTenant()
  const name = '../../etc/\u202Epasswd.png'
  const { response, json } = await postMedia(
    formWith(name, readFixture('fixture.png'), 'image/png'),
    tenant.auth,
  )

  assert.is(response.status, 201)
  assert.not.match(json.key, /passwd|\.\./)
  assert.is(json.original_name, 'passwd.png')
})

PostMedia('serves the stored file at its URL', async () => {
  const test = await getGateway()
  if (test.isS3) {
    console.log('  skipped serving check: S3 serves objects itself')

    return
  }
  const tenant = await createTenant()
  const bytes = readFixture('fixture.svg')
  const { json } = await postMedia(formWith('a.svg', bytes, 'image/svg+xml'), tenant.auth)
  const served = await fetch(`${test.url}/files/${json.key}`)

  assert.is(served.status, 200)
  assert.is(served.headers.get('content-type'), 'image/svg+xml')
  assert.match(served.headers.get('content-security-policy') ?? '', /sandbox/)
  assert.is(sha256Of(new Uint8Array(await served.arrayBuffer())), json.sha256)
})

PostMedia('uploads with curl', async () => {
  if (!(await hasCurl())) {
    console.log('  skipped curl upload: curl is not installed')

    return
  }
  const test = await getGateway()
  const tenant = await createTenant()
  for (const [name, type] of [
    ['fixture.png', 'image/png'],
    ['fixture.jpg', 'image/jpeg'],
    ['fixture.mp4', 'video/mp4'],
    ['fixture.mp3', 'audio/mpeg'],
    ['fixture.pdf', 'application/pdf'],
  ]) {
    const { stdout } = await run('curl', [
      '-sS',
      '-H',
      `Authorization: Bearer ${tenant.token}`,
      '-F',
      `file=@${fixturePath(name)};type=${type}`,
      `${test.url}/media`,
    ])
    const json = JSON.parse(stdout)
    assert.is(json.content_type, type, name)
    assert.is(json.sha256, sha256Of(readFixture(name)), name)
  }
})

PostMedia('accepts text that opens like a signature', async () => {
  const tenant = await createTenant()
  for (const [text, type] of [
    ['BMI,weight\n1,2\n', 'text/csv'],
    ['ID3 tags explained\n', 'text/markdown'],
    ['%PDF notes\n', 'text/plain'],
  ]) {
    const bytes = Buffer.from(text)
    const { response, json } = await postMedia(formWith('a.txt', bytes, type), tenant.auth)
    assert.is(response.status, 201, `${text}: ${JSON.stringify(json)}`)
    assert.is(json.content_type, type)
  }
})

PostMedia('answers a bad file URL with 404', async () => {
  const test = await getGateway()
  if (test.isS3) {
    return
  }
  const response = await fetch(`${test.url}/files/%`)

  assert.is(response.status, 404)
})

const Rejections = suite('POST /media rejections')

async function expectRejected(
  body: FormData | string,
  headers: Record<string, string>,
  projectId: string,
  status: number,
  code: string,
) {
  const { response, json } = await postMedia(body, headers)
  assert.is(response.status, status, JSON.stringify(json))
  assert.is(json.error.code, code)
  assert.type(json.error.message, 'string')
  assert.equal(await findLeftovers(projectId), NOTHING_LEFT)

  return json.error
}

Rejections('rejects bytes that do not match the declared type', async () => {
  const tenant = await createTenant()
  const cases = [
    ['fixture.png', 'image/jpeg', 'image/png'],
    ['fixture.mp4', 'image/png', 'video/mp4'],
    ['hostile-exe.bin', 'application/pdf', 'application/x-msdownload'],
    ['hostile-nul.txt', 'text/plain', 'application/octet-stream'],
    ['hostile-invalid-utf8.txt', 'text/plain', 'application/octet-stream'],
    ['hostile-html.svg', 'image/svg+xml', 'text/plain'],
    ['hostile-zip.zip', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'application/zip'],
    ['fixture.txt', 'application/json', 'text/plain'],
  ]
  for (const [name, declared, detected] of cases) {
    const error = await expectRejected(
      formWith(name, readFixture(name), declared),
      tenant.auth,
      tenant.projectId,
      400,
      'bad_request',
    )
    assert.is(error.declared_content_type, declared, name)
    assert.is(error.detected_content_type, detected, name)
  }
})

Rejections('rejects an unsupported declared type', async () => {
  const tenant = await createTenant()
  await expectRejected(
    formWith('a.zip', readFixture('hostile-zip.zip'), 'application/zip'),
    tenant.auth,
    tenant.projectId,
    415,
    'unsupported_media_type',
  )
})

Rejections('rejects a file part without Content-Type', async () => {
  const tenant = await createTenant()
  const body =
    '--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello\r\n--b--\r\n'
  await expectRejected(
    body,
    { ...tenant.auth, 'Content-Type': 'multipart/form-data; boundary=b' },
    tenant.projectId,
    400,
    'bad_request',
  )
})

Rejections('rejects a form without a file part', async () => {
  const tenant = await createTenant()
  const form = new FormData()
  form.append('folder', 'a')
  await expectRejected(form, tenant.auth, tenant.projectId, 400, 'bad_request')
})

Rejections('rejects a form with two file parts', async () => {
  const tenant = await createTenant()
  const form = formWith('a.png', readFixture('fixture.png'), 'image/png')
  form.append('file', new Blob([new Uint8Array(readFixture('fixture.gif'))], { type: 'image/gif' }), 'b.gif')
  await expectRejected(form, tenant.auth, tenant.projectId, 400, 'bad_request')
})

Rejections('rejects a body that is not multipart', async () => {
  const tenant = await createTenant()
  await expectRejected(
    '{}',
    { ...tenant.auth, 'Content-Type': 'application/json' },
    tenant.projectId,
    400,
    'bad_request',
  )
})

Rejections('rejects an invalid field and names it', async () => {
  const tenant = await createTenant()
  for (const [field, value] of [
    ['folder', '../escape'],
    ['visibility', 'secret'],
    ['tags', 'x'.repeat(65)],
  ]) {
    const form = formWith('a.png', readFixture('fixture.png'), 'image/png', [[field, value]])
    const error = await expectRejected(form, tenant.auth, tenant.projectId, 400, 'bad_request')
    assert.is(error.field, field)
  }
})

Rejections('rejects a file over its category limit', async () => {
  const tenant = await createTenant()
  // A real PNG head followed by zeros: 50 MB + 1 byte, one past the image limit.
  const png = readFixture('fixture.png')
  const bytes = new Uint8Array(50_000_001)
  bytes.set(png)
  const error = await expectRejected(
    formWith('big.png', bytes, 'image/png'),
    tenant.auth,
    tenant.projectId,
    413,
    'too_large',
  )
  assert.is(error.limit, 50_000_000)
  assert.is(error.category, 'image')
})

Rejections('rejects an upload over the storage quota', async () => {
  const test = await getGateway()
  const tenant = await createTenant()
  const limit = test.config.quotaStorageBytes
  await setStorageUsed(tenant, limit - 100)
  const { response, json } = await postMedia(
    formWith('a.png', readFixture('fixture.png'), 'image/png'),
    tenant.auth,
  )

  assert.is(response.status, 429)
  assert.is(json.error.code, 'quota_exceeded')
  assert.is(json.error.metric, 'storage_bytes')
  assert.equal(json.error.quotas, [
    { metric: 'storage_bytes', used: limit - 100, limit, cumulative: true },
    { metric: 'upload_bytes', used: 0, limit: test.config.quotaUploadBytesPerMonth, cumulative: false },
  ])
  const leftovers = await findLeftovers(tenant.projectId)
  assert.equal(leftovers, NOTHING_LEFT)
})

PostMedia.run()
Rejections.run()
