/**
 * WebRTC dials through the listener's one public UDP port: both ICE
 * handshakes (no-munge and classic) reach ICE, DTLS and SCTP, the protocol's
 * first messages round-trip, Keypin streams echo, QUIC keeps working on the
 * same port at the same time, and dial latency is measured.
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import {
  DEFAULT_WINDOWS,
  STUN_ATTRIBUTES,
  STUN_BINDING_SUCCESS,
  buildBindingRequest,
  decodeControl,
  deriveIcePassword,
  encodeControl,
  parseStunMessage,
  randomIceUfrag,
  stunShortTermKey,
  verifyMessageIntegrity,
} from '@keypin/core'
import { listen } from '@keypin/server'
import { STEP_MS, delay, dialFor, echoOnce, failsWithCode, randomBytes, startServer, waitUntil } from './support.js'
import { dialKeypin, dialRaw, releaseDialers, within, type Handshake } from './webrtc-dialer.js'

after(() => releaseDialers())

const HANDSHAKES: Handshake[] = ['no-munge', 'classic']

for (const handshake of HANDSHAKES) {
  test(`${handshake}: a raw dialer reaches ICE, DTLS and SCTP, and HELLO round-trips on the control channel`, async (t) => {
    const server = await startServer(t)
    const raw = await dialRaw(server.address, handshake)
    t.after(() => raw.close())
    assert.equal(raw.pc.state(), 'connected')
    // The dialer pinned the server: its DTLS saw the listener's certificate.
    assert.equal(raw.pc.remoteFingerprint().value.toUpperCase(), server.listener.identity.fingerprint)

    raw.control.sendMessageBinary(encodeControl({ type: 'hello', ...DEFAULT_WINDOWS }))
    await within(raw.received(1), STEP_MS, "the server's HELLO")
    const hello = decodeControl(raw.messages[0]!)
    assert.equal(hello.type, 'hello')

    // Both HELLOs seen: the server accepted a WebRTC connection from the dialer's public address.
    const conn = await server.nextConnection()
    assert.equal(conn.transport, 'webrtc')
    // The dialer's real socket, from its host candidate.
    const host = /a=candidate:\S+ 1 UDP \d+ 127\.0\.0\.1 (\d+) typ host/i.exec(raw.pc.localDescription()?.sdp ?? '')
    assert.ok(host, 'the dialer has a loopback host candidate')
    assert.deepEqual(conn.remoteAddress, { host: '127.0.0.1', port: Number(host[1]) })
    const stats = server.listener.stats
    assert.equal(stats.webrtcPeers, 1)
    assert.equal(stats.webrtcHandshakes, 0)
    assert.equal(stats.relays, 1)

    await raw.close()
    await waitUntil(
      () => server.listener.stats.webrtcPeers === 0 && server.listener.stats.relays === 0,
      STEP_MS,
      () => `the session is released after the dialer left (stats ${JSON.stringify(server.listener.stats)})`,
    )
    assert.equal((await conn.closed).initiator, 'transport')
  })
}

test('Keypin streams echo over WebRTC with both handshakes while QUIC works on the same port', async (t) => {
  const server = await startServer(t)
  const quic = await dialFor(t, server.address)
  const [noMunge, classic] = await Promise.all([dialKeypin(server.address, 'no-munge'), dialKeypin(server.address, 'classic')])
  t.after(() => noMunge.close().catch(() => {}))
  t.after(() => classic.close().catch(() => {}))
  assert.equal(noMunge.transport, 'webrtc')
  assert.equal(classic.transport, 'webrtc')
  assert.equal(quic.transport, 'quic')

  const small = randomBytes(1000)
  const large = randomBytes(3 * 1024 * 1024)
  const [a, b, c, d] = await Promise.all([
    echoOnce(noMunge, small),
    echoOnce(classic, small),
    echoOnce(quic, small),
    echoOnce(noMunge, large, 20_000),
  ])
  assert.deepEqual(a, small)
  assert.deepEqual(b, small)
  assert.deepEqual(c, small)
  assert.deepEqual(d, large)

  const stats = server.listener.stats
  assert.equal(stats.webrtcPeers, 2)
  assert.equal(stats.connections, 1, 'one QUIC connection')
  assert.equal(stats.relays, 2)
  assert.deepEqual(
    server.connections.map((conn) => conn.transport).sort(),
    ['quic', 'webrtc', 'webrtc'],
  )

  await Promise.all([noMunge.close(), classic.close()])
  await waitUntil(
    () => server.listener.stats.webrtcPeers === 0 && server.listener.stats.relays === 0,
    STEP_MS,
    () => `closed WebRTC connections are released (stats ${JSON.stringify(server.listener.stats)})`,
  )
  // QUIC is untouched by the WebRTC sessions coming and going.
  assert.deepEqual(await echoOnce(quic, small), small)
})

test('`webrtc: true` serves WebRTC as the default does; anything but a boolean or an object is refused', async (t) => {
  await failsWithCode(() => listen({ host: '127.0.0.1', webrtc: 'yes' as any }), 'invalid-argument', 'webrtc')
  const server = await startServer(t, { webrtc: true })
  const conn = await dialKeypin(server.address, 'no-munge')
  t.after(() => conn.close().catch(() => {}))
  assert.equal(conn.transport, 'webrtc')
  const small = randomBytes(100)
  assert.deepEqual(await echoOnce(conn, small), small)
})

test('dial latency over loopback (diagnostic: p50 of 10 dials per handshake)', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t)
  for (const handshake of HANDSHAKES) {
    const times: number[] = []
    for (let i = 0; i < 10; i++) {
      const started = performance.now()
      const conn = await dialKeypin(server.address, handshake)
      times.push(performance.now() - started)
      await conn.close()
    }
    times.sort((x, y) => x - y)
    const p50 = times[Math.floor(times.length / 2)]!
    t.diagnostic(`${handshake}: Keypin-over-WebRTC dial p50 ${p50.toFixed(1)} ms (min ${times[0]!.toFixed(1)}, max ${times.at(-1)!.toFixed(1)})`)
    // Without the server's timing fixes a dial waits for STUN or DTLS
    // retransmissions (hundreds of ms to seconds); loopback needs a few ms.
    assert.ok(p50 < 300, `${handshake} p50 ${p50.toFixed(1)} ms`)
  }
  await waitUntil(
    () => server.listener.stats.webrtcPeers === 0 && server.listener.stats.relays === 0,
    STEP_MS,
    () => `every measured dial is released (stats ${JSON.stringify(server.listener.stats)})`,
  )
})

test("the server's Binding responses carry the dialer's real address, not the loopback relay's", async (t) => {
  const server = await startServer(t, { webrtc: { handshakeTimeout: 2_000 } })
  const socket = dgram.createSocket('udp4')
  const answers: Buffer[] = []
  socket.on('message', (message) => answers.push(message))
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  t.after(() => socket.close())
  const ufrag = randomIceUfrag()
  const password = deriveIcePassword(server.listener.identity.digest, ufrag)
  const request = buildBindingRequest({ username: `${ufrag}:${ufrag}`, password, useCandidate: true })
  // Retransmit like a dialer until node-datachannel has answered.
  for (let i = 0; i < 40 && answers.length === 0; i++) {
    socket.send(request, server.listener.localAddress.port, '127.0.0.1')
    await delay(50)
  }
  const response = answers.find((a) => a.readUInt16BE(0) === STUN_BINDING_SUCCESS)
  assert.ok(response, `a Binding success response (got ${answers.length} datagrams)`)
  assert.equal(verifyMessageIntegrity(response, stunShortTermKey(password)), true, "signed with the server's password")
  const mapped = parseStunMessage(response).attributes.find((a) => a.type === STUN_ATTRIBUTES.xorMappedAddress)
  assert.ok(mapped, 'XOR-MAPPED-ADDRESS present')
  const port = ((mapped.value[2]! << 8) | mapped.value[3]!) ^ 0x2112
  const host = [0x21, 0x12, 0xa4, 0x42].map((mask, i) => mapped.value[4 + i]! ^ mask).join('.')
  assert.deepEqual({ host, port }, { host: '127.0.0.1', port: socket.address().port })
})
