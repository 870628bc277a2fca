/**
 * The client side of the impaired-network tests, run inside the client
 * namespace (through ipc.ts and `ip netns exec`). The listener it dials is
 * tests/hostile/listener-child.ts, which echoes streams and datagrams.
 *
 * Requests (transport is 'quic' or 'webrtc', the Node WebRTC dialer):
 *   transfer   dial, send `bytes` through each of `streams` streams at once,
 *              read the echoes, compare SHA-256; report dial and transfer times
 *   datagrams  dial, send `count` numbered datagrams at a pace, count the
 *              echoes that come back (and that each is one we sent)
 *   hold       dial and keep a stream busy (or one echo, then idle); replies
 *              once bytes flow, then reports an event when the connection
 *              ends (for link cuts)
 * Not a test file.
 */
import { createHash, randomBytes } from 'node:crypto'
import { dial as dialQuic } from '@keypin/quic-client'
import { dial as dialWebRtc } from '@keypin/webrtc-client'
import type { Connection } from '@keypin/core'
import { helperArgs, serveParent } from '../hostile/ipc.js'

export type Transport = 'quic' | 'webrtc'

export interface DialRequest {
  transport: Transport
  address: string
  /** QUIC only: the connection's idle timeout and keep-alive interval (ms). */
  idleTimeout?: number
  keepAliveInterval?: number
  dialTimeout?: number
}

export interface TransferReply {
  dialMs: number
  transferMs: number
  bytes: number
  /** Per stream: whether the echo had the same SHA-256 and length as what was sent. */
  intact: boolean[]
  detail: string[]
}

export interface DatagramsReply {
  dialMs: number
  sent: number
  received: number
  /** Echoes that matched no datagram we sent, or came back twice. */
  unexpected: number
}

export interface ClosedEvent {
  type: 'closed'
  transport: Transport
  code: string
  initiator: string
  message: string
  /** Date.now() when `closed` settled. */
  at: number
  /** Date.now() of the last echoed byte that arrived. */
  lastEcho: number
  echoed: number
}

helperArgs<null>()

async function dial(request: DialRequest): Promise<{ conn: Connection; dialMs: number }> {
  const started = performance.now()
  const signal = AbortSignal.timeout(request.dialTimeout ?? 20_000)
  const conn =
    request.transport === 'quic'
      ? await dialQuic(request.address, {
          signal,
          ...(request.idleTimeout !== undefined ? { idleTimeout: request.idleTimeout } : {}),
          ...(request.keepAliveInterval !== undefined ? { keepAliveInterval: request.keepAliveInterval } : {}),
        })
      : await dialWebRtc(request.address, {
          signal,
          handshakeTimeout: request.dialTimeout ?? 20_000,
          ...(request.idleTimeout !== undefined ? { idleTimeout: request.idleTimeout } : {}),
          ...(request.keepAliveInterval !== undefined ? { keepAliveInterval: request.keepAliveInterval } : {}),
        })
  return { conn, dialMs: performance.now() - started }
}

async function echoThrough(conn: Connection, bytes: number): Promise<{ intact: boolean; detail: string }> {
  const stream = await conn.openStream({ signal: AbortSignal.timeout(20_000) })
  const data = randomBytes(bytes)
  const sent = createHash('sha256').update(data).digest('hex')
  const writing = (async () => {
    const writer = stream.writable.getWriter()
    for (let offset = 0; offset < data.byteLength; offset += 16 * 1024) await writer.write(data.subarray(offset, offset + 16 * 1024))
    await writer.close()
  })()
  const hash = createHash('sha256')
  let received = 0
  for await (const chunk of stream.readable) {
    hash.update(chunk)
    received += chunk.byteLength
  }
  await writing
  const got = hash.digest('hex')
  return { intact: got === sent && received === bytes, detail: `${received}/${bytes} bytes, sha256 ${got.slice(0, 12)} vs ${sent.slice(0, 12)}` }
}

const parent = serveParent({
  async transfer(request: DialRequest & { streams: number; bytes: number }): Promise<TransferReply> {
    const { conn, dialMs } = await dial(request)
    try {
      const started = performance.now()
      const results = await Promise.all(Array.from({ length: request.streams }, () => echoThrough(conn, request.bytes)))
      return {
        dialMs,
        transferMs: performance.now() - started,
        bytes: request.streams * request.bytes,
        intact: results.map((r) => r.intact),
        detail: results.map((r) => r.detail),
      }
    } finally {
      await conn.close().catch(() => {})
    }
  },

  async datagrams(request: DialRequest & { count: number; size: number; intervalMs: number; waitMs: number }): Promise<DatagramsReply> {
    const { conn, dialMs } = await dial(request)
    try {
      const expected = new Set<string>()
      let received = 0
      let unexpected = 0
      const reader = conn.datagrams.incoming.getReader()
      const reading = (async () => {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) return
          const key = Buffer.from(value).toString('hex')
          if (expected.delete(key)) received++
          else unexpected++
        }
      })()
      reading.catch(() => {})
      for (let i = 0; i < request.count; i++) {
        const datagram = randomBytes(request.size)
        datagram.writeUInt32BE(i, 0)
        expected.add(datagram.toString('hex'))
        await conn.datagrams.send(datagram)
        await new Promise((resolve) => setTimeout(resolve, request.intervalMs))
      }
      await new Promise((resolve) => setTimeout(resolve, request.waitMs))
      await reader.cancel().catch(() => {})
      return { dialMs, sent: request.count, received, unexpected }
    } finally {
      await conn.close().catch(() => {})
    }
  },

  async hold(request: DialRequest & { busy: boolean }): Promise<{ dialMs: number }> {
    const { conn, dialMs } = await dial(request)
    const stream = await conn.openStream({ signal: AbortSignal.timeout(20_000) })
    // Busy: keep 256 kB in flight and more coming, until the connection
    // fails. Idle: one small echo, then nothing (only keep-alives).
    const wanted = request.busy ? 256 * 1024 : 1024
    let echoed = 0
    let lastEcho = Date.now()
    let flowing: () => void = () => {}
    const isFlowing = new Promise<void>((resolve) => (flowing = resolve))
    void (async () => {
      const writer = stream.writable.getWriter()
      if (!request.busy) return writer.write(randomBytes(wanted))
      const chunk = randomBytes(8 * 1024)
      for (;;) await writer.write(chunk)
    })().catch(() => {}) // the writes fail once the connection does
    void (async () => {
      for await (const chunk of stream.readable) {
        echoed += chunk.byteLength
        lastEcho = Date.now()
        if (echoed >= wanted) flowing()
      }
    })().catch(() => {})
    void conn.closed.then((info) => {
      const event: ClosedEvent = {
        type: 'closed',
        transport: request.transport,
        code: info.code,
        initiator: info.initiator,
        message: info.message,
        at: Date.now(),
        lastEcho,
        echoed,
      }
      parent.event(event)
    })
    await isFlowing
    return { dialMs }
  },
})
parent.ready({ pid: process.pid })
