/**
 * WebRTC adapter flow control over real node-datachannel peers: a reader
 * that does not read holds the writer at the window it granted, connection
 * credit is shared and re-granted across streams, large writes go through
 * the channel's queue limit, and one stream's throughput (reported as a
 * diagnostic, not asserted).
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { cleanupWebRtc, connectedPair } from './webrtc-pair.js'
import { delay, pattern, readAll, withTimeout, writeAll } from './webrtc-support.js'

after(cleanupWebRtc)

describe('WebRTC flow control', { timeout: 60_000 }, () => {
  it('a slow reader holds the writer at the granted window, then everything arrives', async () => {
    const window = 256 * 1024
    const { a, b } = await connectedPair({ b: { maxStreamData: window, readHighWaterMark: 64 * 1024 } })
    const data = pattern(4 * 1024 * 1024, 11)
    const chunk = 16 * 1024
    const stream = await a.openStream()
    const writer = stream.writable.getWriter()
    let accepted = 0
    const writing = (async () => {
      for (let offset = 0; offset < data.byteLength; offset += chunk) {
        await writer.write(data.subarray(offset, offset + chunk))
        accepted += chunk
      }
      await writer.close()
    })()
    const accepted0 = await b.acceptStream()
    // Nobody reads on b: the writer must stall once it has used the window
    // (judged stalled after half a second without progress).
    let last = -1
    let still = 0
    while (still < 5) {
      still = accepted === last ? still + 1 : 0
      last = accepted
      await delay(100)
    }
    assert.ok(accepted <= window, `the writer got ${accepted} bytes past a ${window}-byte window`)
    assert.ok(accepted >= window - chunk, `the writer stalled early, at ${accepted} of ${window} bytes`)
    const received = await withTimeout(readAll(accepted0), 20_000, 'all bytes after reading starts')
    await writing
    assert.equal(received.byteLength, data.byteLength)
    assert.deepEqual(received, data)
    await a.close()
  })

  it('shares a small connection window across streams and re-grants it', async () => {
    // Streams are read one after another, so up to three sit full (64 KiB
    // each, unconsumed) while one is read: the connection window must exceed
    // that, as in QUIC, or the connection stalls by design.
    const { a, b } = await connectedPair({ b: { maxData: 256 * 1024, maxStreamData: 64 * 1024, readHighWaterMark: 16 * 1024 } })
    const payloads = [1, 2, 3, 4].map((seed) => pattern(512 * 1024, seed))
    const receiving = (async () => {
      const got: Uint8Array[] = []
      for (let i = 0; i < payloads.length; i++) {
        const stream = await b.acceptStream()
        got.push(await readAll(stream))
      }
      return got
    })()
    const streams = await Promise.all(payloads.map(() => a.openStream()))
    await Promise.all(streams.map((stream, i) => writeAll(stream, payloads[i] as Uint8Array)))
    const got = await withTimeout(receiving, 30_000, 'all streams')
    const sorted = got.sort((x, y) => x[0]! - y[0]! || x[1]! - y[1]!)
    const expected = payloads.slice().sort((x, y) => x[0]! - y[0]! || x[1]! - y[1]!)
    assert.deepEqual(sorted, expected)
    await a.close()
  })

  it('takes a single write far larger than the channel queue limit', async () => {
    const { a, b } = await connectedPair()
    const data = pattern(6 * 1024 * 1024, 21)
    const stream = await a.openStream()
    const writing = (async () => {
      const writer = stream.writable.getWriter()
      await writer.write(data)
      await writer.close()
    })()
    const received = await withTimeout(readAll(await b.acceptStream()), 30_000, 'the large write')
    await writing
    assert.deepEqual(received, data)
    await a.close()
  })

  it('measures one stream between two in-process peers', async (t) => {
    const { a, b } = await connectedPair()
    const total = 32 * 1024 * 1024
    const chunk = pattern(64 * 1024, 3)
    const stream = await a.openStream()
    const started = performance.now()
    const writing = (async () => {
      const writer = stream.writable.getWriter()
      for (let sent = 0; sent < total; sent += chunk.byteLength) await writer.write(chunk)
      await writer.close()
    })()
    let received = 0
    for await (const part of (await b.acceptStream()).readable) received += part.byteLength
    await writing
    const seconds = (performance.now() - started) / 1000
    assert.equal(received, total)
    t.diagnostic(`one stream: ${(total / 1024 / 1024 / seconds).toFixed(1)} MiB/s (${total / 1024 / 1024} MiB in ${seconds.toFixed(2)} s)`)
    await a.close()
  })
})
