/**
 * WebRTC adapter, connection level, over real node-datachannel peers: close
 * codes reaching the peer, the peer connection vanishing, datagrams, and the
 * HELLO exchange (timeout, abort, late HELLO with early streams, wrong
 * version). Misbehaving peers are played by raw channels on one side.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { KeypinError, decodeControl, encodeControl, encodeFrame, type ControlMessage } from '@keypin/core'
import { connectOverWebRtc, type RtcChannel, type RtcPeer } from '@keypin/core/webrtc'
import { cleanupWebRtc, connectedPair, createPeerPair } from './webrtc-pair.js'
import { delay, pattern, readAll, withTimeout } from './webrtc-support.js'

after(cleanupWebRtc)

/** One side speaking the protocol by hand: the reserved channels and nothing else. */
function rawSide(peer: RtcPeer): {
  control: RtcChannel
  datagrams: RtcChannel
  received: ControlMessage[]
  opened: Promise<void>
  closed: Promise<void>
} {
  const control = peer.createChannel({ label: '', negotiated: true, id: 0, ordered: true })
  const datagrams = peer.createChannel({ label: '', negotiated: true, id: 1, ordered: false, maxRetransmits: 0 })
  const received: ControlMessage[] = []
  control.onMessage((message) => received.push(decodeControl(message)))
  return { control, datagrams, received, opened: channelOpen(control), closed: new Promise((resolve) => peer.onClosed(() => resolve())) }
}

function channelOpen(channel: RtcChannel): Promise<void> {
  return new Promise((resolve) => {
    channel.onOpen(resolve)
    if (channel.isOpen) resolve()
  })
}

const HELLO = encodeControl({ type: 'hello', initialMaxStreamData: 1 << 20, initialMaxData: 8 << 20, initialMaxStreams: 100 })

async function waitFor(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await delay(10)
  }
}

