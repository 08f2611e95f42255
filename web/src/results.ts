/** The part of a file object that the results list shows. */
export interface FileObject {
  id: string
  url: string
  content_type: string
  size: number
  sha256: string
  original_name: string | null
}

function formatSize(bytes: number): string {
  if (bytes < 1000) {
    return `${bytes} bytes`
  }

  // Decimal units, as the gateway's size limits are written.
  const units = ['kB', 'MB', 'GB', 'TB']
  let value = bytes
  let unit = 'B'
  for (const next of units) {
    if (value < 1000) {
      break
    }
    value /= 1000
    unit = next
  }

  return `${value.toFixed(1)} ${unit} (${bytes.toLocaleString('en')} bytes)`
}

function addDetail(list: HTMLElement, term: string, value: string | Node) {
  const termElement = document.createElement('dt')
  termElement.textContent = term
  const valueElement = document.createElement('dd')
  valueElement.append(value)
  list.append(termElement, valueElement)
}

/** Adds a stored file to the results: its link, type, size and SHA-256. */
export function showStoredFile(results: HTMLElement, file: FileObject) {
  const item = document.createElement('li')
  item.className = 'result stored'
  item.dataset.fileId = file.id
  item.dataset.sha256 = file.sha256

  const link = document.createElement('a')
  link.textContent = file.original_name ?? file.id
  // The URL comes from the API, and only http(s) links are made clickable.
  if (/^https?:\/\//i.test(file.url)) {
    link.href = file.url
    link.target = '_blank'
    link.rel = 'noopener noreferrer'
  }
  const heading = document.createElement('strong')
  heading.append(link)

  const details = document.createElement('dl')
  addDetail(details, 'id', file.id)
  addDetail(details, 'type', file.content_type)
  addDetail(details, 'size', formatSize(file.size))
  const hash = document.createElement('code')
  hash.textContent = file.sha256
  addDetail(details, 'SHA-256', hash)

  item.append(heading, details)
  results.prepend(item)
}

/** Adds a rejected or failed upload to the results, with the API's message. */
export function showFailure(results: HTMLElement, fileName: string, message: string) {
  const item = document.createElement('li')
  item.className = 'result failed'
  const heading = document.createElement('strong')
  heading.textContent = fileName
  const text = document.createElement('p')
  text.className = 'error-message'
  text.textContent = message
  item.append(heading, text)
  results.prepend(item)
}
