/**
 * Hostile input on the WebRTC path. Any host can send STUN to the public
 * port, and node-datachannel aborts the whole process on an invalid ICE
 * credential, so: requests that fail the STUN guard get no answer and create
 * no state; authenticated ones hold state only within the limits and the
 * handshake timeout; the process survives all of it and keeps serving.
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { randomInt } from 'node:crypto'
import { buildBindingRequest, deriveIcePassword, randomIceUfrag } from '@keypin/core'
import { STEP_MS, delay, echoOnce, randomBytes, startServer, udpHandleCount, waitUntil, type TestServer } from './support.js'
import { dialKeypin, releaseDialers } from './webrtc-dialer.js'

after(() => releaseDialers())

interface Probe {
  socket: dgram.Socket
  /** Datagrams the listener sent back. */
  answers: Buffer[]
  send(datagrams: Uint8Array[]): Promise<void>
}

/** A socket on `host` (any 127.0.0.0/8 address works on loopback) that sends to the listener and records answers. */
async function probe(t: { after(fn: () => void): void }, server: TestServer, host = '127.0.0.1'): Promise<Probe> {
  const socket = dgram.createSocket('udp4')
  const answers: Buffer[] = []
  socket.on('message', (message) => answers.push(message))
  await new Promise<void>((resolve) => socket.bind(0, host, resolve))
  t.after(() => socket.close())
  const port = server.listener.localAddress.port
  return {
    socket,
    answers,
    async send(datagrams) {
      for (let i = 0; i < datagrams.length; i += 100) {
        await Promise.all(
          datagrams.slice(i, i + 100).map((d) => new Promise<void>((resolve) => socket.send(d, port, '127.0.0.1', () => resolve()))),
        )
        // Let the listener drain its receive buffer between bursts.
        await new Promise((resolve) => setImmediate(resolve))
      }
    },
  }
}

/** A request exactly as an honest classic dialer would send it: USERNAME U:U, keyed with pwd(U). */
function classicRequest(digest: Uint8Array, ufrag = randomIceUfrag()): Uint8Array {
  return buildBindingRequest({ username: `${ufrag}:${ufrag}`, password: deriveIcePassword(digest, ufrag), useCandidate: true })
}

function noState(server: TestServer): boolean {
  const { webrtcPeers, webrtcHandshakes, relays } = server.listener.stats
  return webrtcPeers === 0 && webrtcHandshakes === 0 && relays === 0
}

async function assertStillServes(t: { after(fn: () => unknown): void }, server: TestServer): Promise<void> {
  const conn = await dialKeypin(server.address, 'no-munge')
  t.after(() => conn.close().catch(() => {}))
  const data = randomBytes(10_000)
  assert.deepEqual(await echoOnce(conn, data), data)
}

