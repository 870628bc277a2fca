/**
 * Shared helpers for the QUIC integration tests: a real listener on a real
 * UDP socket with an echo handler, real dials, and small utilities to read,
 * write, wait and assert with bounded time. Not a test file itself.
 *
 * Every resource a helper creates is registered with the test context's
 * `after` hook, so a failing test still closes its connections and listener.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes as cryptoRandomBytes } from 'node:crypto'
import type { TestContext } from 'node:test'
import { KeypinError, type Connection, type ErrorCode, type Stream } from '@keypin/core'
import { dial, type DialOptions } from '@keypin/quic-client'
import { listen, type KeypinListener, type ListenOptions } from '@keypin/server'

/** Upper bound for one step (a dial, an echo, an accept) on loopback. */
export const STEP_MS = 5_000

export interface TestServer {
  readonly listener: KeypinListener
  readonly address: string
  /** Server-side connections accepted so far, in order. */
  readonly connections: Connection[]
  /** Resolves with the next server-side connection (including ones already accepted but not yet taken). */
  nextConnection(ms?: number): Promise<Connection>
}

/** Serves every stream by piping its readable into its writable (echo, then EOF). */
export function echoConnection(conn: Connection): void {
  void (async () => {
    try {
      for await (const stream of conn.incomingStreams()) echoStream(stream)
    } catch {
      // The connection died; the test asserting on it will say so.
    }
  })()
}

export function echoStream(stream: Stream): void {
  stream.readable.pipeTo(stream.writable).catch(() => {})
}

/**
 * Starts a listener on 127.0.0.1 (unless `options.host` says otherwise) and
 * runs `handler` for every accepted connection (default: echo). The listener
 * and every server-side connection are closed after the test.
 */
export async function startServer(
  t: TestContext,
  options: ListenOptions = {},
  handler: ((conn: Connection) => void) | null = echoConnection,
): Promise<TestServer> {
  const listener = await listen({ host: '127.0.0.1', ...options })
  const connections: Connection[] = []
  const waiting: ((conn: Connection) => void)[] = []
  let taken = 0
  const accepting = (async () => {
    for await (const conn of listener) {
      connections.push(conn)
      handler?.(conn)
      const waiter = waiting.shift()
      if (waiter) {
        taken++
        waiter(conn)
      }
    }
  })()
  accepting.catch(() => {})
  t.after(async () => {
    // A dial that just completed may still be finishing its handshake on the
    // server side; let it land so the close below is a normal close.
    const deadline = Date.now() + 500
    while (listener.stats.handshakes > 0 && Date.now() < deadline) await delay(5)
    await Promise.all(connections.map((conn) => conn.close().catch(() => {})))
    await listener.close()
    await accepting.catch(() => {})
  })
  return {
    listener,
    address: listener.address,
    connections,
    nextConnection(ms = STEP_MS) {
      if (taken < connections.length) return Promise.resolve(connections[taken++] as Connection)
      return withTimeout(new Promise<Connection>((resolve) => waiting.push(resolve)), ms, 'waiting for a server-side connection')
    },
  }
}

/** dial() with a bounded signal; the connection is closed after the test. */
export async function dialFor(t: TestContext, address: string, options: DialOptions = {}): Promise<Connection> {
  const conn = await dial(address, { signal: AbortSignal.timeout(STEP_MS), ...options })
  t.after(() => conn.close().catch(() => {}))
  return conn
}

export function randomBytes(length: number): Uint8Array {
  return new Uint8Array(cryptoRandomBytes(length))
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

export function concat(chunks: Uint8Array[]): Uint8Array {
  const total = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0)
  const out = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}

/** Reads `readable` to EOF (bounded by `ms`) and returns every byte. */
export async function readAll(readable: ReadableStream<Uint8Array>, ms = STEP_MS): Promise<Uint8Array> {
  const reader = readable.getReader()
  const chunks: Uint8Array[] = []
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return concat(chunks)
      chunks.push(value)
    }
  })()
  try {
    const received = (): number => chunks.reduce((n, c) => n + c.byteLength, 0)
    return await withTimeout(reading, ms, () => `reading a stream to EOF (${received()} bytes received, no EOF yet)`)
  } finally {
    reader.releaseLock()
  }
}

