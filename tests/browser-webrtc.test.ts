/**
 * Chromium dials the listener over WebRTC by certhash address and runs the
 * shared scenarios in the page; both handshakes, the NoSdpMangleUfrag field
 * trial, the pin, and a browser and a QUIC client on one port at once.
 */
import { test, before, after } from 'node:test'
import { readFile } from 'node:fs/promises'
import assert from 'node:assert/strict'
import { generateIdentity } from '@keypin/server'
import { dial as dialQuic } from '@keypin/quic-client'
import { openBrowser, type BrowserSession } from './browser-harness.js'
import { startScenarioServer, type ScenarioServer } from './scenario-server.js'
import { SCENARIOS, runScenario, type ScenarioName, type ScenarioResult } from './scenarios.js'

let server: ScenarioServer
let browser: BrowserSession
before(async () => {
  server = await startScenarioServer()
  browser = await openBrowser()
})
after(async () => {
  await browser?.close()
  await server?.close()
})

/** Runs one shared scenario inside the page with the bundle's dial(). */
export async function inPage(session: BrowserSession, name: ScenarioName, address: string, handshake = 'auto'): Promise<ScenarioResult> {
  return session.page.evaluate(
    async ({ source, name, address, handshake }) => {
      const bundle = (await import(`${location.origin}/browser.js`)) as {
        dial: (address: string, options?: object) => Promise<unknown>
      }
      const run = new Function(`return (${source})`)() as (n: string, d: unknown, a: string) => Promise<ScenarioResult>
      return run(name, (a: string, o?: object) => bundle.dial(a, { ...o, handshake }), address)
    },
    { source: runScenario.toString(), name, address, handshake },
  )
}

for (const name of SCENARIOS) {
  test(`Chromium over WebRTC: ${name}`, { timeout: 60_000 }, async () => {
    const result = await inPage(browser, name, server.listener.address)
    assert.ok(result.ok, result.detail)
  })
}

test('Chromium with the classic handshake echoes', { timeout: 60_000 }, async () => {
  const result = await inPage(browser, 'echo', server.listener.address, 'classic')
  assert.ok(result.ok, result.detail)
})

// The server answers no STUN whose credentials were not derived from its own
// certhash, so a wrong certhash ends the dial at its handshake timeout (a
// typed error) before DTLS; the DTLS fingerprint backs this up if ICE passed.
test('Chromium dialing a wrong certhash fails with a typed timeout error', { timeout: 60_000 }, async () => {
  const other = await generateIdentity()
  const wrong = server.listener.addressFor('127.0.0.1').replace(server.listener.certhash, other.certhash)
  const outcome = await browser.page.evaluate(async (address) => {
    const bundle = (await import(`${location.origin}/browser.js`)) as { dial: (a: string, o?: object) => Promise<{ close(): Promise<void> }> }
    try {
      const conn = await bundle.dial(address, { handshakeTimeout: 3000 })
      await conn.close()
      return 'connected'
    } catch (error) {
      return (error as { code?: string }).code ?? String(error)
    }
  }, wrong)
  assert.equal(outcome, 'timeout')
})

test('Chromium under WebRTC-NoSdpMangleUfrag dials with the default handshake', { timeout: 60_000 }, async () => {
  const strict = await openBrowser(['--force-fieldtrials=WebRTC-NoSdpMangleUfrag/Enabled/'])
  try {
    const result = await inPage(strict, 'echo', server.listener.address)
    assert.ok(result.ok, result.detail)
  } finally {
    await strict.close()
  }
})

test('a browser over WebRTC and a Node client over QUIC share the one UDP port at once', { timeout: 60_000 }, async () => {
  const before = server.listener.stats
  const [web, quic] = await Promise.all([
    inPage(browser, 'streams-50', server.listener.address),
    runScenario('streams-50', dialQuic, server.listener.address),
  ])
  assert.ok(web.ok, `browser: ${web.detail}`)
  assert.ok(quic.ok, `quic: ${quic.detail}`)
  // One public socket serves both: the kernel's table holds exactly one UDP
  // socket bound to the listener's port, and the address dialed is that port.
  const port = server.listener.localAddress.port
  assert.equal(Number(server.listener.address.split(':')[1]), port)
  assert.equal(await udpSocketsOnPort(port), 1)
  assert.ok(server.listener.stats.connections > before.connections || server.connections.length >= 2)
})

/** UDP sockets on this machine bound to `port` (Linux /proc/net/udp and udp6; ports in hex). */
async function udpSocketsOnPort(port: number): Promise<number> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  let count = 0
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    const text = await readFile(table, 'utf8').catch(() => '')
    for (const line of text.split('\n').slice(1)) {
      const local = line.trim().split(/\s+/)[1]
      if (local?.endsWith(`:${hex}`)) count++
    }
  }
  return count
}
