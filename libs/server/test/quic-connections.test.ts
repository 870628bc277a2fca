/**
 * QUIC connection lifecycle over real sockets: how a close reaches pending
 * operations on both sides, listener shutdown, idle timeout and keepalive,
 * IPv6 and dual-stack binds, and API input validation.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { KeypinError, type CloseInfo, type Connection } from '@keypin/core'
import { dial } from '@keypin/quic-client'
import { generateIdentity, listen } from '@keypin/server'
import {
  STEP_MS,
  delay,
  dialFor,
  echoOnce,
  failsWithCode,
  randomBytes,
  rejectsWithCode,
  startServer,
  udpHandleCount,
  waitUntil,
  withTimeout,
  writeAll,
} from './support.js'

/** Resolves true if `promise` is still pending after `ms`. */
async function stillPending(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false
  promise.then(
    () => (settled = true),
    () => (settled = true),
  )
  await delay(ms)
  return !settled
}

function assertCloseInfo(info: CloseInfo, expected: Omit<CloseInfo, 'error'>, side: string): void {
  const { error, ...rest } = info
  assert.deepEqual(rest, expected, `${side} close info`)
  assert.ok(error instanceof KeypinError, `${side}: CloseInfo.error is a KeypinError`)
}

test('a close with a code fails every pending operation on both sides', { timeout: 20_000 }, async (t) => {
  // One stream each way and small windows, so openStream and write can be made to wait.
  const server = await startServer(t, { maxStreams: 1, maxStreamData: 1024 }, null)
  const client = await dialFor(t, server.address, { maxStreams: 1, maxStreamData: 1024 })
  const serverConn = await server.nextConnection()

  const clientStream = await client.openStream()
  await writeAll(clientStream, randomBytes(10))
  const serverSide = await serverConn.acceptStream({ signal: AbortSignal.timeout(STEP_MS) })
  const serverStream = await serverConn.openStream({ signal: AbortSignal.timeout(STEP_MS) })
  await writeAll(serverStream, randomBytes(10))
  const clientSide = await client.acceptStream({ signal: AbortSignal.timeout(STEP_MS) })

  // Pending on the client: a read nobody answers, a write larger than every window,
  // an accept and an open (the server allows one stream, already in use).
  const clientPending = {
    read: clientStream.readable.getReader().read(),
    write: clientStream.writable.getWriter().write(randomBytes(4 * 1024 * 1024)),
    accept: client.acceptStream(),
    open: client.openStream(),
    closed: clientStream.closed,
  }
  // The same on the server.
  const serverPending = {
    read: serverStream.readable.getReader().read(),
    write: serverStream.writable.getWriter().write(randomBytes(4 * 1024 * 1024)),
    accept: serverConn.acceptStream(),
    open: serverConn.openStream(),
    closed: serverStream.closed,
  }
  for (const promise of [...Object.values(clientPending), ...Object.values(serverPending)]) promise.catch(() => {})
  assert.ok(await stillPending(Promise.race([...Object.values(clientPending), ...Object.values(serverPending)]), 300), 'nothing settles before the close')

  const clientClosed = client.closed
  await serverConn.close({ code: 'permission-denied', message: 'bye' })

  // The closing side: closed says local, with its code and message.
  assertCloseInfo(await serverConn.closed, { code: 'permission-denied', wireCode: 10, message: 'bye', initiator: 'local' }, 'server')
  // The peer: closed resolves with initiator remote, the code and the message.
  const info = await withTimeout(clientClosed, STEP_MS, "the client's closed")
  assertCloseInfo(info, { code: 'permission-denied', wireCode: 10, message: 'bye', initiator: 'remote' }, 'client')
  assert.equal(info.error.remote, true)

  // Every pending operation, on both sides, fails with the close code (checked together,
  // so one report shows every operation that misbehaves).
  const outcomes: Record<string, string> = {}
  const expected: Record<string, string> = {}
  const pending = { ...prefixed('client', clientPending), ...prefixed('server', serverPending), 'server other stream closed': serverSide.closed, 'client other stream closed': clientSide.closed }
  await Promise.all(
    Object.entries(pending).map(async ([name, promise]) => {
      expected[name] = 'KeypinError permission-denied/10'
      outcomes[name] = await outcome(promise, 1000)
    }),
  )
  assert.deepEqual(outcomes, expected)

  // Later operations fail the same way.
  await rejectsWithCode(serverConn.openStream(), 'permission-denied', 10)
  await rejectsWithCode(client.openStream(), 'permission-denied', 10)
  await rejectsWithCode(client.acceptStream(), 'permission-denied', 10)
})

function prefixed(prefix: string, record: Record<string, Promise<unknown>>): Record<string, Promise<unknown>> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [`${prefix} ${key}`, value]))
}