/** Writes `data` in chunks of `chunkSize` through one writer, then releases the lock (no EOF). */
export async function writeAll(stream: Stream, data: Uint8Array, chunkSize = 64 * 1024, ms = STEP_MS): Promise<void> {
  const writer = stream.writable.getWriter()
  try {
    await withTimeout(
      (async () => {
        for (let offset = 0; offset < data.byteLength; offset += chunkSize) {
          await writer.write(data.subarray(offset, offset + chunkSize))
        }
      })(),
      ms,
      `writing ${data.byteLength} bytes`,
    )
  } finally {
    writer.releaseLock()
  }
}

/** Opens a stream, sends `data` then EOF, and returns what comes back up to EOF. */
export async function echoOnce(conn: Connection, data: Uint8Array, ms = STEP_MS): Promise<Uint8Array> {
  const stream = await conn.openStream({ signal: AbortSignal.timeout(ms) })
  const [echoed] = await Promise.all([
    readAll(stream.readable, ms),
    (async () => {
      await writeAll(stream, data, 64 * 1024, ms)
      await stream.closeWrite()
    })(),
  ])
  return echoed
}

/** Rejects with a descriptive error when `promise` has not settled within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${typeof what === 'string' ? what : what()}`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Polls `check` every 10 ms until it returns true; fails with `what` after `ms`. */
export async function waitUntil(check: () => boolean, ms: number, what: string | (() => string)): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting until ${typeof what === 'string' ? what : what()}`)
    await delay(10)
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Collects the first `count` items of `readable` within `ms`; returns what arrived when time runs out. */
export async function collect<T>(readable: ReadableStream<T>, count: number, ms: number): Promise<T[]> {
  const reader = readable.getReader()
  const items: T[] = []
  const timer = setTimeout(() => {
    reader.cancel().catch(() => {})
  }, ms)
  try {
    while (items.length < count) {
      const { value, done } = await reader.read()
      if (done) break
      items.push(value)
    }
  } catch {
    // Cancelled by the timer or failed: return what arrived.
  } finally {
    clearTimeout(timer)
    reader.releaseLock()
  }
  return items
}

/**
 * Awaits `action`, which must reject with a KeypinError of `code` (and
 * `wireCode`, when given). Returns the error for further checks.
 */
export async function rejectsWithCode(
  action: Promise<unknown>,
  code: ErrorCode,
  wireCode?: number,
  ms = STEP_MS,
): Promise<KeypinError> {
  let caught: unknown
  try {
    await withTimeout(action, ms, `expecting a ${code} rejection`)
  } catch (error) {
    caught = error
  }
  assert.ok(caught !== undefined, `expected a rejection with code ${code}, but the operation succeeded`)
  assert.ok(caught instanceof KeypinError, `expected a KeypinError with code ${code}, got ${String(caught)}`)
  assert.equal(caught.code, code, `wrong code (message: ${caught.message})`)
  if (wireCode !== undefined) assert.equal(caught.wireCode, wireCode, `wrong wireCode (message: ${caught.message})`)
  return caught
}

/** Synchronous or asynchronous: `fn` must throw or reject with a KeypinError of `code`. */
export async function failsWithCode(fn: () => unknown, code: ErrorCode, ...fragments: string[]): Promise<KeypinError> {
  let caught: unknown
  try {
    await fn()
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof KeypinError, `expected a KeypinError with code ${code}, got ${String(caught)}`)
  assert.equal(caught.code, code, `wrong code (message: ${caught.message})`)
  for (const fragment of fragments) {
    assert.ok(caught.message.includes(fragment), `message ${JSON.stringify(caught.message)} should mention ${JSON.stringify(fragment)}`)
  }
  return caught
}

/** Number of live UDP handles in this process (sockets not yet closed). */
export function udpHandleCount(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'UDPWrap').length
}