test('STUN failing the guard gets no answer and creates no state; the process stays up and serves', async (t) => {
  const server = await startServer(t)
  const digest = server.listener.identity.digest
  const otherDigest = randomBytes(32)
  const attacker = await probe(t, server)
  const dtlsGarbage = await probe(t, server)
  const udpBefore = udpHandleCount()
  const arbitrary = 'x'.repeat(22)

  // Invalid ICE characters or lengths in either half: each would abort the
  // process if it reached node-datachannel's setLocalDescription.
  const badUsernames = [
    '-abc:defg',
    'abcd:_efg',
    'ab cd:efgh',
    'abcd:ef gh',
    'abc:defg',
    'abcd:efg',
    'ünïcödé:abcd',
    'abcd:ab\u0000cd',
    'abcd',
    'abcd:efgh:ijkl',
    ':abcd',
    'abcd:',
    `${'A'.repeat(257)}:abcd`,
    `abcd:${'A'.repeat(257)}`,
    'abcd=:efgh',
    'abcd:efgh\r\na=ice-pwd:x',
  ]
  const invalid = badUsernames.map((username) => buildBindingRequest({ username, password: arbitrary }))
  // Well-formed usernames, but MESSAGE-INTEGRITY made without the certhash.
  const U = randomIceUfrag()
  const withoutCerthash = [
    buildBindingRequest({ username: `${U}:${U}`, password: deriveIcePassword(otherDigest, U) }),
    buildBindingRequest({ username: `${'p'.repeat(22)}:abcd`, password: deriveIcePassword(otherDigest, 'p'.repeat(22)) }),
    buildBindingRequest({ username: `${U}:${U}`, password: arbitrary }),
  ]
  // Made WITH the certhash, but a no-munge server ufrag too short to be the
  // dialer's ICE password (22+ chars): authenticated and still unusable.
  const shortUfrag = 'abcdefgh'
  const unusable = [buildBindingRequest({ username: `${shortUfrag}:ijkl`, password: deriveIcePassword(digest, shortUfrag) })]
  // Truncated and length-corrupted copies of a genuine request.
  const genuine = classicRequest(digest)
  const truncated: Uint8Array[] = [20, 21, 24, 28, 40, genuine.length - 8, genuine.length - 4, genuine.length - 1].map((n) =>
    genuine.slice(0, n),
  )
  const wrongLength = genuine.slice()
  wrongLength[3] = (wrongLength[3]! + 4) & 0xff
  truncated.push(wrongLength)
  const flipped = genuine.slice()
  flipped[30] = flipped[30]! ^ 0x01
  truncated.push(flipped)

  const stunShaped = [...invalid, ...withoutCerthash, ...unusable, ...truncated]
  const rejectedBefore = server.listener.stats.webrtcRejected
  await attacker.send(stunShaped)

  // DTLS-looking records (first byte 20-63) from a fresh address go to QUIC, which drops them.
  await dtlsGarbage.send(
    Array.from({ length: 50 }, () => {
      const record = randomBytes(randomInt(1, 300))
      record[0] = randomInt(20, 64)
      return record
    }),
  )

  await waitUntil(
    () => server.listener.stats.webrtcRejected - rejectedBefore === stunShaped.length,
    STEP_MS,
    () => `every STUN-shaped datagram is rejected (stats ${JSON.stringify(server.listener.stats)})`,
  )
  await delay(300)
  assert.equal(attacker.answers.length, 0, 'probe silence: no answer to any of it')
  assert.equal(dtlsGarbage.answers.length, 0)
  assert.ok(noState(server), `no WebRTC state (stats ${JSON.stringify(server.listener.stats)})`)
  assert.equal(udpHandleCount(), udpBefore, 'no relay socket was opened')

  await assertStillServes(t, server)
})

test('a flood of 2,000 STUN requests with random ufrags leaves no state', { timeout: 30_000 }, async (t) => {
  const server = await startServer(t)
  const attacker = await probe(t, server)
  const udpBefore = udpHandleCount()
  const flood = Array.from({ length: 2000 }, (_, i) => {
    const local = randomIceUfrag()
    // Classic and no-munge shapes, keyed with passwords that lack the certhash.
    const remote = i % 2 === 0 ? local : randomIceUfrag()
    return buildBindingRequest({ username: `${local}:${remote}`, password: randomIceUfrag() + randomIceUfrag() })
  })
  const rejectedBefore = server.listener.stats.webrtcRejected
  await attacker.send(flood)
  await waitUntil(
    () => server.listener.stats.webrtcRejected - rejectedBefore === flood.length,
    10_000,
    () => `all 2,000 requests are seen and rejected (stats ${JSON.stringify(server.listener.stats)})`,
  )
  assert.ok(noState(server), `no WebRTC state (stats ${JSON.stringify(server.listener.stats)})`)
  assert.equal(attacker.answers.length, 0)
  assert.equal(udpHandleCount(), udpBefore)
  await assertStillServes(t, server)
})