/** How `promise` settles within `ms`: "resolved", "pending", or the rejection as "KeypinError code/wireCode". */
async function outcome(promise: Promise<unknown>, ms: number): Promise<string> {
  try {
    await withTimeout(promise, ms, 'settling')
    return 'resolved'
  } catch (error) {
    if (error instanceof KeypinError) return `KeypinError ${error.code}/${error.wireCode}`
    if (error instanceof Error && error.message.startsWith('timed out')) return `still pending after ${ms} ms`
    return `rejected with ${String(error)}`
  }
}

test('a clean close by the client reaches the server as code none', { timeout: 15_000 }, async (t) => {
  const server = await startServer(t, {}, null)
  const client = await dialFor(t, server.address)
  const serverConn = await server.nextConnection()
  const pendingAccept = serverConn.acceptStream()
  pendingAccept.catch(() => {})

  await client.close()
  assertCloseInfo(await client.closed, { code: 'none', wireCode: 0, message: '', initiator: 'local' }, 'client')
  const info = await withTimeout(serverConn.closed, STEP_MS, "the server's closed")
  assertCloseInfo(info, { code: 'none', wireCode: 0, message: '', initiator: 'remote' }, 'server')
  // Operations cut short by a clean close fail with `closed`.
  await rejectsWithCode(pendingAccept, 'closed', 0)
  await rejectsWithCode(client.openStream(), 'closed', 0)
  // close() is idempotent and the info does not change.
  await client.close({ code: 'internal-error' })
  assert.equal((await client.closed).code, 'none')
  await waitForConnections(server.listener, 0)
})

test('listener.close() closes live connections and returns within closeTimeout', { timeout: 15_000 }, async (t) => {
  const closeTimeout = 1000
  const listener = await listen({ host: '127.0.0.1', closeTimeout })
  t.after(() => listener.close())
  const accepted: Connection[] = []
  const accepting = (async () => {
    for await (const conn of listener) accepted.push(conn)
  })()
  const clients = await Promise.all([dialFor(t, listener.address), dialFor(t, listener.address)])
  await waitForCount(() => accepted.length, 2, 'both connections accepted')

  const started = Date.now()
  await listener.close()
  const elapsed = Date.now() - started
  assert.ok(elapsed < closeTimeout + 500, `listener.close() took ${elapsed} ms (closeTimeout ${closeTimeout})`)

  for (const [i, client] of clients.entries()) {
    const info = await withTimeout(client.closed, STEP_MS, `client ${i} closed`)
    assertCloseInfo(info, { code: 'closed', wireCode: 2, message: 'server shutting down', initiator: 'remote' }, `client ${i}`)
  }
  for (const conn of accepted) assert.equal((await conn.closed).initiator, 'local')
  // The for-await loop over the listener ended by itself.
  await withTimeout(accepting, STEP_MS, 'the accept loop ending')
  assert.equal(listener.stats.connections, 0)
  // A closed listener refuses accept and its port no longer answers.
  await rejectsWithCode(listener.accept(), 'closed')
  await assert.rejects(dial(listener.address, { signal: AbortSignal.timeout(300), handshakeTimeout: 200 }))
})

test('for await over a listener ends when the listener closes', { timeout: 15_000 }, async (t) => {
  const listener = await listen({ host: '127.0.0.1' })
  t.after(() => listener.close())
  let seen = 0
  const loop = (async () => {
    for await (const conn of listener) {
      seen++
      void conn
    }
    return 'ended'
  })()
  await dialFor(t, listener.address)
  await waitForCount(() => seen, 1, 'the loop seeing the connection')
  assert.ok(await stillPending(loop, 100), 'the loop waits for more connections')
  await listener.close()
  assert.equal(await withTimeout(loop, STEP_MS, 'the loop ending'), 'ended')
  assert.equal(seen, 1)
})

test('a closed listener releases its port', { timeout: 15_000 }, async (t) => {
  const first = await listen({ host: '127.0.0.1' })
  const port = first.localAddress.port
  await first.close()
  const second = await listen({ host: '127.0.0.1', port })
  t.after(() => second.close())
  assert.equal(second.localAddress.port, port)
  const conn = await dialFor(t, second.address)
  void (async () => {
    for await (const c of second) {
      for await (const s of c.incomingStreams()) s.readable.pipeTo(s.writable).catch(() => {})
    }
  })().catch(() => {})
  const data = randomBytes(100)
  assert.deepEqual(await echoOnce(conn, data), data)
})

