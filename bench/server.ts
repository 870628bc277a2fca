/**
 * Bench server, run as a child process: `node bench/dist/server.js keypin|matrixai|ndc-direct|ndc-relayed`
 * (forked by server-child.ts).
 *
 * For every inbound stream it reads to EOF counting bytes, then answers with
 * the count (8 bytes, big-endian) and closes; a 1-byte stream gets its byte
 * echoed instead. Inbound datagrams are counted. The parent talks to it over
 * the fork IPC channel: `ready` (address) once listening, `stats` on request.
 */
import { QUICServer, events as quicEvents, type QUICConnection } from '@matrixai/quic'
import { generateIdentity, listen } from '@keypin/server'
import type { Connection, Stream } from '@keypin/core'
import { PeerConnection, type DataChannel, type DescriptionType } from 'node-datachannel'
import {
  baselineConfig,
  baselineServerCrypto,
  baselineStreamHalves,
  encodeReply,
  errorText,
  silentLogger,
  SERVER_KINDS,
  type ChildMessage,
  type ParentMessage,
  type ServerKind,
  type ServerStats,
} from './common.js'
import { RelayHop } from './ndc-hop.js'
import { candidateAddress, firstMid, hostCandidate, iceUfrag, withCandidate, withCandidateAddress, withoutCandidates } from './ndc-text.js'

const kind = process.argv[2] as ServerKind | undefined

const stats: Omit<ServerStats, 'cpuUser' | 'cpuSystem' | 'rss' | 'heapUsed' | 'datagramsDropped'> = {
  connections: 0,
  accepted: 0,
  streamsOpen: 0,
  streamsDone: 0,
  streamErrors: 0,
  bytesRead: 0,
  datagrams: 0,
  uncaught: 0,
  lastError: undefined,
}

/**
 * Keypin's datagram channel counts what its drop-oldest queue discarded in a
 * `dropped` getter that is not part of the public interface; it tells loss in
 * the application queue apart from loss before it. Live connections are read
 * at stats time, closed ones are folded into `droppedClosed`.
 */
const keypinConnections = new Set<Connection>()
let droppedClosed = 0
let dropCounterKnown = true

function droppedOf(conn: Connection): number {
  const dropped = (conn.datagrams as { dropped?: unknown }).dropped
  if (typeof dropped === 'number') return dropped
  dropCounterKnown = false
  return 0
}

function datagramsDropped(kind: ServerKind): number {
  if (kind !== 'keypin') return -1
  let total = droppedClosed
  for (const conn of keypinConnections) total += droppedOf(conn)
  return dropCounterKnown ? total : -1
}

function send(message: ChildMessage): void {
  process.send?.(message)
}

function noteError(error: unknown): void {
  stats.uncaught++
  stats.lastError = errorText(error)
  if (stats.uncaught <= 5) process.stderr.write(`[bench server] ${stats.lastError}\n`)
}

// Keep serving whatever one connection does; the parent reads the counters.
process.on('uncaughtException', noteError)
process.on('unhandledRejection', noteError)
// The parent going away ends us too, so no server outlives the bench.
process.on('disconnect', () => process.exit(0))

process.on('message', (raw) => {
  const message = raw as ParentMessage
  if (message.type !== 'stats') {
    if (kind === 'ndc-direct' || kind === 'ndc-relayed') onNdcSignal(message)
    return
  }
  const gc = (globalThis as { gc?: () => void }).gc
  if (message.gc && gc) {
    gc()
    gc()
  }
  const cpu = process.cpuUsage()
  const memory = process.memoryUsage()
  send({
    type: 'stats',
    id: message.id,
    stats: {
      ...stats,
      datagramsDropped: datagramsDropped(kind ?? 'matrixai'),
      cpuUser: cpu.user,
      cpuSystem: cpu.system,
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      ...(hop ? { relay: hop.stats } : {}),
    },
  })
})

/** Reads one stream to EOF and answers it; identical logic for both implementations. */
async function serveStream(readable: ReadableStream<Uint8Array>, writable: WritableStream<Uint8Array>): Promise<void> {
  stats.streamsOpen++
  try {
    const reader = readable.getReader()
    let count = 0
    let first = 0
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      if (count === 0 && value.byteLength > 0) first = value[0] as number
      count += value.byteLength
      stats.bytesRead += value.byteLength
    }
    const writer = writable.getWriter()
    await writer.write(encodeReply(count, first))
    await writer.close()
    stats.streamsDone++
  } catch {
    stats.streamErrors++
  } finally {
    stats.streamsOpen--
  }
}

