import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { AppError, isBackendFailure } from '../../src/errors.js'
import { toAppError } from '../../src/http/middleware.js'

function withCode(message: string, code: string) {
  return Object.assign(new Error(message), { code })
}

const BackendFailure = suite('isBackendFailure')

BackendFailure('network errors are backend failures', () => {
  for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']) {
    assert.ok(isBackendFailure(withCode('connect failed', code)), code)
  }
})

BackendFailure('Postgres connection errors count', () => {
  assert.ok(isBackendFailure(withCode('connection failure', '08006')))
  assert.ok(isBackendFailure(withCode('terminating connection due to administrator command', '57P01')))
  assert.ok(isBackendFailure(new Error('Connection terminated unexpectedly')))
  assert.ok(isBackendFailure(Object.assign(new Error('Knex: Timeout acquiring a connection'), { name: 'KnexTimeoutError' })))
})

BackendFailure('S3 5xx responses count', () => {
  const slowDown = Object.assign(new Error('Service Unavailable'), { $metadata: { httpStatusCode: 503 } })
  assert.ok(isBackendFailure(slowDown))
  const denied = Object.assign(new Error('Access Denied'), { $metadata: { httpStatusCode: 403 } })
  assert.not.ok(isBackendFailure(denied))
})

BackendFailure('cause chains are followed', () => {
  const wrapped = new Error('upload failed', { cause: withCode('reset', 'ECONNRESET') })
  assert.ok(isBackendFailure(wrapped))
})

BackendFailure('bugs are not backend failures', () => {
  assert.not.ok(isBackendFailure(new TypeError('undefined is not a function')))
  assert.not.ok(isBackendFailure(withCode('duplicate key value', '23505')))
  assert.not.ok(isBackendFailure(null))
  assert.not.ok(isBackendFailure('ECONNRESET'))
})

BackendFailure.run()

const ToAppError = suite('toAppError')

ToAppError('backend failure becomes 503', () => {
  const error = toAppError(withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'))
  assert.is(error.status, 503)
  assert.is(error.code, 'storage_error')
})

ToAppError('unknown error stays 500', () => {
  const error = toAppError(new TypeError('boom'))
  assert.is(error.status, 500)
  assert.is(error.code, 'internal')
})

ToAppError('AppError passes through', () => {
  const original = new AppError('not_found', 'No such file.')
  assert.is(toAppError(original), original)
})

ToAppError.run()
