/**
 * QUIC streams over real UDP sockets on loopback: echo (small and 5 MB),
 * many concurrent streams, streams opened by either side, EOF, reset and
 * cancel codes crossing the wire, and flow control against a slow reader.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { KeypinError } from '@keypin/core'
import {
  STEP_MS,
  concat,
  delay,
  dialFor,
  echoOnce,
  randomBytes,
  readAll,
  rejectsWithCode,
  sha256Hex,
  startServer,
  withTimeout,
  writeAll,
} from './support.js'

test('echo: the bytes a client writes come back identical', { timeout: 15_000 }, async (t) => {
  const server = await startServer(t)
  const conn = await dialFor(t, server.address)
  assert.equal(conn.transport, 'quic')
  assert.deepEqual(conn.remoteAddress, { host: '127.0.0.1', port: server.listener.localAddress.port })

  const message = new TextEncoder().encode('hello, pinned world')
  assert.deepEqual(await echoOnce(conn, message), message)

  // Every byte value, in one write, on a second stream of the same connection.
  const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i)
  assert.deepEqual(await echoOnce(conn, allBytes), allBytes)
})

test('echo: a 5 MB random payload survives intact (sha256)', { timeout: 30_000 }, async (t) => {
  const server = await startServer(t)
  const conn = await dialFor(t, server.address)
  const payload = randomBytes(5 * 1024 * 1024)
  const echoed = await echoOnce(conn, payload, 20_000)
  assert.equal(echoed.byteLength, payload.byteLength)
  assert.equal(sha256Hex(echoed), sha256Hex(payload))
})

test('100 concurrent streams on one connection each echo their own data', { timeout: 20_000 }, async (t) => {
  const server = await startServer(t)
  const conn = await dialFor(t, server.address)
  const payloads = Array.from({ length: 100 }, (_, i) => randomBytes(1000 + i * 997))
  const results = await Promise.allSettled(payloads.map((payload) => echoOnce(conn, payload, 8_000)))
  const failures: string[] = []
  for (const [i, result] of results.entries()) {
    if (result.status === 'rejected') failures.push(`stream ${i} (${(payloads[i] as Uint8Array).byteLength} bytes): ${String(result.reason)}`)
    else if (sha256Hex(result.value) !== sha256Hex(payloads[i] as Uint8Array)) failures.push(`stream ${i}: echoed different bytes`)
  }
  assert.deepEqual(failures, [], `${failures.length} of 100 streams failed`)
  assert.equal(server.connections.length, 1)
})

test('every stream gets its EOF when the peer finishes after its data was acknowledged', { timeout: 15_000 }, async (t) => {
  // A smaller, faster form of the 100-stream case: the echo server's EOF (a
  // FIN with no data) follows echoed data the client has already acknowledged.
  const server = await startServer(t)
  const conn = await dialFor(t, server.address)
  const payloads = Array.from({ length: 5 }, () => randomBytes(10_000))
  const results = await Promise.allSettled(payloads.map((payload) => echoOnce(conn, payload, 3_000)))
  const failures = results.flatMap((result, i) => (result.status === 'rejected' ? [`stream ${i}: ${String(result.reason)}`] : []))
  assert.deepEqual(failures, [], `${failures.length} of 5 streams failed`)
  for (const [i, result] of results.entries()) {
    assert.deepEqual((result as PromiseFulfilledResult<Uint8Array>).value, payloads[i])
  }
})

test('20 concurrent connections each echo on a stream', { timeout: 30_000 }, async (t) => {
  const server = await startServer(t)
  const conns = await Promise.all(Array.from({ length: 20 }, () => dialFor(t, server.address)))
  const payloads = conns.map((_, i) => randomBytes(10_000 + i))
  const echoed = await Promise.all(conns.map((conn, i) => echoOnce(conn, payloads[i] as Uint8Array)))
  for (const [i, payload] of payloads.entries()) assert.deepEqual(echoed[i], payload, `connection ${i}`)
  // Each dial is its own connection, with its own local port.
  assert.equal(server.listener.stats.connections, 20)
  assert.equal(server.connections.length, 20)
  assert.equal(new Set(server.connections.map((c) => c.remoteAddress.port)).size, 20)
})

test('a server-opened stream reaches the client through acceptStream', { timeout: 15_000 }, async (t) => {
  const server = await startServer(t, {}, null)
  const client = await dialFor(t, server.address)
  const serverConn = await server.nextConnection()

  const fromServer = randomBytes(70_000)
  const serverStream = await serverConn.openStream({ signal: AbortSignal.timeout(STEP_MS) })
  await writeAll(serverStream, fromServer)
  await serverStream.closeWrite()

  const clientStream = await client.acceptStream({ signal: AbortSignal.timeout(STEP_MS) })
  assert.deepEqual(await readAll(clientStream.readable), fromServer)

  // The same stream carries bytes back the other way.
  const fromClient = randomBytes(3_000)
  await writeAll(clientStream, fromClient)
  await clientStream.closeWrite()
  assert.deepEqual(await readAll(serverStream.readable), fromClient)
  await withTimeout(Promise.all([clientStream.closed, serverStream.closed]), STEP_MS, 'both ends of the stream closing')
})

test('a client-opened stream reaches the server through acceptStream', { timeout: 15_000 }, async (t) => {
  const server = await startServer(t, {}, null)
  const client = await dialFor(t, server.address)
  const serverConn = await server.nextConnection()

  const clientStream = await client.openStream()
  const fromClient = randomBytes(50_000)
  await writeAll(clientStream, fromClient)
  await clientStream.closeWrite()

  const serverStream = await serverConn.acceptStream({ signal: AbortSignal.timeout(STEP_MS) })
  assert.deepEqual(await readAll(serverStream.readable), fromClient)
  const reply = randomBytes(1234)
  await writeAll(serverStream, reply)
  await serverStream.closeWrite()
  assert.deepEqual(await readAll(clientStream.readable), reply)
  await withTimeout(Promise.all([clientStream.closed, serverStream.closed]), STEP_MS, 'both ends of the stream closing')
})

test('streams opened by both sides interleave without mixing', { timeout: 15_000 }, async (t) => {
  const server = await startServer(t)
  const client = await dialFor(t, server.address)
  const serverConn = await server.nextConnection()
  // The client echoes what the server opens; the server echoes what the client opens.
  void (async () => {
    for await (const stream of client.incomingStreams()) stream.readable.pipeTo(stream.writable).catch(() => {})
  })().catch(() => {})
  const fromServer = Array.from({ length: 5 }, () => randomBytes(20_000))
  const fromClient = Array.from({ length: 5 }, () => randomBytes(20_000))
  const results = await Promise.all([
    ...fromServer.map((data) => echoOnce(serverConn, data)),
    ...fromClient.map((data) => echoOnce(client, data)),
  ])
  assert.deepEqual(results, [...fromServer, ...fromClient])
})

test('closeWrite: the reader sees every byte, then done', { timeout: 15_000 }, async (t) => {
  const server = await startServer(t, {}, null)
  const client = await dialFor(t, server.address)
  const serverConn = await server.nextConnection()

  const stream = await client.openStream()
  const first = randomBytes(200_000)
  const last = randomBytes(17)
  // closeWrite while the application still holds a writer: EOF comes after the in-flight write.
  const writer = stream.writable.getWriter()
  await writer.write(first)
  const lastWrite = writer.write(last)
  const closing = stream.closeWrite()
  await lastWrite
  await withTimeout(closing, STEP_MS, 'closeWrite')
  // Writes after closeWrite fail rather than vanish.
  await assert.rejects(writer.write(randomBytes(1)))

  const incoming = await serverConn.acceptStream({ signal: AbortSignal.timeout(STEP_MS) })
  const reader = incoming.readable.getReader()
  const chunks: Uint8Array[] = []
  for (;;) {
    const { value, done } = await withTimeout(reader.read(), STEP_MS, 'reading to EOF')
    if (done) break
    chunks.push(value)
  }
  assert.deepEqual(concat(chunks), concat([first, last]))
  // EOF is sticky.
  assert.deepEqual(await reader.read(), { value: undefined, done: true })
  reader.releaseLock()

  // The other half is still open: the server can answer after the client's EOF.
  await writeAll(incoming, new Uint8Array([1, 2, 3]))
  await incoming.closeWrite()
  assert.deepEqual(await readAll(stream.readable), new Uint8Array([1, 2, 3]))
  await withTimeout(Promise.all([stream.closed, incoming.closed]), STEP_MS, 'both ends resolving closed')
})

for (const [label, code, expectedCode, wireCode] of [
  ['a named code', 'cancelled', 'cancelled', 1],
  ['a raw number', 77, 'internal-error', 77],
] as const) {
  test(`resetWrite with ${label} fails the peer's reader with that code`, { timeout: 15_000 }, async (t) => {
    const server = await startServer(t, {}, null)
    const client = await dialFor(t, server.address)
    const serverConn = await server.nextConnection()

    const stream = await client.openStream()
    await writeAll(stream, randomBytes(1000))
    const incoming = await serverConn.acceptStream({ signal: AbortSignal.timeout(STEP_MS) })
    const reader = incoming.readable.getReader()
    const firstChunk = await withTimeout(reader.read(), STEP_MS, 'first chunk')
    assert.equal(firstChunk.done, false)

    await stream.resetWrite({ code, message: 'giving up' })
    // Writes after a local reset fail locally.
    await assert.rejects(stream.writable.getWriter().write(randomBytes(1)), (error: unknown) => {
      return error instanceof KeypinError && error.code === 'reset'
    })

    // The peer's reader fails with the code (after any bytes that were already delivered).
    const readError = await rejectsWithCode(
      (async () => {
        for (;;) {
          const { done } = await reader.read()
          if (done) throw new Error('the reader saw EOF instead of a reset')
        }
      })(),
      expectedCode,
      wireCode,
    )
    assert.equal(readError.remote, true)
    // The reset side's closed rejects once its other half has ended too.
    await incoming.closeWrite()
    await rejectsWithCode(incoming.closed, expectedCode, wireCode)
    // The client's read half ends with the server's EOF; the client reset locally, so its closed resolves.
    assert.deepEqual(await readAll(stream.readable), new Uint8Array(0))
    await withTimeout(stream.closed, STEP_MS, "the resetting side's closed")
  })

  test(`cancelRead with ${label} fails the peer's writes with that code`, { timeout: 15_000 }, async (t) => {
    const server = await startServer(t, {}, null)
    const client = await dialFor(t, server.address)
    const serverConn = await server.nextConnection()

    const stream = await client.openStream()
    await writeAll(stream, randomBytes(10))
    const incoming = await serverConn.acceptStream({ signal: AbortSignal.timeout(STEP_MS) })

    await incoming.cancelRead({ code, message: 'not interested' })
    // Reads after a local cancel fail locally.
    await assert.rejects(incoming.readable.getReader().read(), (error: unknown) => {
      return error instanceof KeypinError && error.code === 'cancelled'
    })

    // The client keeps writing; STOP_SENDING arrives and a write rejects with the code.
    const writer = stream.writable.getWriter()
    const chunk = randomBytes(16 * 1024)
    const writeError = await rejectsWithCode(
      (async () => {
        for (let i = 0; i < 10_000; i++) {
          await writer.write(chunk)
          await delay(1)
        }
      })(),
      expectedCode,
      wireCode,
    )
    assert.equal(writeError.remote, true)
    writer.releaseLock()

    // The stopped side's closed rejects with the code once its read half ends as well.
    await incoming.closeWrite()
    assert.deepEqual(await readAll(stream.readable), new Uint8Array(0))
    await rejectsWithCode(stream.closed, expectedCode, wireCode)
    await withTimeout(incoming.closed, STEP_MS, "the cancelling side's closed")
  })
}

test('a slow reader makes the writer wait, then everything arrives', { timeout: 30_000 }, async (t) => {
  const server = await startServer(t, {}, null)
  const client = await dialFor(t, server.address)
  const serverConn = await server.nextConnection()

  const total = 8 * 1024 * 1024
  const payload = randomBytes(total)
  const chunkSize = 64 * 1024
  const stream = await client.openStream()
  const writer = stream.writable.getWriter()
  let accepted = 0
  const writing = (async () => {
    for (let offset = 0; offset < total; offset += chunkSize) {
      await writer.write(payload.subarray(offset, offset + chunkSize))
      accepted += chunkSize
    }
    await writer.close()
  })()
  writing.catch(() => {})

  const incoming = await serverConn.acceptStream({ signal: AbortSignal.timeout(STEP_MS) })
  // Nobody reads on the server. The writer must stall well below the payload size:
  // stream window (1 MiB) + engine read buffer (256 KiB) + write queue (64 KiB) + slack.
  await delay(1000)
  const stalledAt = accepted
  await delay(800)
  const bound = 4 * 1024 * 1024
  assert.ok(accepted < bound, `the writer got ${accepted} bytes accepted without a reader (bound ${bound})`)
  assert.equal(accepted, stalledAt, 'the writer kept making progress with nobody reading')
  assert.ok(accepted >= 512 * 1024, `the writer should fill the window first, only ${accepted} bytes were accepted`)

  // Now read: the writer resumes and every byte arrives in order.
  const received = await readAll(incoming.readable, 20_000)
  await withTimeout(writing, STEP_MS, 'the writer finishing')
  assert.equal(accepted, total)
  assert.equal(received.byteLength, total)
  assert.equal(sha256Hex(received), sha256Hex(payload))
})

test("a peer's close with a code ends an idle stream: closed rejects without a read or a write", { timeout: 15_000 }, async (t) => {
  const server = await startServer(t, {}, null)
  const client = await dialFor(t, server.address)
  const serverConn = await server.nextConnection()
  const stream = await client.openStream()
  const writer = stream.writable.getWriter()
  await writer.write(Uint8Array.of(1))
  writer.releaseLock()
  const incoming = await serverConn.acceptStream({ signal: AbortSignal.timeout(STEP_MS) })
  const reader = incoming.readable.getReader()
  await reader.read()
  reader.releaseLock()
  await stream.close({ code: 'permission-denied' })
  // quiche reports no writable stream for STOP_SENDING; the write half still has to hear of it.
  await assert.rejects(
    withTimeout(incoming.closed, STEP_MS, "the server stream's closed"),
    (error: unknown) => error instanceof KeypinError && error.code === 'permission-denied',
  )
})
