/**
 * The DTLS fingerprint is the pin. A man in the middle who knows the pinned
 * certhash (it is public, in the address) can pass ICE, but not DTLS: the
 * dial must fail with `pin-mismatch`, from Node and from Chromium, and with
 * both handshakes. The same proxy relaying for the right certhash lets the
 * dial through, so the failure is the certificate's and not the proxy's.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { certhashFromDigest, formatAddress, KeypinError } from '@keypin/core'
import { listen, type KeypinListener } from '@keypin/server'
import { dial } from '@keypin/webrtc-client'
import { openBrowser, type BrowserSession } from './browser-harness.js'
import { startMitmProxy, type MitmProxy } from './stun-mitm-proxy.js'

let listener: KeypinListener
let browser: BrowserSession
const proxies: MitmProxy[] = []

before(async () => {
  listener = await listen({ host: '127.0.0.1', port: 0 })
  void (async () => {
    for await (const connection of listener) void connection.close().catch(() => {})
  })()
  browser = await openBrowser()
})
after(async () => {
  for (const proxy of proxies) proxy.close()
  await browser?.close()
  await listener?.close()
})

/** A proxy in front of the listener and the address a dialer pinning `digest` would use through it. */
async function through(digest: Uint8Array): Promise<{ proxy: MitmProxy; address: string }> {
  const proxy = await startMitmProxy(listener.localAddress.port, digest, listener.identity.digest)
  proxies.push(proxy)
  return { proxy, address: formatAddress({ host: '127.0.0.1', port: proxy.port, certhash: certhashFromDigest(digest) }) }
}

// Node's dialer (node-datachannel's polyfill) has only the no-munge handshake.
test('Node: through the proxy with the right certhash the dial succeeds', async () => {
  const { proxy, address } = await through(listener.identity.digest)
  const conn = await dial(address, { handshakeTimeout: 5_000 })
  await conn.close()
  assert.ok(proxy.resigned > 0, 'the proxy handled STUN')
})

test('Node: a certificate that does not match the pinned certhash fails the dial with pin-mismatch', async () => {
  const { proxy, address } = await through(new Uint8Array(randomBytes(32)))
  const started = performance.now()
  const error = await dial(address, { handshakeTimeout: 5_000 }).then(
    () => assert.fail('the dial succeeded against the wrong certificate'),
    (e: unknown) => e,
  )
  assert.ok(error instanceof KeypinError, `a KeypinError, got ${String(error)}`)
  assert.equal(error.code, 'pin-mismatch', error.message)
  assert.ok(proxy.resigned > 0, 'ICE went through the proxy')
  assert.ok(performance.now() - started < 5_000, 'failed by DTLS, not by the handshake timeout')
})

for (const handshake of ['auto', 'classic']) {
  test(`Chromium, ${handshake}: the right certhash through the proxy connects; a wrong certificate is pin-mismatch`, { timeout: 60_000 }, async () => {
    const good = await through(listener.identity.digest)
    const bad = await through(new Uint8Array(randomBytes(32)))
    const outcome = await browser.page.evaluate(
      async ({ good, bad, handshake }) => {
        const { dial } = (await import(`${location.origin}/browser.js`)) as {
          dial(address: string, options?: object): Promise<{ close(): Promise<void> }>
        }
        const conn = await dial(good, { handshake, handshakeTimeout: 5_000 })
        await conn.close()
        const t0 = performance.now()
        try {
          await dial(bad, { handshake, handshakeTimeout: 5_000 })
          return { code: 'connected', message: '', ms: performance.now() - t0 }
        } catch (error) {
          const e = error as { code?: string; message?: string }
          return { code: e.code ?? 'none', message: e.message ?? String(error), ms: performance.now() - t0 }
        }
      },
      { good: good.address, bad: bad.address, handshake },
    )
    assert.equal(outcome.code, 'pin-mismatch', outcome.message)
    assert.ok(outcome.ms < 5_000, `failed by DTLS, not by the handshake timeout (${outcome.ms} ms)`)
  })
}
