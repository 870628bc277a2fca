/**
 * The pin and the dial's own deadlines over real sockets: a certificate that
 * does not hash to the address's certhash fails the dial before any stream
 * exists, a stable identity keeps an address valid across restarts, and a
 * dial to a port that never answers ends by its signal or its handshake
 * timeout without leaking its socket.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { KeypinError } from '@keypin/core'
import { dial } from '@keypin/quic-client'
import { generateIdentity, listen } from '@keypin/server'
import { STEP_MS, delay, dialFor, echoOnce, randomBytes, rejectsWithCode, startServer, udpHandleCount, waitUntil, withTimeout } from './support.js'

test('a dial pinned to another certificate fails with pin-mismatch; the listener keeps serving', { timeout: 15_000 }, async (t) => {
  // A short closeTimeout: see the next test for why the teardown may otherwise wait.
  const server = await startServer(t, { closeTimeout: 300 })
  const other = await generateIdentity()
  assert.notEqual(other.certhash, server.listener.certhash)
  const port = server.listener.localAddress.port
  const wrong = `127.0.0.1:${port}:${other.certhash}`

  const error = await rejectsWithCode(dial(wrong, { signal: AbortSignal.timeout(STEP_MS) }), 'pin-mismatch')
  // The message names what was presented and what was expected.
  assert.ok(error.message.includes(server.listener.certhash), error.message)
  assert.ok(error.message.includes(other.certhash), error.message)

  // A correct dial still works, and so does a second wrong one after it.
  const conn = await dialFor(t, server.address)
  const data = randomBytes(4096)
  assert.deepEqual(await echoOnce(conn, data), data)
  await rejectsWithCode(dial(wrong, { signal: AbortSignal.timeout(STEP_MS) }), 'pin-mismatch')
  assert.deepEqual(await echoOnce(conn, data), data)
})

test('a rejected pin leaves no half-open handshake on the server', { timeout: 15_000 }, async (t) => {
  // The dialer that refuses the certificate must tell the server, so the
  // server does not hold a handshake slot until its handshakeTimeout (10 s).
  const server = await startServer(t, { closeTimeout: 300 })
  const other = await generateIdentity()
  const wrong = `127.0.0.1:${server.listener.localAddress.port}:${other.certhash}`
  for (let i = 0; i < 3; i++) await rejectsWithCode(dial(wrong, { signal: AbortSignal.timeout(STEP_MS) }), 'pin-mismatch')
  await waitUntil(
    () => server.listener.stats.handshakes === 0 && server.listener.stats.connections === 0,
    2000,
    () => `the rejected handshakes are cleaned up (stats ${JSON.stringify(server.listener.stats)})`,
  )
  for (const conn of server.connections) {
    const info = await withTimeout(conn.closed, STEP_MS, 'a rejected connection closing')
    assert.equal(info.initiator, 'remote')
  }
})

test('the same identity keeps the same address across listener restarts', { timeout: 15_000 }, async (t) => {
  const identity = await generateIdentity()
  const first = await listen({ host: '127.0.0.1', identity })
  t.after(() => first.close())
  const port = first.localAddress.port
  const address = first.address
  assert.equal(first.certhash, identity.certhash)
  await first.close()

  const second = await listen({ host: '127.0.0.1', port, identity })
  t.after(() => second.close())
  assert.equal(second.address, address)
  void (async () => {
    for await (const conn of second) {
      for await (const stream of conn.incomingStreams()) stream.readable.pipeTo(stream.writable).catch(() => {})
    }
  })().catch(() => {})
  const conn = await dialFor(t, address)
  const data = randomBytes(100)
  assert.deepEqual(await echoOnce(conn, data), data)
})

/** A UDP socket that receives and never answers. */
async function silentSocket(): Promise<{ socket: dgram.Socket; port: number; received: Buffer[] }> {
  const socket = dgram.createSocket('udp4')
  const received: Buffer[] = []
  socket.on('message', (message) => received.push(message))
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  return { socket, port: socket.address().port, received }
}

test('a dial to a silent port honours its signal and releases its socket', { timeout: 15_000 }, async (t) => {
  const silent = await silentSocket()
  t.after(() => silent.socket.close())
  const identity = await generateIdentity()
  const baseline = udpHandleCount()

  const started = Date.now()
  const signal = AbortSignal.timeout(300)
  let caught: unknown
  try {
    await dial(`127.0.0.1:${silent.port}:${identity.certhash}`, { signal })
  } catch (error) {
    caught = error
  }
  const elapsed = Date.now() - started
  assert.ok(caught instanceof DOMException, `expected the signal's DOMException, got ${String(caught)}`)
  assert.equal(caught.name, 'TimeoutError')
  assert.equal(caught, signal.reason, "the rejection is the signal's own reason")
  assert.ok(elapsed >= 250 && elapsed < 1000, `the dial ended after ${elapsed} ms`)
  // The dialer really tried: its Initial reached the silent socket.
  assert.ok(silent.received.length >= 1)
  assert.ok((silent.received[0] as Buffer).byteLength >= 1200, 'a client Initial is padded to at least 1200 bytes')

  // The dial's own socket is released once its (bounded) closing period is over.
  await waitUntil(() => udpHandleCount() <= baseline, 3000, () => `the dialer's UDP socket is closed (${udpHandleCount()} open, baseline ${baseline})`)
})

test('a dial to a silent port without a signal ends with timeout after handshakeTimeout', { timeout: 15_000 }, async (t) => {
  const silent = await silentSocket()
  t.after(() => silent.socket.close())
  const identity = await generateIdentity()
  const baseline = udpHandleCount()
  const started = Date.now()
  const error = await rejectsWithCode(dial(`127.0.0.1:${silent.port}:${identity.certhash}`, { handshakeTimeout: 400 }), 'timeout')
  const elapsed = Date.now() - started
  assert.ok(elapsed >= 350 && elapsed < 1400, `the dial ended after ${elapsed} ms (handshakeTimeout 400)`)
  assert.match(error.message, /handshake/)
  await waitUntil(() => udpHandleCount() <= baseline, 3000, () => `the dialer's UDP socket is closed (${udpHandleCount()} open, baseline ${baseline})`)
})

test('aborting a dial mid-way rejects with the abort reason', { timeout: 15_000 }, async (t) => {
  const silent = await silentSocket()
  t.after(() => silent.socket.close())
  const identity = await generateIdentity()
  const controller = new AbortController()
  const reason = new KeypinError('aborted', 'the user gave up')
  const dialing = dial(`127.0.0.1:${silent.port}:${identity.certhash}`, { signal: controller.signal })
  await delay(100)
  controller.abort(reason)
  await assert.rejects(withTimeout(dialing, 1000, 'the aborted dial'), (error: unknown) => error === reason)
})
