/**
 * WebRTC adapter over real node-datachannel peers in one process: stream
 * echo, many concurrent streams, each half-close path (EOF, reset, cancel)
 * reaching the other side with its code, and the peer's stream limit.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { KeypinError, type Stream } from '@keypin/core'
import { cleanupWebRtc, connectedPair } from './webrtc-pair.js'
import { delay, pattern, readAll, serveEcho, withTimeout, writeAll } from './webrtc-support.js'

after(cleanupWebRtc)

describe('WebRTC streams', { timeout: 30_000 }, () => {
  it('echoes a stream and reports the transport and address', async () => {
    const { a, b } = await connectedPair()
    assert.equal(a.transport, 'webrtc')
    assert.equal(b.transport, 'webrtc')
    assert.equal(b.remoteAddress.host, '127.0.0.1')
    assert.ok(b.remoteAddress.port > 0)
    serveEcho(b)
    const stream = await a.openStream()
    const data = pattern(100_000)
    const [echoed] = await Promise.all([readAll(stream), writeAll(stream, data)])
    assert.deepEqual(echoed, data)
    await stream.closed
    await a.close()
    assert.equal((await b.closed).code, 'none')
  })

  it('carries 50 concurrent streams in both directions', async () => {
    const { a, b } = await connectedPair()
    serveEcho(b)
    const results = await Promise.all(
      Array.from({ length: 50 }, async (_, index) => {
        const stream = await a.openStream()
        const data = pattern(20_000 + index * 1000, index + 1)
        const [echoed] = await Promise.all([readAll(stream), writeAll(stream, data)])
        return { data, echoed }
      }),
    )
    for (const { data, echoed } of results) assert.deepEqual(echoed, data)
    await withTimeout(waitFor(() => a.openStreamCount === 0 && b.openStreamCount === 0), 5000, 'streams to be released')
    await a.close()
  })

  it('closeWrite delivers EOF after every byte, and the other half stays usable', async () => {
    const { a, b } = await connectedPair()
    const opened = await a.openStream()
    const data = pattern(300_000, 7)
    const writing = writeAll(opened, data)
    const accepted = await b.acceptStream()
    assert.deepEqual(await readAll(accepted), data)
    await writing
    // The half-closed stream still carries bytes the other way.
    const reply = pattern(5000, 9)
    const [got] = await Promise.all([readAll(opened), writeAll(accepted, reply)])
    assert.deepEqual(got, reply)
    await Promise.all([opened.closed, accepted.closed])
    await a.close()
  })

  it('resetWrite reaches the peer reader with its code', async () => {
    const { a, b } = await connectedPair()
    const opened = await a.openStream()
    const writer = opened.writable.getWriter()
    await writer.write(pattern(1000))
    const accepted = await b.acceptStream()
    const reader = accepted.readable.getReader()
    const first = await reader.read()
    assert.equal(first.done, false)
    await opened.resetWrite({ code: 1234 })
    // Bytes already delivered may come first; the reset follows them.
    let error: unknown
    for (;;) {
      const result = await reader.read().catch((caught: unknown) => ({ caught }))
      if ('caught' in result) {
        error = result.caught
        break
      }
      assert.equal(result.done, false, 'the read half must fail, not end')
    }
    assert.ok(error instanceof KeypinError, `expected a KeypinError, got ${String(error)}`)
    assert.equal(error.wireCode, 1234)
    assert.equal(error.remote, true)
    // Once its own write half ends too, the stream settles with the peer's code.
    await accepted.closeWrite()
    await assert.rejects(accepted.closed, (caught: unknown) => caught instanceof KeypinError && caught.wireCode === 1234)
    await a.close()
  })

  it('cancelRead reaches the peer writer with its code', async () => {
    const { a, b } = await connectedPair()
    const opened = await a.openStream()
    const writer = opened.writable.getWriter()
    await writer.write(pattern(1000))
    const accepted = await b.acceptStream()
    await accepted.cancelRead({ code: 77 })
    const chunk = pattern(16_000)
    let error: unknown
    for (let i = 0; i < 1000 && error === undefined; i++) {
      await writer.write(chunk).catch((caught: unknown) => {
        error = caught
      })
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    assert.ok(error instanceof KeypinError, `expected a KeypinError, got ${String(error)}`)
    assert.equal(error.wireCode, 77)
    await accepted.closeWrite()
    await assert.rejects(opened.closed, (caught: unknown) => caught instanceof KeypinError && caught.wireCode === 77)
    await a.close()
  })

  it('openStream waits while the peer stream limit is used up, and resumes when streams finish', async () => {
    const { a, b } = await connectedPair({ b: { maxStreams: 2 } })
    serveEcho(b)
    const first = await a.openStream()
    const second = await a.openStream()
    const controller = new AbortController()
    const third = a.openStream({ signal: controller.signal })
    const early = await Promise.race([third.then(() => 'opened'), delay(300).then(() => 'waiting')])
    assert.equal(early, 'waiting')
    for (const stream of [first, second]) {
      const data = pattern(10_000)
      const [echoed] = await Promise.all([readAll(stream), writeAll(stream, data)])
      assert.deepEqual(echoed, data)
    }
    const stream = await withTimeout(third, 5000, 'the third stream')
    const data = pattern(10_000, 3)
    const [echoed] = await Promise.all([readAll(stream as Stream), writeAll(stream as Stream, data)])
    assert.deepEqual(echoed, data)
    await a.close()
  })
})

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await delay(10)
}