describe('WebRTC connections', { timeout: 30_000 }, () => {
  it('close code reaches the peer, and its streams fail with it', async () => {
    const { a, b } = await connectedPair()
    const opened = await a.openStream()
    const writer = opened.writable.getWriter()
    await writer.write(pattern(10))
    const accepted = await b.acceptStream()
    await a.close({ code: 'permission-denied', message: 'go away' })
    const info = await withTimeout(b.closed, 5000, 'the peer to see the close')
    assert.equal(info.code, 'permission-denied')
    assert.equal(info.wireCode, 10)
    assert.equal(info.initiator, 'remote')
    // CONNECTION_CLOSE carries only the code over WebRTC.
    assert.equal(info.message, '')
    assert.equal(info.error.remote, true)
    await assert.rejects(readAll(accepted), (error: unknown) => error instanceof KeypinError && error.code === 'permission-denied')
    const local = await a.closed
    assert.equal(local.initiator, 'local')
    assert.equal(local.message, 'go away')
  })

  it('a clean close reaches the peer as none, with operations failing as closed', async () => {
    const { a, b } = await connectedPair()
    await b.close()
    const info = await withTimeout(a.closed, 5000, 'the peer to see the close')
    assert.equal(info.code, 'none')
    assert.equal(info.wireCode, 0)
    assert.equal(info.initiator, 'remote')
    assert.equal(info.error.code, 'closed')
    await assert.rejects(a.openStream(), (error: unknown) => error instanceof KeypinError && error.code === 'closed')
  })

  it('a peer connection that vanishes without CONNECTION_CLOSE ends as network-error', async () => {
    const { a, b, pair } = await connectedPair()
    pair.offerer.pc.close()
    const info = await withTimeout(b.closed, 5000, 'the peer to notice')
    assert.equal(info.code, 'network-error')
    assert.equal(info.initiator, 'transport')
    assert.equal((await a.closed).code, 'network-error')
  })

  it('carries datagrams both ways and refuses oversize ones', async () => {
    const { a, b } = await connectedPair()
    assert.equal(a.datagrams.maxPayloadSize, 1200)
    for (const [from, to, seed] of [
      [a, b, 1],
      [b, a, 2],
    ] as const) {
      const payload = pattern(1200, seed)
      const reader = to.datagrams.incoming.getReader()
      const got = reader.read()
      // Unreliable by design: resend until one arrives (on loopback the first does).
      const sending = (async () => {
        for (let i = 0; i < 50; i++) {
          await from.datagrams.send(payload)
          const settled = await Promise.race([got.then(() => true), delay(50).then(() => false)])
          if (settled) return
        }
      })()
      const { value } = await withTimeout(got, 5000, 'a datagram')
      await sending
      assert.deepEqual(value, payload)
      reader.releaseLock()
    }
    await assert.rejects(
      a.datagrams.send(new Uint8Array(1201)),
      (error: unknown) => error instanceof KeypinError && error.code === 'too-large' && error.maxDatagramPayloadSize === 1200,
    )
    await a.close()
    assert.equal(a.datagrams.maxPayloadSize, 0)
    await assert.rejects(a.datagrams.send(new Uint8Array(1)), (error: unknown) => error instanceof KeypinError && error.code === 'closed')
  })

  it('fails with timeout when the peer never sends HELLO, and tells it', async () => {
    const pair = createPeerPair()
    const started = Date.now()
    // The timer runs from the call, before the peer connection is up, and an
    // in-process pair occasionally needs a second for that (libdatachannel
    // starts DTLS as ICE connects; a ClientHello that arrives too early waits
    // for the one-second retransmission). Hence no shorter timeout here.
    const connecting = connectOverWebRtc(pair.offerer.peer, { helloTimeout: 1500 })
    const raw = rawSide(pair.answerer.peer)
    pair.negotiate()
    await assert.rejects(connecting, (error: unknown) => error instanceof KeypinError && error.code === 'timeout')
    assert.ok(Date.now() - started >= 1450)
    await withTimeout(raw.closed, 5000, 'the raw peer connection to close')
    assert.deepEqual(raw.received.map((message) => message.type), ['hello', 'connection-close'])
    assert.deepEqual(raw.received[1], { type: 'connection-close', code: 4 })
  })

  it('rejects with the signal reason when aborted during the HELLO exchange', async () => {
    const pair = createPeerPair()
    const controller = new AbortController()
    const connecting = connectOverWebRtc(pair.offerer.peer, { signal: controller.signal })
    const raw = rawSide(pair.answerer.peer)
    pair.negotiate()
    await waitFor(() => raw.received.length > 0, 'our HELLO')
    const reason = new Error('changed my mind')
    controller.abort(reason)
    await assert.rejects(connecting, (error: unknown) => error === reason)
    await waitFor(() => raw.received.length > 1, 'CONNECTION_CLOSE')
    assert.deepEqual(raw.received[1], { type: 'connection-close', code: 1 })
    await withTimeout(raw.closed, 5000, 'the raw peer connection to close')
  })

  it('holds streams that arrive before the peer HELLO and surfaces them after', async () => {
    const pair = createPeerPair()
    const connecting = connectOverWebRtc(pair.answerer.peer)
    const raw = rawSide(pair.offerer.peer)
    const early = pair.offerer.peer.createChannel({ label: 'ignored label', ordered: true })
    pair.negotiate()
    await Promise.all([raw.opened, channelOpen(early)])
    const payload = pattern(5000, 5)
    early.send(encodeFrame({ type: 'data', data: payload }))
    early.send(encodeFrame({ type: 'fin' }))
    const state = await Promise.race([connecting.then(() => 'established'), delay(300).then(() => 'waiting')])
    assert.equal(state, 'waiting')
    raw.control.send(HELLO)
    const conn = await withTimeout(connecting, 5000, 'establishment')
    const stream = await withTimeout(conn.acceptStream(), 5000, 'the early stream')
    assert.deepEqual(await readAll(stream), payload)
    await conn.close()
  })

  it('drops inbound datagrams over 1200 bytes and delivers the rest', async () => {
    const pair = createPeerPair()
    const connecting = connectOverWebRtc(pair.answerer.peer)
    const raw = rawSide(pair.offerer.peer)
    pair.negotiate()
    await Promise.all([raw.opened, channelOpen(raw.datagrams)])
    raw.control.send(HELLO)
    const conn = await withTimeout(connecting, 5000, 'establishment')
    const reader = conn.datagrams.incoming.getReader()
    const sizes: number[] = []
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        sizes.push(value.byteLength)
      }
    })()
    // Unreliable even on loopback, so several rounds; the marker sizes say which arrived.
    for (let round = 0; round < 20 && !sizes.includes(1200); round++) {
      raw.datagrams.send(new Uint8Array(1201))
      raw.datagrams.send(new Uint8Array(4000))
      raw.datagrams.send(new Uint8Array(1200))
      await delay(25)
    }
    await waitFor(() => sizes.includes(1200), 'a 1200-byte datagram')
    assert.deepEqual([...new Set(sizes)], [1200])
    await conn.close()
    await reading.catch(() => {})
  })

  it('sends keep-alives, and cuts a peer that sent one and then went silent with timeout', async () => {
    const pair = createPeerPair()
    const connecting = connectOverWebRtc(pair.answerer.peer, { idleTimeout: 400, keepAliveInterval: 100 })
    const raw = rawSide(pair.offerer.peer)
    pair.negotiate()
    await raw.opened
    raw.control.send(HELLO)
    const conn = await withTimeout(connecting, 5000, 'establishment')
    await waitFor(() => raw.received.filter((m) => m.type === 'max-data').length >= 3, 'keep-alives (MAX_DATA at the granted limit)')
    assert.ok(raw.received.every((m) => m.type !== 'max-data' || m.limit === 8 << 20), 'keep-alives repeat the limit already granted')
    // One MAX_DATA that raises nothing marks the raw side as a keep-alive sender; then silence.
    const started = Date.now()
    raw.control.send(encodeControl({ type: 'max-data', limit: 8 << 20 }))
    const info = await withTimeout(conn.closed, 5000, 'the idle timeout')
    assert.equal(info.code, 'timeout')
    assert.match(info.message, /idle timeout 400 ms/)
    assert.ok(Date.now() - started >= 350, `not before the idle timeout (${Date.now() - started} ms)`)
  })

  it('never cuts a quiet peer that does not send keep-alives', async () => {
    const pair = createPeerPair()
    const connecting = connectOverWebRtc(pair.answerer.peer, { idleTimeout: 200, keepAliveInterval: 50 })
    const raw = rawSide(pair.offerer.peer)
    pair.negotiate()
    await raw.opened
    raw.control.send(HELLO)
    const conn = await withTimeout(connecting, 5000, 'establishment')
    const state = await Promise.race([conn.closed.then(() => 'closed'), delay(800).then(() => 'open')])
    assert.equal(state, 'open')
    await conn.close()
  })

  it('answers a HELLO of another wire version with unsupported', async () => {
    const pair = createPeerPair()
    const connecting = connectOverWebRtc(pair.answerer.peer)
    const raw = rawSide(pair.offerer.peer)
    pair.negotiate()
    await raw.opened
    const hello = HELLO.slice()
    hello[1] = 2
    raw.control.send(hello)
    await assert.rejects(connecting, (error: unknown) => error instanceof KeypinError && error.code === 'unsupported')
    await waitFor(() => raw.received.some((message) => message.type === 'connection-close'), 'CONNECTION_CLOSE')
    assert.deepEqual(raw.received.at(-1), { type: 'connection-close', code: 7 })
  })
})

