import * as assert from 'uvu/assert'
import { suite } from 'uvu'
import { describeApiError } from '../../../web/src/api-error.js'

const API = 'http://127.0.0.1:8080'

const DescribeApiError = suite('describeApiError')

DescribeApiError('shows the envelope code and message', () => {
  const body = JSON.stringify({
    error: { code: 'quota_exceeded', message: 'The upload would pass the storage_bytes quota.', metric: 'storage_bytes' },
  })

  assert.is(
    describeApiError(429, body, API),
    'quota_exceeded (HTTP 429): The upload would pass the storage_bytes quota.',
  )
})

DescribeApiError('shows a body that is no envelope', () => {
  assert.is(describeApiError(502, '<html>Bad Gateway</html>', API), 'HTTP 502: <html>Bad Gateway</html>')
  assert.is(describeApiError(400, '{"error": "plain string"}', API), 'HTTP 400: {"error": "plain string"}')
  assert.is(describeApiError(500, 'x'.repeat(500), API).length, 'HTTP 500: '.length + 200)
})

DescribeApiError('names an empty body', () => {
  assert.is(describeApiError(404, '', API), 'HTTP 404 with an empty body.')
})

DescribeApiError('explains a missing response', () => {
  const message = describeApiError(0, '', API)

  assert.ok(message.includes(API), message)
  assert.ok(message.includes('CORS_ALLOWED_ORIGINS'), message)
})

DescribeApiError.run()
