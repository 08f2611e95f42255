import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { promisify } from 'node:util'
import { CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3'
import { ulid } from 'ulid'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { loadConfig } from '../../src/config.js'
import type { Finding, ReconcileReport } from '../../src/reconcile.js'
import { LocalObjectStore } from '../../src/storage/local-object-store.js'
import { S3ObjectStore } from '../../src/storage/s3.js'
import { createFileId } from '../../src/uploads/pipeline.js'
import { readFixture, sha256Of } from '../helpers/fixtures.js'
import { NOTHING_LEFT, type TestTenant, createTenant, findLeftovers, getGateway } from '../helpers/gateway.js'
import { createTusUpload, makeVideo, patchTusUpload } from '../helpers/tus-requests.js'

const MIB = 1024 * 1024
const HOUR_MS = 60 * 60 * 1000
const CLI = new URL('../../src/cli.ts', import.meta.url).pathname
const runFile = promisify(execFile)

async function runReconcile(tenant: TestTenant, isFix: boolean, minAgeMs = 0): Promise<ReconcileReport> {
  const { gateway } = await getGateway()

  return gateway.reconcile({ isFix, projectId: tenant.projectId, minAgeMs })
}

function kindsAndKeys(findings: Finding[]) {
  return findings.map((finding) => `${finding.kind} ${finding.key}`).sort()
}

async function plantObject(key: string, bytes: Buffer = Buffer.from('left behind')) {
  const { gateway } = await getGateway()
  await gateway.objects.put(key, Readable.from([bytes]), 'application/octet-stream')
}

async function uploadPng(tenant: TestTenant) {
  const { url } = await getGateway()
  const form = new FormData()
  form.append('file', new Blob([readFixture('fixture.png') as Uint8Array<ArrayBuffer>], { type: 'image/png' }), 'fixture.png')
  const response = await fetch(`${url}/media`, { method: 'POST', headers: tenant.auth, body: form })
  assert.is(response.status, 201)

  return response.json()
}

async function storageUsed(tenant: TestTenant) {
  const { gateway } = await getGateway()
  const quotas = await gateway.metadata.getQuotas(tenant.projectId, tenant.mode)

  return quotas.find((quota) => quota.metric === 'storage_bytes')?.used
}

const Reconcile = suite('reconcile')

Reconcile('orphan object and sidecar are deleted', async () => {
  const tenant = await createTenant()
  const key = `${tenant.projectId}/live/${createFileId()}`
  await plantObject(key)
  await plantObject(`${key}.part.1`)

  const report = await runReconcile(tenant, false)
  assert.equal(kindsAndKeys(report.findings), [`orphan_object ${key}`, `orphan_object ${key}.part.1`])
  assert.ok(report.findings.every((finding) => finding.action === undefined), 'a report changes nothing')
  assert.equal((await findLeftovers(tenant.projectId)).objects, [key, `${key}.part.1`])

  const fixed = await runReconcile(tenant, true)
  assert.equal(fixed.findings.map((finding) => finding.action), ['deleted', 'deleted'])
  assert.equal(await findLeftovers(tenant.projectId), NOTHING_LEFT)
  assert.equal((await runReconcile(tenant, false)).findings, [])
})

Reconcile('young orphan is left for its upload', async () => {
  const tenant = await createTenant()
  const key = `${tenant.projectId}/live/${createFileId()}`
  await plantObject(key)

  assert.equal((await runReconcile(tenant, true, HOUR_MS)).findings, [])
  assert.equal((await findLeftovers(tenant.projectId)).objects, [key])

  const fixed = await runReconcile(tenant, true)
  assert.equal(kindsAndKeys(fixed.findings), [`orphan_object ${key}`])
  assert.equal(await findLeftovers(tenant.projectId), NOTHING_LEFT)
})

Reconcile('row without object is removed and refunded', async () => {
  const tenant = await createTenant()
  const file = await uploadPng(tenant)
  const { gateway } = await getGateway()
  await gateway.objects.delete(file.key)
  assert.is(await storageUsed(tenant), file.size)

  const report = await runReconcile(tenant, false)
  assert.equal(kindsAndKeys(report.findings), [`missing_object ${file.key}`])
  assert.is(report.findings[0].id, file.id)

  const fixed = await runReconcile(tenant, true)
  assert.is(fixed.findings[0].action, 'removed_row')
  assert.is(await storageUsed(tenant), 0, 'storage usage is refunded')
  assert.equal(await findLeftovers(tenant.projectId), NOTHING_LEFT)
  assert.equal((await runReconcile(tenant, false)).findings, [])
})

Reconcile('committed file is not reported', async () => {
  const tenant = await createTenant()
  const file = await uploadPng(tenant)

  assert.equal((await runReconcile(tenant, true)).findings, [])
  const { gateway } = await getGateway()
  assert.ok(await gateway.objects.exists(file.key))
  assert.is((await findLeftovers(tenant.projectId)).files, 1)
})

Reconcile('stale multipart upload is aborted', async () => {
  const test = await getGateway()
  if (!test.isS3) {
    console.log('  stale multipart upload case skipped: the local store has no multipart uploads')

    return
  }
  const tenant = await createTenant()
  const key = `${tenant.projectId}/live/${createFileId()}`
  const store = test.gateway.objects as S3ObjectStore
  const created = await store.client.send(new CreateMultipartUploadCommand({ Bucket: store.bucket, Key: key }))
  await store.client.send(
    new UploadPartCommand({ Bucket: store.bucket, Key: key, UploadId: created.UploadId, PartNumber: 1, Body: makeVideo(MIB) }),
  )
  assert.equal((await findLeftovers(tenant.projectId)).multipartUploads, [key])

  const report = await runReconcile(tenant, false)
  assert.equal(kindsAndKeys(report.findings), [`stale_multipart_upload ${key}`])
  assert.is(report.findings[0].multipartUploadId, created.UploadId)

  const fixed = await runReconcile(tenant, true)
  assert.is(fixed.findings[0].action, 'aborted')
  assert.equal(await findLeftovers(tenant.projectId), NOTHING_LEFT)
  assert.equal((await runReconcile(tenant, false)).findings, [])
})

Reconcile('expired tus upload is ended', async () => {
  const test = await getGateway()
  const tenant = await createTenant()
  const bytes = makeVideo(200_000)
  const id = await createTusUpload(test.url, tenant, bytes.length)
  assert.is((await patchTusUpload(test.url, tenant, id, 0, bytes.subarray(0, 100_000))).status, 204)
  await test.gateway.database.knex('uploads').where({ id }).update({ expires_at: new Date(Date.now() - 1000) })

  const report = await runReconcile(tenant, false)
  assert.equal(kindsAndKeys(report.findings), [`expired_upload ${tenant.projectId}/live/${id}`])

  const fixed = await runReconcile(tenant, true)
  assert.is(fixed.findings[0].action, 'aborted')
  assert.equal(await findLeftovers(tenant.projectId), NOTHING_LEFT)
  assert.equal((await runReconcile(tenant, false)).findings, [])
})

Reconcile('expired but stored upload is committed', async () => {
  const test = await getGateway()
  const tenant = await createTenant()
  const bytes = makeVideo(150_000)
  const id = await createTusUpload(test.url, tenant, bytes.length)
  assert.is((await patchTusUpload(test.url, tenant, id, 0, bytes)).status, 204)
  // As if the process died between storing the last byte and committing: reopen the upload.
  const knex = test.gateway.database.knex
  const row = await knex('files').where({ id }).first()
  await knex('files').where({ id }).delete()
  await knex('usage').where({ project_id: tenant.projectId }).delete()
  await knex('quota_reservations').insert({ upload_id: id, project_id: tenant.projectId, mode: 'live', bytes: bytes.length })
  await knex('uploads').where({ id }).update({ status: 'open', expires_at: new Date(Date.now() - 1000) })

  const fixed = await runReconcile(tenant, true)
  assert.equal(kindsAndKeys(fixed.findings), [`expired_upload ${row.key}`])
  assert.is(fixed.findings[0].action, 'committed')
  const file = await fetch(`${test.url}/media/${id}`, { headers: tenant.auth }).then((response) => response.json())
  assert.is(file.sha256, sha256Of(bytes))
  assert.is(await storageUsed(tenant), bytes.length)
  assert.equal((await runReconcile(tenant, false)).findings, [])
})

Reconcile('dangling reservations are released', async () => {
  const test = await getGateway()
  const knex = test.gateway.database.knex
  const tenant = await createTenant()
  const oldId = createFileId()
  const freshId = createFileId()
  await knex('quota_reservations').insert([
    { upload_id: oldId, project_id: tenant.projectId, mode: 'live', bytes: 1000, created_at: new Date(Date.now() - 2 * HOUR_MS) },
    { upload_id: freshId, project_id: tenant.projectId, mode: 'live', bytes: 2000 },
  ])

  const report = await runReconcile(tenant, false, HOUR_MS)
  assert.equal(kindsAndKeys(report.findings), [`dangling_reservation ${oldId}`])
  assert.is(report.findings[0].bytes, 1000)

  const fixed = await runReconcile(tenant, true, HOUR_MS)
  assert.is(fixed.findings[0].action, 'released')
  const left = await knex('quota_reservations').where({ project_id: tenant.projectId }).select('upload_id')
  assert.equal(left.map((row: { upload_id: string }) => row.upload_id), [freshId], 'a fresh reservation stays')
  assert.equal((await runReconcile(tenant, false, HOUR_MS)).findings, [])

  assert.is((await runReconcile(tenant, true)).findings[0].action, 'released')
  assert.equal(await findLeftovers(tenant.projectId), NOTHING_LEFT)
})

Reconcile('aborted upload leaves nothing behind', async () => {
  const test = await getGateway()
  const tenant = await createTenant()
  const bytes = makeVideo(6 * MIB + 1000)
  const id = await createTusUpload(test.url, tenant, bytes.length)
  assert.is((await patchTusUpload(test.url, tenant, id, 0, bytes.subarray(0, 6 * MIB))).status, 204)
  // As if the abort marked the row but could not reach storage or release quota.
  await test.gateway.database.knex('uploads').where({ id }).update({ status: 'aborted' })

  const report = await runReconcile(tenant, false)
  const kinds = report.findings.map((finding) => finding.kind)
  assert.ok(kinds.includes('dangling_reservation'), kinds.join(','))
  // The stored bytes are an open multipart upload on S3 and a file in the data folder.
  assert.ok(kinds.includes(test.isS3 ? 'stale_multipart_upload' : 'orphan_object'), kinds.join(','))

  const fixed = await runReconcile(tenant, true)
  assert.ok(fixed.findings.every((finding) => finding.action), JSON.stringify(fixed.findings))
  assert.equal(await findLeftovers(tenant.projectId), NOTHING_LEFT)
  assert.equal((await runReconcile(tenant, false)).findings, [])
})

Reconcile('live upload is not touched', async () => {
  const test = await getGateway()
  const tenant = await createTenant()
  const bytes = makeVideo(6 * MIB + 1000)
  const id = await createTusUpload(test.url, tenant, bytes.length)
  assert.is((await patchTusUpload(test.url, tenant, id, 0, bytes.subarray(0, 6 * MIB))).status, 204)
  const before = await findLeftovers(tenant.projectId)
  assert.ok(before.objects.length + before.multipartUploads.length > 0, 'the upload has stored bytes')

  const fixed = await runReconcile(tenant, true)
  assert.equal(fixed.findings, [])
  assert.equal(await findLeftovers(tenant.projectId), before)

  assert.is((await patchTusUpload(test.url, tenant, id, 6 * MIB, bytes.subarray(6 * MIB))).status, 204)
  const file = await fetch(`${test.url}/media/${id}`, { headers: tenant.auth }).then((response) => response.json())
  assert.is(file.sha256, sha256Of(bytes))
  assert.equal((await runReconcile(tenant, false)).findings, [])
})

Reconcile('reconcile command reports and fixes', async () => {
  const test = await getGateway()
  const dataDir = await mkdtemp(join(tmpdir(), 'media-gateway-reconcile-'))
  const env = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn' }
  const cli = (...args: string[]) => runFile(process.execPath, ['--import', 'tsx', CLI, ...args], { env })
  try {
    const projectName = `reconcile-${ulid()}`
    const created = await cli('project', 'create', projectName)
    const projectId = created.stdout.split('\t')[0]
    const key = `${projectId}/test/${createFileId()}`
    const config = loadConfig({ DATA_DIR: dataDir })
    const store = test.isS3 ? new S3ObjectStore(test.config.s3!) : new LocalObjectStore(join(config.dataDir, 'objects'))
    await store.put(key, Readable.from([Buffer.from('left behind')]), 'application/octet-stream')

    const scope = ['--project', projectName, '--min-age-ms', '0']
    const report = JSON.parse((await cli('reconcile', '--json', ...scope)).stdout) as ReconcileReport
    assert.equal(kindsAndKeys(report.findings), [`orphan_object ${key}`])

    const fixed = await cli('reconcile', '--fix', ...scope)
    assert.match(fixed.stdout, `orphan_object\t${key}`)
    assert.match(fixed.stdout, '-> deleted')
    assert.match(fixed.stdout, '1 leftovers: 1 orphan_object; 1 fixed, 0 failed')
    assert.not.ok(await store.exists(key))

    const again = await cli('reconcile', ...scope)
    assert.is(again.stdout.trim(), 'no leftovers found')
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
})

Reconcile.run()