describe('WebRTC protocol violations close the connection with protocol-error', { timeout: 30_000 }, () => {
  /** Establishes a Keypin answerer against a raw offerer and runs `misbehave` on the raw side. */
  async function violate(options: { maxStreamData?: number; maxData?: number; maxStreams?: number }, misbehave: (peer: RtcPeer) => Promise<void>): Promise<void> {
    const pair = createPeerPair()
    // Nothing is read, so no credit is granted beyond the initial windows.
    const connecting = connectOverWebRtc(pair.answerer.peer, { ...options, readHighWaterMark: 0 })
    const raw = rawSide(pair.offerer.peer)
    pair.negotiate()
    await raw.opened
    raw.control.send(HELLO)
    const conn = await withTimeout(connecting, 5000, 'establishment')
    await misbehave(pair.offerer.peer)
    const info = await withTimeout(conn.closed, 5000, 'the protocol-error close')
    assert.equal(info.code, 'protocol-error')
    assert.equal(info.wireCode, 6)
    assert.equal(info.initiator, 'transport')
    await waitFor(() => raw.received.some((message) => message.type === 'connection-close'), 'CONNECTION_CLOSE')
    assert.deepEqual(raw.received.at(-1), { type: 'connection-close', code: 6 })
    await withTimeout(raw.closed, 5000, 'the peer connection to close')
  }

  async function openRaw(peer: RtcPeer): Promise<RtcChannel> {
    const channel = peer.createChannel({ label: '', ordered: true })
    await channelOpen(channel)
    return channel
  }

  it('DATA beyond the stream window', async () => {
    await violate({ maxStreamData: 32 * 1024 }, async (peer) => {
      const channel = await openRaw(peer)
      for (let i = 0; i < 3; i++) channel.send(encodeFrame({ type: 'data', data: pattern(16383, i) }))
    })
  })

  it('DATA beyond the connection window', async () => {
    await violate({ maxData: 40_000 }, async (peer) => {
      for (let s = 0; s < 2; s++) {
        const channel = await openRaw(peer)
        for (let i = 0; i < 2; i++) channel.send(encodeFrame({ type: 'data', data: pattern(16383, i) }))
      }
    })
  })

  it('an unknown frame type', async () => {
    await violate({}, async (peer) => {
      const channel = await openRaw(peer)
      channel.send(Uint8Array.of(0x07, 1, 2, 3))
    })
  })

  it('DATA after FIN', async () => {
    await violate({}, async (peer) => {
      const channel = await openRaw(peer)
      channel.send(encodeFrame({ type: 'fin' }))
      channel.send(encodeFrame({ type: 'data', data: pattern(10) }))
    })
  })

  it('more streams than allowed', async () => {
    await violate({ maxStreams: 1 }, async (peer) => {
      for (let s = 0; s < 2; s++) {
        const channel = await openRaw(peer)
        try {
          channel.send(encodeFrame({ type: 'data', data: pattern(10) }))
        } catch {
          // The second channel may already be closed by the violated side.
        }
      }
    })
  })
})
