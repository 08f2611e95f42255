import { request } from 'node:http'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { getGateway } from '../helpers/gateway.js'

const DemoPage = suite('demo page')

/**
 * Sends a GET with the path and headers exactly as written: fetch would
 * resolve `..` first, and it adds `Cache-Control: no-cache` to a conditional request.
 */
function getRaw(
  baseUrl: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(baseUrl)

  return new Promise((resolve, reject) => {
    const outgoing = request({ host: hostname, port, path, headers, method: 'GET' }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
      response.on('error', reject)
    })
    outgoing.on('error', reject)
    outgoing.end()
  })
}

async function findAssetPaths(baseUrl: string) {
  const html = await (await fetch(`${baseUrl}/`)).text()
  const script = /<script[^>]+src="([^"]+\.js)"/.exec(html)?.[1]
  const stylesheet = /<link[^>]+href="([^"]+\.css)"/.exec(html)?.[1]
  assert.ok(script, 'the page links a script')
  assert.ok(stylesheet, 'the page links a stylesheet')

  return { script: script as string, stylesheet: stylesheet as string }
}

DemoPage('serves the page at /', async () => {
  const { url } = await getGateway()
  const response = await fetch(`${url}/`)
  const html = await response.text()

  assert.is(response.status, 200)
  assert.is(response.headers.get('content-type'), 'text/html; charset=utf-8')
  assert.is(response.headers.get('cache-control'), 'no-cache')
  assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'self'/)
  assert.match(response.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/)
  assert.is(response.headers.get('x-content-type-options'), 'nosniff')
  assert.ok(response.headers.get('last-modified'))
  assert.ok(html.includes('id="dashboard"'))
  assert.ok(html.includes('id="token"'))
})

DemoPage('serves hashed assets for a year', async () => {
  const { url } = await getGateway()
  const { script, stylesheet } = await findAssetPaths(url)
  assert.match(script, /^\/demo\/assets\//)

  const scriptResponse = await fetch(`${url}${script}`)
  assert.is(scriptResponse.status, 200)
  assert.is(scriptResponse.headers.get('content-type'), 'text/javascript; charset=utf-8')
  assert.is(scriptResponse.headers.get('cache-control'), 'public, max-age=31536000, immutable')
  assert.is(scriptResponse.headers.get('x-content-type-options'), 'nosniff')
  assert.ok((await scriptResponse.text()).length > 1000)

  const styleResponse = await fetch(`${url}${stylesheet}`)
  assert.is(styleResponse.status, 200)
  assert.is(styleResponse.headers.get('content-type'), 'text/css; charset=utf-8')
  assert.is(styleResponse.headers.get('cache-control'), 'public, max-age=31536000, immutable')
})

DemoPage('revalidates the page with 304', async () => {
  const { url } = await getGateway()
  const first = await fetch(`${url}/`)
  const lastModified = first.headers.get('last-modified') as string
  const second = await getRaw(url, '/', { 'If-Modified-Since': lastModified })

  assert.is(second.status, 304)
  assert.is(second.body, '')
})

DemoPage('answers HEAD without a body', async () => {
  const { url } = await getGateway()
  const response = await fetch(`${url}/`, { method: 'HEAD' })

  assert.is(response.status, 200)
  assert.is(response.headers.get('content-type'), 'text/html; charset=utf-8')
  assert.ok(Number(response.headers.get('content-length')) > 0)
  assert.is(await response.text(), '')
})

DemoPage('rejects paths outside the build', async () => {
  const { url } = await getGateway()
  const paths = [
    '/demo/../package.json',
    '/demo/../../package.json',
    '/demo/%2e%2e/package.json',
    '/demo/%2e%2e/%2e%2e/package.json',
    '/demo/..%2f..%2fpackage.json',
    '/demo/%252e%252e/%252e%252e/package.json',
    '/demo//etc/passwd',
    '/demo/%2fetc%2fpasswd',
    '/demo/assets/%00.js',
    '/demo/%E0%A4%A',
    '/demo/',
    '/demo/assets/',
    '/demo/assets/missing.js',
  ]
  for (const path of paths) {
    const { status, body } = await getRaw(url, path)
    assert.is(status, 404, path)
    assert.is(JSON.parse(body).error.code, 'not_found', path)
  }
})

DemoPage.run()
