/**
 * The demo page: an Uppy Dashboard that uploads to the gateway through tus
 * (`/media/uploads`) or a multipart form (`POST /media`), and lists each
 * stored file or the API's error message.
 */
import Uppy from '@uppy/core'
import Dashboard from '@uppy/dashboard'
import Tus from '@uppy/tus'
import XHRUpload from '@uppy/xhr-upload'
import type { DetailedError } from 'tus-js-client'
import '@uppy/core/css/style.min.css'
import '@uppy/dashboard/css/style.min.css'
import './style.css'
import { describeApiError } from './api-error.js'
import { type FileObject, showFailure, showStoredFile } from './results.js'
import { type Door, bindSettings, readSettings } from './settings.js'

function findElement<T extends HTMLElement>(selector: string): T {
  const element = document.querySelector<T>(selector)
  if (!element) {
    throw new Error(`The page has no ${selector} element.`)
  }

  return element
}

const form = {
  apiBase: findElement<HTMLInputElement>('#api-base'),
  token: findElement<HTMLInputElement>('#token'),
  doors: [...document.querySelectorAll<HTMLInputElement>('input[name="door"]')],
}
const doorFieldset = findElement<HTMLFieldSetElement>('#door')
const results = findElement<HTMLOListElement>('#results')

// A fixed id keeps Uppy's file ids, and so the tus fingerprints in localStorage, stable across reloads.
const uppy = new Uppy({
  id: 'media-gateway-demo',
  onBeforeUpload: (files) => {
    if (readSettings(form).token) {
      return files
    }
    uppy.info('Paste a bearer token with the media:write scope first.', 'error', 5000)

    return false
  },
})
uppy.use(Dashboard, {
  inline: true,
  target: '#dashboard',
  width: '100%',
  height: 340,
  proudlyDisplayPoweredByUppy: false,
  note: 'Images, video, audio and documents, each type within its size limit.',
})

function authHeaders() {
  return { Authorization: `Bearer ${readSettings(form).token}` }
}

/** Installs the uploader for a door, or points the installed one at the current API base. */
function configureUploader(door: Door) {
  const { apiBase } = readSettings(form)
  const installed = uppy.getPlugin(door === 'tus' ? 'Tus' : 'XHRUpload')
  const other = uppy.getPlugin(door === 'tus' ? 'XHRUpload' : 'Tus')
  if (other) {
    uppy.removePlugin(other)
  }

  if (door === 'tus') {
    const endpoint = `${apiBase}/media/uploads`
    if (installed) {
      installed.setOptions({ endpoint })

      return
    }
    uppy.use(Tus, {
      endpoint,
      headers: authHeaders,
      // Uppy sends `name` and `type`, and copies them to tus's `filename` and `filetype`.
      allowedMetaFields: ['name', 'type'],
      removeFingerprintOnSuccess: true,
      // The gateway returns 429 only for quota_exceeded, which a retry does not fix.
      onShouldRetry: (error, _attempt, _options, next) =>
        error.originalResponse?.getStatus() === 429 ? false : next(error),
    })

    return
  }

  const endpoint = `${apiBase}/media`
  if (installed) {
    installed.setOptions({ endpoint })

    return
  }
  uppy.use(XHRUpload, {
    endpoint,
    fieldName: 'file',
    headers: authHeaders,
    // The form carries only the file part, because the gateway ignores Uppy's meta fields.
    allowedMetaFields: [],
    // Retry only what a retry can fix: no response at all, or a server error.
    shouldRetry: (xhr) => xhr.status === 0 || xhr.status >= 500,
  })
}

bindSettings(form, configureUploader)
form.apiBase.addEventListener('input', () => configureUploader(readSettings(form).door))
configureUploader(readSettings(form).door)

uppy.on('upload', () => {
  doorFieldset.disabled = true
})
uppy.on('complete', () => {
  doorFieldset.disabled = false
})
uppy.on('cancel-all', () => {
  doorFieldset.disabled = false
})

/** Fetches the file object of a finished tus upload: the upload id is the file id. */
async function fetchFileObject(uploadUrl: string): Promise<FileObject> {
  const { apiBase } = readSettings(form)
  const fileId = uploadUrl.slice(uploadUrl.lastIndexOf('/') + 1)
  const response = await fetch(`${apiBase}/media/${encodeURIComponent(fileId)}`, { headers: authHeaders() })
  if (!response.ok) {
    throw new Error(describeApiError(response.status, await response.text(), apiBase))
  }

  return (await response.json()) as FileObject
}

uppy.on('upload-success', (file, response) => {
  if (!file) {
    return
  }

  const body = response.body as unknown as FileObject | undefined
  if (body && typeof body.sha256 === 'string') {
    showStoredFile(results, body)

    return
  }
  if (!response.uploadURL) {
    showFailure(results, file.name ?? file.id, 'The upload finished but the response named no file.')

    return
  }
  fetchFileObject(response.uploadURL).then(
    (stored) => showStoredFile(results, stored),
    (error: Error) => showFailure(results, file.name ?? file.id, `Stored, but reading it back failed: ${error.message}`),
  )
})

/**
 * Finds the HTTP response of a failed upload: tus-js-client's error carries
 * it as `originalResponse`, and the XHR uploader's error as its request.
 */
function readFailedResponse(error: Error): { status: number; body: string } {
  const tusResponse = (error as Partial<DetailedError>).originalResponse
  if (tusResponse) {
    return { status: tusResponse.getStatus(), body: tusResponse.getBody() ?? '' }
  }

  const request = (error as { request?: XMLHttpRequest }).request
  if (request instanceof XMLHttpRequest) {
    const body = request.responseType === '' || request.responseType === 'text' ? request.responseText : ''

    return { status: request.status, body }
  }

  return { status: 0, body: '' }
}

uppy.on('upload-error', (file, error) => {
  if (!file) {
    return
  }

  const { status, body } = readFailedResponse(error as Error)
  const message = describeApiError(status, body, readSettings(form).apiBase)
  // Uppy stored the client library's own message; the Dashboard shows the API's instead.
  uppy.setFileState(file.id, { error: message })
  showFailure(results, file.name ?? file.id, message)
})
