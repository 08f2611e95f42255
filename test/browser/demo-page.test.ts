/**
 * The demo page in headless Chromium: the page comes from one gateway and
 * talks to an API gateway on another port, which allows only the page's
 * origin, so every request goes through real CORS.
 */
import { randomBytes } from 'node:crypto'
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CDPSession, Page } from 'playwright-core'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { type LaunchedBrowser, artifactPath, findBrowserSkipReason, launchChromium } from '../helpers/browser.js'
import { fixturePath, readFixture, sha256Of } from '../helpers/fixtures.js'
import {
  NOTHING_LEFT,
  type TestGateway,
  type TestTenant,
  createTenant,
  findLeftovers,
  getGateway,
  setStorageUsed,
  startGateway,
  stopGateway,
} from '../helpers/gateway.js'

const Browser = suite('demo page in Chromium')

const FILE_INPUT = 'input.uppy-Dashboard-input[name="files[]"]:not([webkitdirectory])'
const UPLOAD_BUTTON = '.uppy-StatusBar-actionBtn--upload'

let browser: LaunchedBrowser | null = null
let pageServer: TestGateway | null = null
let api: TestGateway | null = null
let filesDir = ''

Browser.before(async () => {
  try {
    browser = await launchChromium()
  } catch (error) {
    // uvu counts a failed before hook as failed tests but prints no error, so print the reason here.
    console.error(`\nbrowser tests failed: Chromium did not start: ${(error as Error).message}`)
    throw error
  }
  pageServer = await getGateway()
  api = await startGateway({ CORS_ALLOWED_ORIGINS: pageServer.url })
  filesDir = await mkdtemp(join(tmpdir(), 'media-gateway-browser-files-'))
})

Browser.after(async () => {
  await browser?.close()
  if (api) {
    await stopGateway(api)
  }
  if (filesDir) {
    await rm(filesDir, { recursive: true, force: true })
  }
})