test('idle timeout: a peer that vanishes silently ends the connection with timeout', { timeout: 15_000 }, async (t) => {
  const child = fork(new URL('./quic-peer-child.js', import.meta.url), [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const address = await withTimeout(firstLine(child.stdout as NodeJS.ReadableStream), STEP_MS, 'the child listener address')

  const idleTimeout = 500
  const conn = await dialFor(t, address, { idleTimeout, keepAliveInterval: 0 })
  const stream = await conn.openStream()
  const data = randomBytes(1000)
  await writeAll(stream, data)
  const reader = stream.readable.getReader()
  let echoed = 0
  while (echoed < data.byteLength) {
    const { value, done } = await withTimeout(reader.read(), STEP_MS, 'the echo')
    assert.equal(done, false)
    echoed += value?.byteLength ?? 0
  }
  assert.equal(echoed, data.byteLength)
  // Let the last acknowledgements settle so nothing is in flight when the peer dies.
  await delay(100)
  const pendingRead = reader.read()
  pendingRead.catch(() => {})

  child.kill('SIGKILL')
  await once(child, 'exit')
  const killedAt = Date.now()
  const info = await withTimeout(conn.closed, idleTimeout + 2000, 'the idle timeout')
  const elapsed = Date.now() - killedAt
  assert.ok(elapsed <= idleTimeout + 1000, `the connection ended ${elapsed} ms after the peer died (idle timeout ${idleTimeout})`)
  assertCloseInfo(info, { code: 'timeout', wireCode: 4, message: info.message, initiator: 'transport' }, 'client')
  assert.match(info.message, /idle/)
  await rejectsWithCode(pendingRead, 'timeout', 4)
  await rejectsWithCode(stream.closed, 'timeout', 4)
  await rejectsWithCode(conn.openStream(), 'timeout', 4)
})

test('idle timeout without keepalive ends an idle connection on both sides', { timeout: 15_000 }, async (t) => {
  const server = await startServer(t, { idleTimeout: 1000, keepAliveInterval: 0 }, null)
  const client = await dialFor(t, server.address, { idleTimeout: 1000, keepAliveInterval: 0 })
  const serverConn = await server.nextConnection()
  const started = Date.now()
  const [clientInfo, serverInfo] = await withTimeout(Promise.all([client.closed, serverConn.closed]), 4000, 'both sides timing out')
  const elapsed = Date.now() - started
  assert.ok(elapsed >= 800 && elapsed <= 2500, `timed out after ${elapsed} ms, expected about 1000`)
  assert.equal(clientInfo.code, 'timeout')
  assert.equal(clientInfo.initiator, 'transport')
  assert.equal(serverInfo.code, 'timeout')
  assert.equal(serverInfo.initiator, 'transport')
  await waitForConnections(server.listener, 0)
})

test('keepalive: an idle connection outlives the idle timeout and still echoes', { timeout: 15_000 }, async (t) => {
  const options = { idleTimeout: 1000, keepAliveInterval: 300 }
  const server = await startServer(t, options)
  const client = await dialFor(t, server.address, options)
  const serverConn = await server.nextConnection()
  assert.ok(await stillPending(Promise.race([client.closed, serverConn.closed]), 2500), 'the connection closed while idle')
  const data = randomBytes(5000)
  assert.deepEqual(await echoOnce(client, data), data)
  assert.equal(server.listener.stats.connections, 1)
})

test('IPv6: listen on ::1 and dial [::1]', { timeout: 15_000 }, async (t) => {
  const server = await startServer(t, { host: '::1' })
  const port = server.listener.localAddress.port
  assert.deepEqual(server.listener.localAddress, { host: '::1', port })
  assert.equal(server.address, `[::1]:${port}:${server.listener.certhash}`)
  const conn = await dialFor(t, server.address)
  assert.deepEqual(conn.remoteAddress, { host: '::1', port })
  const data = randomBytes(20_000)
  assert.deepEqual(await echoOnce(conn, data), data)
  const serverConn = await server.nextConnection()
  assert.equal(serverConn.remoteAddress.host, '::1')
})

test('dual-stack: listen on :: and dial both 127.0.0.1 and [::1]', { timeout: 15_000 }, async (t) => {
  const server = await startServer(t, { host: '::' })
  const port = server.listener.localAddress.port
  const certhash = server.listener.certhash
  // A wildcard bind reports its loopback address.
  assert.equal(server.address, `[::1]:${port}:${certhash}`)
  assert.equal(server.listener.addressFor('127.0.0.1'), `127.0.0.1:${port}:${certhash}`)

  const v4 = await dialFor(t, `127.0.0.1:${port}:${certhash}`)
  const v6 = await dialFor(t, `[::1]:${port}:${certhash}`)
  const a = randomBytes(3000)
  const b = randomBytes(3000)
  assert.deepEqual(await echoOnce(v4, a), a)
  assert.deepEqual(await echoOnce(v6, b), b)
  const hosts = [(await server.nextConnection()).remoteAddress.host, (await server.nextConnection()).remoteAddress.host]
  // The IPv4 peer is reported as plain IPv4, not as ::ffff:127.0.0.1.
  assert.deepEqual(hosts.sort(), ['127.0.0.1', '::1'])
})

test('API input errors are KeypinErrors with the documented codes', { timeout: 15_000 }, async (t) => {
  await failsWithCode(() => dial('nonsense'), 'invalid-address')
  await failsWithCode(() => dial('127.0.0.1:4242:not-a-certhash'), 'invalid-certhash')
  await failsWithCode(() => listen({ host: 'localhost' }), 'invalid-argument', 'host')
  await failsWithCode(() => listen({ port: 70000 }), 'invalid-argument', 'port')
  await failsWithCode(() => listen({ idleTimeout: -1 }), 'invalid-argument', 'idleTimeout')
  await failsWithCode(() => listen({ keepAliveInterval: 2000, idleTimeout: 1000 }), 'invalid-argument', 'keepAliveInterval')

  const server = await startServer(t, {}, null)
  await failsWithCode(() => dial(server.address, { idleTimeout: -1 }), 'invalid-argument', 'idleTimeout')
  await failsWithCode(() => dial(`127.0.0.1:0:${server.listener.certhash}`), 'invalid-address', 'port')
  await failsWithCode(() => dial(server.address, { maxStreams: 1.5 }), 'invalid-argument', 'maxStreams')
  // An already-aborted signal rejects with its reason before anything is sent.
  const aborted = AbortSignal.abort(new Error('already aborted'))
  await assert.rejects(dial(server.address, { signal: aborted }), /already aborted/)

  const conn = await dialFor(t, server.address)
  await failsWithCode(() => conn.datagrams.send('string' as any), 'invalid-argument', 'Uint8Array')
  await failsWithCode(() => conn.close({ code: 'no-such-code' as any }), 'invalid-argument')
  // A bad reason does not close the connection.
  const data = randomBytes(10)
  const serverConn = await server.nextConnection()
  void (async () => {
    for await (const s of serverConn.incomingStreams()) s.readable.pipeTo(s.writable).catch(() => {})
  })().catch(() => {})
  assert.deepEqual(await echoOnce(conn, data), data)
})

test('a listen on a port in use fails with network-error and releases its socket', { timeout: 15_000 }, async (t) => {
  const taken = await listen({ host: '127.0.0.1' })
  t.after(() => taken.close())
  const baseline = udpHandleCount()
  for (let i = 0; i < 3; i++) {
    await failsWithCode(() => listen({ host: '127.0.0.1', port: taken.localAddress.port }), 'network-error', String(taken.localAddress.port))
  }
  await waitUntil(() => udpHandleCount() <= baseline, 1000, () => `no UDP socket is left behind (${udpHandleCount()} open, baseline ${baseline})`)
})

test('a dial whose socket cannot connect fails with network-error and releases its socket', { timeout: 15_000, skip: process.platform !== 'linux' && 'relies on Linux refusing connect() to the broadcast address' }, async () => {
  const identity = await generateIdentity()
  const baseline = udpHandleCount()
  // Linux refuses connect() to the broadcast address without SO_BROADCAST (EACCES).
  await failsWithCode(() => dial(`255.255.255.255:4242:${identity.certhash}`, { signal: AbortSignal.timeout(STEP_MS) }), 'network-error', 'EACCES')
  await waitUntil(() => udpHandleCount() <= baseline, 1000, () => `no UDP socket is left behind (${udpHandleCount()} open, baseline ${baseline})`)
})

test('a stream write of something other than bytes fails with invalid-argument', { timeout: 15_000 }, async (t) => {
  const server = await startServer(t)
  const conn = await dialFor(t, server.address)
  const stream = await conn.openStream()
  await failsWithCode(() => stream.writable.getWriter().write('text' as any), 'invalid-argument')
})

async function firstLine(stream: NodeJS.ReadableStream): Promise<string> {
  let text = ''
  for await (const chunk of stream) {
    text += String(chunk)
    const end = text.indexOf('\n')
    if (end >= 0) return text.slice(0, end)
  }
  throw new Error(`the child exited before printing its address (output: ${JSON.stringify(text)})`)
}

async function waitForCount(count: () => number, expected: number, what: string): Promise<void> {
  const deadline = Date.now() + STEP_MS
  while (count() < expected) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await delay(10)
  }
}

async function waitForConnections(listener: { stats: { connections: number } }, expected: number): Promise<void> {
  const deadline = Date.now() + STEP_MS
  while (listener.stats.connections !== expected) {
    if (Date.now() > deadline) assert.fail(`listener has ${listener.stats.connections} connections, expected ${expected}`)
    await delay(10)
  }
}
