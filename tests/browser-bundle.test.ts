/**
 * The self-contained browser bundle loads in a real Chromium, exposes the
 * dialer, and checks its input there exactly as it does in Node.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openBrowser } from './browser-harness.js'

test('the browser bundle loads in Chromium and rejects a bad address with invalid-address', { timeout: 60_000 }, async () => {
  const session = await openBrowser()
  try {
    const result = await session.page.evaluate(async () => {
      const bundle: { dial: (address: string) => Promise<unknown> } = await import(`${location.origin}/browser.js`)
      const hasPeerConnection = typeof RTCPeerConnection === 'function'
      try {
        await bundle.dial('localhost:4242:uEi')
        return { hasPeerConnection, code: 'resolved' }
      } catch (error) {
        return { hasPeerConnection, code: (error as { code?: string }).code, name: (error as Error).name }
      }
    })
    assert.deepEqual(result, { hasPeerConnection: true, code: 'invalid-address', name: 'KeypinError' })
  } finally {
    await session.close()
  }
})
