/**
 * A flaky link between tus-js-client and the gateway: a proxy resets the
 * client's connection every few MiB, and a 100 MiB+ video still arrives
 * whole through the client's retries.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { sha256Of } from '../helpers/fixtures.js'
import { expectOnlyFiles, hasFaultBackends, isLongRun } from '../helpers/faults.js'
import { createTenant, getGateway } from '../helpers/gateway.js'
import { TcpProxy } from '../helpers/tcp-proxy.js'
import { makeVideo, uploadWithTusClient } from '../helpers/tus-requests.js'

const MIB = 1024 * 1024

const FlakyLink = suite('flaky client link')

FlakyLink('100 MiB video survives dropped connections', async () => {
  if (!hasFaultBackends('flaky link suite') || !isLongRun('flaky link test')) {
    return
  }
  const test = await getGateway()
  const { port } = new URL(test.url)
  const proxy = await TcpProxy.start('127.0.0.1', Number(port))
  proxy.dropEvery(4 * MIB)
  try {
    const tenant = await createTenant()
    const bytes = makeVideo(105 * MIB)
    const startedAt = Date.now()
    const location = await uploadWithTusClient(bytes, tenant, {
      endpoint: `${proxy.proxiedUrl(test.url)}/media/uploads`,
      retryDelays: [0, 200, 500, 1000, 2000, 4000],
    })
    const seconds = (Date.now() - startedAt) / 1000
    console.log(`  flaky link: ${bytes.length} bytes in ${seconds.toFixed(1)} s over ${proxy.counts.accepted} connections, ${proxy.counts.reset} of them reset`)
    assert.ok(proxy.counts.reset >= 20, `the link dropped ${proxy.counts.reset} times`)

    const id = location.slice(location.lastIndexOf('/') + 1)
    const file = await fetch(`${test.url}/media/${id}`, { headers: tenant.auth }).then((response) => response.json())
    assert.is(file.sha256, sha256Of(bytes))
    assert.is(file.size, bytes.length)
    await expectOnlyFiles(tenant.projectId, 1)
  } finally {
    await proxy.close()
  }
})

FlakyLink.run()