async function startKeypin(): Promise<void> {
  const listener = await listen({ host: '127.0.0.1', port: 0 })
  const serveConnection = (conn: Connection): void => {
    stats.accepted++
    stats.connections++
    keypinConnections.add(conn)
    void conn.closed.then(() => {
      stats.connections--
      keypinConnections.delete(conn)
      droppedClosed += droppedOf(conn)
    })
    void (async () => {
      for await (const stream of conn.incomingStreams()) {
        const s: Stream = stream
        void serveStream(s.readable, s.writable)
      }
    })().catch(() => {})
    void (async () => {
      const reader = conn.datagrams.incoming.getReader()
      for (;;) {
        const { done } = await reader.read()
        if (done) return
        stats.datagrams++
      }
    })().catch(() => {})
  }
  void (async () => {
    for await (const conn of listener) serveConnection(conn)
  })().catch(noteError)
  const local = listener.localAddress
  send({ type: 'ready', kind: 'keypin', host: local.host, port: local.port, address: listener.address })
}

async function startMatrixai(): Promise<void> {
  const identity = await generateIdentity()
  const server = new QUICServer({
    crypto: baselineServerCrypto(),
    config: {
      key: identity.privateKeyPem,
      cert: identity.certificatePem,
      ...baselineConfig(),
    },
    logger: silentLogger(),
  })
  server.addEventListener(quicEvents.EventQUICServerConnection.name, (event: Event) => {
    const conn: QUICConnection = (event as quicEvents.EventQUICServerConnection).detail
    stats.accepted++
    stats.connections++
    conn.addEventListener(quicEvents.EventQUICConnectionStopped.name, () => stats.connections--, { once: true })
    conn.addEventListener(quicEvents.EventQUICConnectionStream.name, (streamEvent: Event) => {
      const { readable, writable } = baselineStreamHalves((streamEvent as quicEvents.EventQUICConnectionStream).detail)
      void serveStream(readable, writable)
    })
  })
  await server.start({ host: '127.0.0.1', port: 0 })
  send({ type: 'ready', kind: 'matrixai', host: server.host, port: server.port, address: `${server.host}:${server.port}` })
}

// ---- ndc-direct and ndc-relayed: raw node-datachannel, no Keypin ----

/** node-datachannel aborts the process when a callback throws: every callback goes through this. */
function guard<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  return (...args) => {
    try {
      fn(...args)
    } catch (error) {
      noteError(error)
    }
  }
}

const ndcPeers = new Map<number, PeerConnection>()

/** ndc-relayed only: the JS relay hop every datagram between client and child peer connection crosses. */
let hop: RelayHop | undefined

function onNdcSignal(message: Exclude<ParentMessage, { type: 'stats' }>): void {
  try {
    if (message.type === 'ndc-description') {
      const pc = new PeerConnection(`bench-server-${message.conn}`, { iceServers: [], bindAddress: '127.0.0.1' })
      const conn = message.conn
      ndcPeers.set(conn, pc)
      stats.accepted++
      stats.connections++
      // node-datachannel fires the description and candidate callbacks from
      // separate queues, so a candidate can come first; the client would then
      // add it before it has a remote description, which aborts its process.
      // Candidates wait for the description.
      let described = false
      const early: [string, string][] = []
      pc.onLocalDescription(
        guard((sdp: string, type: DescriptionType) => {
          if (hop) {
            const ufrag = iceUfrag(sdp)
            if (ufrag !== undefined) hop.setUfrag(conn, ufrag)
          }
          send({ type: 'ndc-description', conn, sdp: hop ? withoutCandidates(sdp) : sdp, sdpType: type })
          described = true
          for (const [candidate, mid] of early.splice(0)) sendNdcCandidate(conn, candidate, mid)
        }),
      )
      pc.onLocalCandidate(
        guard((candidate: string, mid: string) => {
          if (described) sendNdcCandidate(conn, candidate, mid)
          else early.push([candidate, mid])
        }),
      )
      pc.onDataChannel(guard(serveNdcChannel))
      const offer = hop ? joinHop(hop, conn, pc, message.sdp) : message.sdp
      // Auto-negotiation answers the offer by itself.
      pc.setRemoteDescription(offer, message.sdpType as DescriptionType)
    } else if (message.type === 'ndc-candidate') {
      if (!hop) ndcPeers.get(message.conn)?.addRemoteCandidate(message.candidate, message.mid)
    } else if (message.type === 'ndc-close') {
      const pc = ndcPeers.get(message.conn)
      if (!pc) return
      ndcPeers.delete(message.conn)
      hop?.removePeer(message.conn)
      stats.connections--
      pc.close()
    }
  } catch (error) {
    noteError(error)
  }
}

