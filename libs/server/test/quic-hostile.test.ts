/**
 * Garbage on the listener's port: random datagrams, truncated and mutated
 * copies of a real client Initial, and STUN-shaped bytes, all from a separate
 * socket. The listener must keep serving existing and new connections and
 * must not keep state for any of it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { randomInt } from 'node:crypto'
import { dial } from '@keypin/quic-client'
import { STEP_MS, dialFor, echoOnce, randomBytes, startServer, waitUntil } from './support.js'

/** Captures the first datagram a real dial sends, by pointing the dial at a socket that never answers. */
async function captureClientInitial(certhash: string): Promise<Buffer> {
  const trap = dgram.createSocket('udp4')
  try {
    const first = new Promise<Buffer>((resolve) => trap.once('message', (message) => resolve(message)))
    await new Promise<void>((resolve) => trap.bind(0, '127.0.0.1', resolve))
    const controller = new AbortController()
    const dialing = dial(`127.0.0.1:${trap.address().port}:${certhash}`, { signal: AbortSignal.any([controller.signal, AbortSignal.timeout(STEP_MS)]) })
    dialing.catch(() => {})
    const initial = await first
    controller.abort()
    await dialing.catch(() => {})
    return initial
  } finally {
    trap.close()
  }
}

/** Sends every datagram from `socket` to 127.0.0.1:`port`, waiting for each batch to leave. */
async function sendAll(socket: dgram.Socket, port: number, datagrams: Uint8Array[]): Promise<void> {
  for (let i = 0; i < datagrams.length; i += 100) {
    await Promise.all(
      datagrams.slice(i, i + 100).map(
        (datagram) => new Promise<void>((resolve) => socket.send(datagram, port, '127.0.0.1', () => resolve())),
      ),
    )
    // Let the listener drain its receive buffer between bursts.
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/** Reads a QUIC variable-length integer (RFC 9000 §16) at `offset`: [value, bytes used]. */
function readVarint(bytes: Uint8Array, offset: number): [number, number] {
  const first = bytes[offset]!
  const length = 1 << (first >> 6)
  let value = first & 0x3f
  for (let i = 1; i < length; i++) value = value * 256 + bytes[offset + i]!
  return [value, length]
}

/**
 * Where the first (long-header) packet of a datagram ends. A client pads its
 * first datagram to 1200 bytes, and whatever follows the Initial packet is
 * not part of it: flipping bits there would leave a valid Initial, which is a
 * replay (a legitimate handshake), not garbage.
 */
function initialPacketEnd(datagram: Uint8Array): number {
  let offset = 5
  offset += 1 + datagram[offset]! // DCID length + DCID
  offset += 1 + datagram[offset]! // SCID length + SCID
  const [tokenLength, tokenBytes] = readVarint(datagram, offset)
  offset += tokenBytes + tokenLength
  const [length, lengthBytes] = readVarint(datagram, offset)
  return offset + lengthBytes + length
}

function stunShaped(length: number): Uint8Array {
  const message = randomBytes(Math.max(20, length))
  message[0] = 0x00 // binding request: the two top bits are zero
  message[1] = 0x01
  message[2] = ((message.length - 20) >> 8) & 0xff
  message[3] = (message.length - 20) & 0xff
  message.set([0x21, 0x12, 0xa4, 0x42], 4) // magic cookie
  return message
}

test('random bytes, broken Initials and STUN-shaped datagrams leave the listener serving', { timeout: 30_000 }, async (t) => {
  // A copy cut only inside trailing datagram padding is still a complete,
  // valid Initial and earns a real (if pointless) handshake; a short
  // handshake timeout lets the test see it expire within its wait.
  const server = await startServer(t, { handshakeTimeout: 1500 })
  const port = server.listener.localAddress.port
  // One real connection exists before the flood and must survive it.
  const before = await dialFor(t, server.address)
  const warmup = randomBytes(1000)
  assert.deepEqual(await echoOnce(before, warmup), warmup)

  const initial = await captureClientInitial(server.listener.certhash)
  assert.ok(initial.byteLength >= 1200, `a client Initial is at least 1200 bytes, got ${initial.byteLength}`)
  assert.equal(initial[0]! & 0xf0, 0xc0, 'the captured datagram starts with a long-header Initial')

  const packetEnd = initialPacketEnd(initial)
  assert.ok(packetEnd > 100 && packetEnd <= initial.byteLength, `the Initial packet ends at ${packetEnd}`)

  const truncated: Uint8Array[] = []
  for (const length of [1, 2, 5, 6, 7, 13, 20, 21, 40, 100, 500, 1000, 1199, 1200, 1201, initial.byteLength - 16, initial.byteLength - 1]) {
    truncated.push(initial.subarray(0, Math.min(length, initial.byteLength - 1)))
  }
  for (let i = 0; i < 200; i++) truncated.push(initial.subarray(0, randomInt(1, initial.byteLength)))
  const mutated: Uint8Array[] = []
  for (let i = 0; i < 300; i++) {
    const copy = new Uint8Array(initial)
    const flips = randomInt(1, 4)
    for (let f = 0; f < flips; f++) {
      // Anywhere in the Initial packet: header bytes (connection IDs, lengths, version) and the protected payload.
      const at = i < 100 ? randomInt(0, 64) : randomInt(0, packetEnd)
      copy[at] = copy[at]! ^ (1 << randomInt(0, 8))
    }
    mutated.push(copy)
  }
  const random = Array.from({ length: 5000 }, () => randomBytes(randomInt(1, 1501)))
  const stun = [stunShaped(20), stunShaped(28), stunShaped(100), stunShaped(548)]

  const attacker = dgram.createSocket('udp4')
  t.after(() => attacker.close())
  await new Promise<void>((resolve) => attacker.bind(0, '127.0.0.1', resolve))
  const droppedBefore = server.listener.stats.dropped
  await sendAll(attacker, port, [...random, ...truncated, ...mutated, ...stun, ...truncated])

  // New dials and the existing connection both still work.
  const after = await dialFor(t, server.address)
  const payload = randomBytes(50_000)
  assert.deepEqual(await echoOnce(after, payload), payload)
  assert.deepEqual(await echoOnce(before, payload), payload)

  // Nothing from the attacker holds state: exactly the two real connections remain.
  await waitUntil(
    () => server.listener.stats.handshakes === 0 && server.listener.stats.connections === 2,
    STEP_MS,
    () => `the listener is back to 2 connections and 0 handshakes (stats ${JSON.stringify(server.listener.stats)})`,
  )
  assert.equal(server.listener.stats.routes, 4, 'two routing keys per connection')
  assert.equal(server.connections.length, 2)
  // Every truncated Initial is dropped before any state is made (the socket may also drop some under load).
  const dropped = server.listener.stats.dropped - droppedBefore
  assert.ok(dropped >= truncated.length, `only ${dropped} datagrams counted as dropped`)
})

test('replayed Initials hold handshake state only within the limits and the handshake timeout', { timeout: 15_000 }, async (t) => {
  const server = await startServer(t, { handshakeTimeout: 500, maxHandshakesPerHost: 3, closeTimeout: 300 })
  const port = server.listener.localAddress.port
  // Five genuine Initials (five connection IDs) replayed from one address that never completes a handshake.
  const initials: Buffer[] = []
  for (let i = 0; i < 5; i++) initials.push(await captureClientInitial(server.listener.certhash))
  assert.equal(new Set(initials.map((initial) => initial.subarray(6, 6 + initial[5]!).toString('hex'))).size, 5)

  const replayer = dgram.createSocket('udp4')
  t.after(() => replayer.close())
  let answers = 0
  replayer.on('message', () => answers++)
  await new Promise<void>((resolve) => replayer.bind(0, '127.0.0.1', resolve))
  const droppedBefore = server.listener.stats.dropped
  await sendAll(replayer, port, initials)
  await waitUntil(() => server.listener.stats.handshakes === 3, STEP_MS, () => `3 handshakes (stats ${JSON.stringify(server.listener.stats)})`)
  // The per-host limit refused the other two without creating anything.
  assert.equal(server.listener.stats.dropped - droppedBefore, 2)
  assert.equal(server.listener.stats.connections, 3)
  // A replay of an Initial already in progress goes to the same handshake, not a new one.
  await sendAll(replayer, port, [initials[0]!])
  assert.equal(server.listener.stats.handshakes, 3)
  await waitUntil(() => answers > 0, STEP_MS, 'the server answering the replayed Initials')

  // A real client from another address is not affected by that host's limit.
  const conn = await dialFor(t, server.address)
  const data = randomBytes(100)
  assert.deepEqual(await echoOnce(conn, data), data)

  // The replayed handshakes expire after handshakeTimeout and leave nothing behind.
  await waitUntil(
    () => server.listener.stats.handshakes === 0 && server.listener.stats.connections === 1,
    3000,
    () => `the replayed handshakes expire (stats ${JSON.stringify(server.listener.stats)})`,
  )
  assert.equal(server.listener.stats.routes, 2)
  assert.equal(server.connections.length, 1)
})