test('a peer that sends one valid request and goes silent is freed after the handshake timeout, and its ufrag stays retired', async (t) => {
  const server = await startServer(t, { webrtc: { handshakeTimeout: 500 } })
  const digest = server.listener.identity.digest
  const silent = await probe(t, server)
  const replayer = await probe(t, server)
  const udpBefore = udpHandleCount()
  const request = classicRequest(digest)
  await silent.send([request])
  await waitUntil(
    () => server.listener.stats.webrtcHandshakes === 1 && server.listener.stats.relays === 1,
    STEP_MS,
    () => `one handshake with its relay (stats ${JSON.stringify(server.listener.stats)})`,
  )
  // The authenticated request is answered (node-datachannel's ICE agent speaks to it).
  await waitUntil(() => silent.answers.length > 0, STEP_MS, 'the server answering the valid request')

  // The same request replayed from another address is refused: its ufrag is taken.
  const rejectedBefore = server.listener.stats.webrtcRejected
  await replayer.send([request])
  await waitUntil(() => server.listener.stats.webrtcRejected === rejectedBefore + 1, STEP_MS, 'the replay being rejected')
  assert.equal(server.listener.stats.webrtcHandshakes, 1)

  await waitUntil(
    () => noState(server),
    3000,
    () => `the silent handshake is freed (stats ${JSON.stringify(server.listener.stats)})`,
  )
  // Closing a dgram socket releases its handle a tick later.
  await waitUntil(() => udpHandleCount() <= udpBefore, STEP_MS, () => `its relay socket is closed (${udpHandleCount()} UDP handles, ${udpBefore} before)`)
  assert.equal(replayer.answers.length, 0)

  // Once ended, the ufrag stays retired: sending the request again (as a
  // browser's late consent checks do) starts nothing.
  const retiredBefore = server.listener.stats.webrtcRejected
  await silent.send([request])
  await replayer.send([request])
  await waitUntil(() => server.listener.stats.webrtcRejected === retiredBefore + 2, STEP_MS, 'both resends being rejected')
  assert.ok(noState(server), `no new state (stats ${JSON.stringify(server.listener.stats)})`)
  await assertStillServes(t, server)
})

test('authenticated handshakes are limited per host and in total', { timeout: 20_000 }, async (t) => {
  const server = await startServer(t, { webrtc: { handshakeTimeout: 1000, maxHandshakesPerHost: 2, maxHandshakes: 3 } })
  const digest = server.listener.identity.digest
  // Three sources on one host: the third is over the per-host limit.
  const sameHost = await Promise.all([probe(t, server), probe(t, server), probe(t, server)])
  for (const source of sameHost) await source.send([classicRequest(digest)])
  await waitUntil(() => server.listener.stats.webrtcRejected === 1, STEP_MS, () => `one rejected (stats ${JSON.stringify(server.listener.stats)})`)
  assert.equal(server.listener.stats.webrtcHandshakes, 2)
  // Another host still gets in, up to the global limit; a third host does not.
  await (await probe(t, server, '127.0.0.2')).send([classicRequest(digest)])
  await waitUntil(() => server.listener.stats.webrtcHandshakes === 3, STEP_MS, 'a handshake from the second host')
  await (await probe(t, server, '127.0.0.3')).send([classicRequest(digest)])
  await waitUntil(() => server.listener.stats.webrtcRejected === 2, STEP_MS, 'the global limit refusing a third host')
  assert.equal(server.listener.stats.webrtcHandshakes, 3)

  await waitUntil(() => noState(server), 5000, () => `all expire (stats ${JSON.stringify(server.listener.stats)})`)
  await assertStillServes(t, server)
})

test('extreme but valid credentials (256-character ufrags) reach node-datachannel without harm', async (t) => {
  const server = await startServer(t, { webrtc: { handshakeTimeout: 500 } })
  const digest = server.listener.identity.digest
  const longest = 'A'.repeat(256)
  const classic = await probe(t, server)
  await classic.send([classicRequest(digest, longest)])
  // No-munge: the 256-character server ufrag doubles as the dialer's password.
  // (Another one: a ufrag already in use is refused as a replay.)
  const other = 'B'.repeat(256)
  const noMunge = await probe(t, server)
  await noMunge.send([buildBindingRequest({ username: `${other}:abcd`, password: deriveIcePassword(digest, other) })])
  await waitUntil(() => server.listener.stats.webrtcHandshakes === 2, STEP_MS, () => `two handshakes (stats ${JSON.stringify(server.listener.stats)})`)
  await waitUntil(() => noState(server), 3000, () => `both expire (stats ${JSON.stringify(server.listener.stats)})`)
  await assertStillServes(t, server)
})