/** Opens the page with empty storage and fills in the API base, the token and the door. */
async function openDemoPage(tenant: TestTenant, door: 'tus' | 'xhr', apiUrl = (api as TestGateway).url) {
  const page = await (browser as LaunchedBrowser).context.newPage()
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`))
  // A Content-Security-Policy violation or a script error shows up here.
  const consoleErrors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') {
      consoleErrors.push(message.text())
    }
  })
  page.on('pageerror', (error) => consoleErrors.push(error.message))
  await page.goto(`${(pageServer as TestGateway).url}/`)
  await page.evaluate(() => {
    localStorage.clear()
    sessionStorage.clear()
  })
  await page.reload()
  await page.fill('#api-base', apiUrl)
  await page.fill('#token', tenant.token)
  await page.check(`input[name="door"][value="${door}"]`)

  return { page, consoleErrors }
}

async function addFileAndUpload(page: Page, path: string) {
  await page.setInputFiles(FILE_INPUT, path)
  await page.click(UPLOAD_BUTTON)
}

/** Waits for the first stored file in the results and returns what the page shows. */
async function readStoredResult(page: Page) {
  const item = page.locator('#results li.stored').first()
  await item.waitFor()

  return {
    id: (await item.getAttribute('data-file-id')) as string,
    sha256: (await item.getAttribute('data-sha256')) as string,
    link: (await item.locator('a').getAttribute('href')) as string,
    text: (await item.textContent()) as string,
  }
}

async function getFileObject(tenant: TestTenant, id: string) {
  const response = await fetch(`${(api as TestGateway).url}/media/${id}`, { headers: tenant.auth })
  assert.is(response.status, 200, `GET /media/${id}`)

  return response.json()
}

/** Copies a fixture under a new name, so each test adds a file Uppy and tus have not seen. */
async function copyFixture(name: string, newName: string): Promise<string> {
  const path = join(filesDir, newName)
  await copyFile(fixturePath(name), path)

  return path
}

async function checkStoredUpload(page: Page, tenant: TestTenant, bytes: Buffer, contentType: string) {
  const displayed = await readStoredResult(page)
  const realSha256 = sha256Of(bytes)
  assert.is(displayed.sha256, realSha256)
  assert.ok(displayed.text.includes(realSha256), displayed.text)
  assert.ok(displayed.text.includes(contentType), displayed.text)
  assert.ok(displayed.text.includes(`${bytes.length.toLocaleString('en')} bytes`), displayed.text)

  const stored = await getFileObject(tenant, displayed.id)
  assert.is(stored.sha256, realSha256)
  assert.is(stored.size, bytes.length)
  assert.is(stored.content_type, contentType)
  assert.is(displayed.link, stored.url)

  const download = await fetch(displayed.link)
  assert.is(download.status, 200)
  assert.is(sha256Of(Buffer.from(await download.arrayBuffer())), realSha256)

  return displayed
}

/** Saves a full-page screenshot under test/artifacts and prints its path. */
async function saveScreenshot(page: Page, name: string, what: string) {
  const path = await artifactPath(name)
  await page.screenshot({ path, fullPage: true })
  console.log(`screenshot of the page after ${what}: ${path}`)
}

/** Uploads a fixture through one door, checks the stored file and returns the requests sent. */
async function uploadFixture(door: 'tus' | 'xhr', fixture: string, fileName: string, contentType: string) {
  const tenant = await createTenant(undefined, 'live', undefined, api as TestGateway)
  const { page, consoleErrors } = await openDemoPage(tenant, door)
  const requests: string[] = []
  page.on('request', (request) => requests.push(`${request.method()} ${new URL(request.url()).pathname}`))

  await addFileAndUpload(page, await copyFixture(fixture, fileName))
  await checkStoredUpload(page, tenant, readFixture(fixture), contentType)
  await saveScreenshot(page, `demo-page-${door}.png`, `an upload through ${door}`)
  assert.equal(consoleErrors, [], 'the browser console has no errors')
  await page.close()

  return requests
}

Browser('uploads through tus', async () => {
  const requests = await uploadFixture('tus', 'fixture.png', 'tus-upload.png', 'image/png')

  assert.ok(requests.includes('POST /media/uploads'), requests.join(', '))
  assert.ok(requests.some((line) => line.startsWith('PATCH /media/uploads/')), requests.join(', '))
})

Browser('uploads through the multipart form', async () => {
  const requests = await uploadFixture('xhr', 'fixture.jpg', 'form-upload.jpg', 'image/jpeg')

  assert.ok(requests.includes('POST /media'), requests.join(', '))
  assert.not.ok(requests.some((line) => line.startsWith('POST /media/uploads')), requests.join(', '))
})

/** Throttles the page's uploads to bytesPerSecond, or lifts the limit with -1. */
async function throttleUploads(cdp: CDPSession, bytesPerSecond: number) {
  await cdp.send('Network.enable')
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: bytesPerSecond,
  })
}

async function readReceivedTusBytes(): Promise<number> {
  const text = await (await fetch(`${(api as TestGateway).url}/metrics`)).text()
  const match = /^media_gateway_received_bytes_total\{door="tus"\} (\d+)/m.exec(text)

  return match ? Number(match[1]) : 0
}

Browser('resumes a tus upload after a reload', async () => {
  const test = api as TestGateway
  const tenant = await createTenant(undefined, 'live', undefined, test)
  // A real PNG followed by 1.5 MB of random bytes: still sniffed as PNG, and slow to send.
  const bytes = Buffer.concat([readFixture('fixture.png'), randomBytes(1_500_000)])
  const path = join(filesDir, 'resumed.png')
  await writeFile(path, bytes)
  const receivedBefore = await readReceivedTusBytes()

  const { page } = await openDemoPage(tenant, 'tus')
  const cdp = await page.context().newCDPSession(page)
  await throttleUploads(cdp, 200 * 1024)
  await addFileAndUpload(page, path)
  // Reload once about a third has gone out: the stored upload URL and offset must survive it.
  await page.waitForFunction(() => {
    const bar = document.querySelector('.uppy-StatusBar [role="progressbar"]')

    return Number(bar?.getAttribute('aria-valuenow') ?? 0) >= 30
  })
  const storedUploads = await page.evaluate(() =>
    Object.keys(localStorage)
      .filter((key) => key.startsWith('tus::'))
      .map((key) => JSON.parse(localStorage.getItem(key) as string).uploadUrl as string),
  )
  assert.is(storedUploads.length, 1, 'tus-js-client stored one upload URL')
  const uploadUrl = storedUploads[0]
  const uploadId = uploadUrl.slice(uploadUrl.lastIndexOf('/') + 1)

  const afterReload: { method: string; path: string; offset: string | undefined }[] = []
  const headOffsets: string[] = []
  await page.reload()
  page.on('request', (request) => {
    afterReload.push({
      method: request.method(),
      path: new URL(request.url()).pathname,
      offset: request.headers()['upload-offset'],
    })
  })
  page.on('response', (response) => {
    if (response.request().method() === 'HEAD') {
      headOffsets.push(response.headers()['upload-offset'])
    }
  })
  await throttleUploads(cdp, -1)

  // The settings came back from storage, so adding the same file is all a person does.
  assert.is(await page.inputValue('#api-base'), test.url)
  assert.is(await page.inputValue('#token'), tenant.token)
  await addFileAndUpload(page, path)
  const displayed = await checkStoredUpload(page, tenant, bytes, 'image/png')

  assert.is(displayed.id, uploadId, 'the file is the upload started before the reload')
  assert.not.ok(afterReload.some((request) => request.method === 'POST'), 'no new upload was created')
  const patches = afterReload.filter((request) => request.method === 'PATCH')
  assert.ok(patches.length >= 1, 'the rest was sent with PATCH')
  assert.is(headOffsets.length, 1, 'one HEAD asked for the offset')
  const resumedAt = Number(patches[0].offset)
  assert.is(String(resumedAt), headOffsets[0], 'the first PATCH starts at the offset HEAD returned')
  assert.ok(resumedAt >= bytes.length * 0.25, `resumed at ${resumedAt} of ${bytes.length} bytes`)
  assert.ok(resumedAt < bytes.length, `resumed at ${resumedAt} of ${bytes.length} bytes`)

  // The gateway received each byte once: the part before the reload was not sent again.
  assert.is((await readReceivedTusBytes()) - receivedBefore, bytes.length)
  const knex = test.gateway.database.knex
  const uploads = await knex('uploads').where({ project_id: tenant.projectId }).count({ count: '*' }).first()
  assert.is(Number(uploads?.count), 1)
  const files = await knex('files').where({ project_id: tenant.projectId }).count({ count: '*' }).first()
  assert.is(Number(files?.count), 1)
  await page.close()
})

/** Waits for the first failure in the results and returns the message the page shows. */
async function readFailureMessage(page: Page): Promise<string> {
  const message = page.locator('#results li.failed .error-message').first()
  await message.waitFor()

  return (await message.textContent()) as string
}

Browser('shows the API error for a rejected file', async () => {
  const test = api as TestGateway

  const full = await createTenant(undefined, 'live', undefined, test)
  await setStorageUsed(full, test.config.quotaStorageBytes - 100, test)
  const overQuota = (await openDemoPage(full, 'tus')).page
  await addFileAndUpload(overQuota, await copyFixture('fixture.png', 'over-quota.png'))
  const quotaMessage = await readFailureMessage(overQuota)
  assert.ok(quotaMessage.startsWith('quota_exceeded (HTTP 429): '), quotaMessage)
  assert.ok(quotaMessage.includes('storage_bytes'), quotaMessage)
  // The Dashboard's error button on the file carries the same message, not tus-js-client's own.
  const errorButton = overQuota.locator('.uppy-Dashboard-Item-errorDetails').first()
  assert.is(await errorButton.getAttribute('aria-label'), quotaMessage)
  assert.equal(await findLeftovers(full.projectId, test), NOTHING_LEFT)
  await overQuota.close()

  const tenant = await createTenant(undefined, 'live', undefined, test)
  const mismatch = (await openDemoPage(tenant, 'xhr')).page
  // Chromium declares image/png from the name; the bytes are plain text.
  await addFileAndUpload(mismatch, await copyFixture('fixture.txt', 'notes.png'))
  const mismatchMessage = await readFailureMessage(mismatch)
  assert.ok(mismatchMessage.startsWith('bad_request (HTTP 400): '), mismatchMessage)
  assert.ok(mismatchMessage.includes('image/png'), mismatchMessage)
  await saveScreenshot(mismatch, 'demo-page-rejected.png', 'a rejected upload')
  await mismatch.close()

  const unsupported = (await openDemoPage(tenant, 'xhr')).page
  await unsupported.setInputFiles(FILE_INPUT, {
    name: 'setup.exe',
    mimeType: 'application/x-msdownload',
    buffer: readFixture('hostile-exe.bin'),
  })
  await unsupported.click(UPLOAD_BUTTON)
  const unsupportedMessage = await readFailureMessage(unsupported)
  assert.ok(unsupportedMessage.startsWith('unsupported_media_type (HTTP 415): '), unsupportedMessage)
  assert.equal(await findLeftovers(tenant.projectId, test), NOTHING_LEFT)
  await unsupported.close()
})

Browser('reports an origin the API does not allow', async () => {
  const elsewhere = await startGateway({ CORS_ALLOWED_ORIGINS: 'http://127.0.0.1:1' })
  try {
    const tenant = await createTenant(undefined, 'live', undefined, elsewhere)
    const { page } = await openDemoPage(tenant, 'xhr', elsewhere.url)
    await addFileAndUpload(page, await copyFixture('fixture.gif', 'blocked.gif'))
    const message = await readFailureMessage(page)
    assert.ok(message.startsWith(`No response from ${elsewhere.url}`), message)
    assert.ok(message.includes('CORS_ALLOWED_ORIGINS'), message)
    await page.close()
  } finally {
    await stopGateway(elsewhere)
  }
})

const skipReason = findBrowserSkipReason()
if (skipReason) {
  console.log(`browser tests not run: ${skipReason}`)
} else {
  Browser.run()
}
