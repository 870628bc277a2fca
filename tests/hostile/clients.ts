/**
 * Legitimate clients for the hostile-input and leak tests: dial a listener
 * over QUIC or over WebRTC (the Node dialer), echo a payload through one
 * stream, close. Plus this process's share of node-datachannel, which the
 * Node WebRTC dialer loads: its worker threads keep a process alive until
 * the process-wide cleanup runs, so a test file that dialed over WebRTC
 * releases it at the end (after every connection it made has closed).
 *
 * Not a test file.
 */
import { createHash, randomBytes } from 'node:crypto'
import nodeDataChannel from 'node-datachannel'
import type { Connection } from '@keypin/core'
import { dial as dialQuic } from '@keypin/quic-client'
import { dial as dialWebRtc } from '@keypin/webrtc-client'

export type Transport = 'quic' | 'webrtc'
export const TRANSPORTS: Transport[] = ['quic', 'webrtc']

export function dial(transport: Transport, address: string, ms = 10_000): Promise<Connection> {
  const signal = AbortSignal.timeout(ms)
  return transport === 'quic' ? dialQuic(address, { signal }) : dialWebRtc(address, { signal, handshakeTimeout: ms })
}

/** Sends `bytes` random bytes through a new stream, reads the echo to EOF and checks it (length and SHA-256). */
export async function echoThroughStream(conn: Connection, bytes: number, ms = 10_000): Promise<void> {
  const stream = await conn.openStream({ signal: AbortSignal.timeout(ms) })
  const data = randomBytes(bytes)
  const writing = (async () => {
    const writer = stream.writable.getWriter()
    await writer.write(data)
    await writer.close()
  })()
  const hash = createHash('sha256')
  let received = 0
  const reading = (async () => {
    for await (const chunk of stream.readable) {
      hash.update(chunk)
      received += chunk.byteLength
    }
  })()
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no complete echo within ${ms} ms (${received} of ${bytes} bytes back)`)), ms)
  })
  try {
    await Promise.race([Promise.all([writing, reading]), timeout])
  } finally {
    clearTimeout(timer)
  }
  const sent = createHash('sha256').update(data).digest('hex')
  if (received !== bytes || hash.digest('hex') !== sent) throw new Error(`the echo differs: ${received} of ${bytes} bytes, different content`)
}

export interface EchoTiming {
  dialMs: number
  totalMs: number
}

/** Dial, echo one stream, close: one complete legitimate connection. */
export async function dialEchoClose(transport: Transport, address: string, bytes = 1024, ms = 10_000): Promise<EchoTiming> {
  const started = performance.now()
  const conn = await dial(transport, address, ms)
  const dialMs = performance.now() - started
  try {
    await echoThroughStream(conn, bytes, ms)
  } finally {
    await conn.close()
  }
  return { dialMs, totalMs: performance.now() - started }
}

const USERS = Symbol.for('keypin.node-datachannel.users')

/**
 * Registers this test file as a user of node-datachannel (the count is
 * shared with @keypin/server in the same process; see its webrtc/native.ts)
 * and returns the matching release, which runs the process-wide cleanup if
 * no user is left.
 */
export function holdNodeDataChannel(): () => void {
  const users = ((globalThis as unknown as Record<symbol, { count: number } | undefined>)[USERS] ??= { count: 0 })
  users.count++
  let released = false
  return () => {
    if (released) return
    released = true
    users.count = Math.max(0, users.count - 1)
    if (users.count === 0) nodeDataChannel.cleanup()
  }
}