/**
 * Puts the hop between the client and `pc`; returns the offer `pc` is to get.
 * The client's own addresses are kept from the child: as in Keypin, the offer
 * names the relay socket standing for the client instead (or, if none was
 * ready, the one opened at the client's first check is added then; see
 * ndc-hop.ts). Once connected, `pc`'s selected remote must be a relay socket.
 */
function joinHop(hop: RelayHop, conn: number, pc: PeerConnection, clientOffer: string): string {
  const mid = firstMid(clientOffer) ?? '0'
  const relayPort = hop.addPeer(conn, guard((port: number) => pc.addRemoteCandidate(hostCandidate({ address: hop.host, port }), mid)))
  pc.onStateChange(
    guard((state: string) => {
      if (state !== 'connected') return
      const remote = pc.getSelectedCandidatePair()?.remote
      if (!hop.noteConnected(conn, remote?.port)) noteError(new Error(`ndc-relayed peer ${conn} connected around the hop (remote ${remote?.address}:${remote?.port})`))
    }),
  )
  const offer = withoutCandidates(clientOffer)
  return relayPort === undefined ? offer : withCandidate(offer, hostCandidate({ address: hop.host, port: relayPort }))
}

/**
 * Passes one of the child's local candidates to the client. Relayed: the
 * hop learns the peer connection's real ICE port from it, and the client gets
 * the hop's public socket in its place, so it can reach the child no other way.
 */
function sendNdcCandidate(conn: number, candidate: string, mid: string): void {
  if (!hop) {
    send({ type: 'ndc-candidate', conn, candidate, mid })
    return
  }
  const real = candidateAddress(candidate)
  const rewritten = withCandidateAddress(candidate, { address: hop.host, port: hop.port })
  // Not a UDP candidate (the child gathers none other): withheld, it could bypass the hop.
  if (real === undefined || rewritten === undefined) return
  hop.setIcePort(conn, real.port)
  send({ type: 'ndc-candidate', conn, candidate: rewritten, mid })
}

function serveNdcChannel(dc: DataChannel): void {
  if (dc.getLabel() === 'dgram') {
    dc.onMessage(guard(() => void stats.datagrams++))
    return
  }
  stats.streamsOpen++
  let count = 0
  let first = 0
  let done = false
  dc.onMessage(
    guard((msg: string | Buffer | ArrayBuffer) => {
      if (done) return
      if (typeof msg === 'string') {
        if (msg !== 'fin') return
        done = true
        stats.streamsOpen--
        stats.streamsDone++
        dc.sendMessageBinary(Buffer.from(encodeReply(count, first)))
        return
      }
      const bytes = msg instanceof ArrayBuffer ? new Uint8Array(msg) : msg
      if (count === 0 && bytes.byteLength > 0) first = bytes[0] as number
      count += bytes.byteLength
      stats.bytesRead += bytes.byteLength
    }),
  )
  dc.onClosed(
    guard(() => {
      if (done) return
      done = true
      stats.streamsOpen--
      stats.streamErrors++
    }),
  )
}

async function startNdcDirect(): Promise<void> {
  send({ type: 'ready', kind: 'ndc-direct', host: '127.0.0.1', port: 0, address: 'ipc-signalled' })
}

/** `port` is the hop's public socket: the relayed dialer checks its peer connection selected it. */
async function startNdcRelayed(): Promise<void> {
  hop = await RelayHop.open()
  send({ type: 'ready', kind: 'ndc-relayed', host: hop.host, port: hop.port, address: 'ipc-signalled' })
}

const STARTERS: Record<ServerKind, () => Promise<void>> = {
  keypin: startKeypin,
  matrixai: startMatrixai,
  'ndc-direct': startNdcDirect,
  'ndc-relayed': startNdcRelayed,
}

const start = kind !== undefined && SERVER_KINDS.includes(kind) ? STARTERS[kind] : undefined
if (!start) {
  process.stderr.write(`usage: node bench/dist/server.js ${SERVER_KINDS.join('|')}\n`)
  process.exit(2)
}
start().catch((error: unknown) => {
  send({ type: 'fatal', message: errorText(error) })
  process.exit(1)
})
