/**
 * Pieces shared by the bench parent (client side, run.ts and its modules) and
 * the server child (server.ts): the server kinds, the IPC message shapes, the
 * reply framing, and the glue both ends of the @matrixai/quic baseline need
 * (connection config, stream typings, crypto ops, a silent logger).
 */
import { createHmac, randomFillSync, timingSafeEqual } from 'node:crypto'
import type { QUICServer, QUICStream } from '@matrixai/quic'

/** Which server the child runs: `node bench/dist/server.js <kind>`. */
export type ServerKind = 'keypin' | 'matrixai' | 'ndc-direct' | 'ndc-relayed'

export const SERVER_KINDS: readonly ServerKind[] = ['keypin', 'matrixai', 'ndc-direct', 'ndc-relayed']

/** The ALPN both baseline endpoints offer. */
const BASELINE_ALPN = 'keypin-bench'

/** Idle timeout for the baseline's connections (its default is "never"). */
const BASELINE_IDLE_MS = 30_000

/**
 * Signalling for the `ndc-direct` and `ndc-relayed` baselines (two raw
 * node-datachannel peers), both directions over the fork IPC channel; `conn`
 * tells peer connections apart.
 */
export type NdcSignal =
  | { type: 'ndc-description'; conn: number; sdp: string; sdpType: string }
  | { type: 'ndc-candidate'; conn: number; candidate: string; mid: string }
  | { type: 'ndc-close'; conn: number }

/** Parent -> child. */
export type ParentMessage = { type: 'stats'; id: number; gc?: boolean } | NdcSignal

export interface ServerStats {
  /** Connections accepted and not yet closed. */
  connections: number
  /** Connections accepted in total. */
  accepted: number
  /** Inbound streams still being read or answered. */
  streamsOpen: number
  /** Inbound streams answered. */
  streamsDone: number
  /** Inbound streams that failed (reset, connection died, write error). */
  streamErrors: number
  /** Stream bytes read by the application, all streams. */
  bytesRead: number
  /** Datagrams delivered to the application, all connections. */
  datagrams: number
  /** Datagrams the implementation dropped from its full inbound queue (-1: it does not say). */
  datagramsDropped: number
  /** process.cpuUsage() of the child, microseconds. */
  cpuUser: number
  cpuSystem: number
  /** process.memoryUsage() after an optional GC, bytes. */
  rss: number
  heapUsed: number
  /** Uncaught exceptions and unhandled rejections seen in the child. */
  uncaught: number
  lastError: string | undefined
  /** The `ndc-relayed` child's JS relay hop since the child started; absent for the other kinds. */
  relay?: RelayStats
}

/** Counters of the `ndc-relayed` child's JS relay hop (see ndc-hop.ts). */
export interface RelayStats {
  /** Datagrams from clients sent on to a peer connection, each from its client's relay socket. */
  toPeer: number
  /** Datagrams from peer connections sent back to their client from the public socket. */
  toClient: number
  /** Datagrams on the public socket from a new source that were not an ICE check naming a known peer (dropped). */
  unrouted: number
  /** Relay sockets put to use: one per client source address (bound ahead for the next peer, or on demand). */
  sockets: number
  /** Peer connections that connected with one of their relay sockets as the selected remote candidate. */
  viaHop: number
  /** Peer connections that connected with any other remote: the hop was bypassed. */
  bypassed: number
}

/** Child -> parent. */
export type ChildMessage =
  | { type: 'ready'; kind: ServerKind; host: string; port: number; address: string }
  | { type: 'stats'; id: number; stats: ServerStats }
  | { type: 'fatal'; message: string }
  | NdcSignal

/** The server's answer to a stream: the byte count as 8 bytes big-endian, or the byte itself for a 1-byte ping. */
export function encodeReply(count: number, first: number): Uint8Array {
  if (count === 1) return Uint8Array.of(first)
  const reply = new Uint8Array(8)
  new DataView(reply.buffer).setBigUint64(0, BigInt(count))
  return reply
}

export function decodeCount(reply: Uint8Array): number {
  if (reply.byteLength !== 8) throw new Error(`expected an 8-byte count reply, got ${reply.byteLength} bytes`)
  return Number(new DataView(reply.buffer, reply.byteOffset, 8).getBigUint64(0))
}

export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    const name = error.name && error.name !== 'Error' ? `${error.name}: ` : ''
    return `${name}${typeof code === 'string' ? `[${code}] ` : ''}${error.message}`.replace(/\s+/g, ' ').slice(0, 160)
  }
  return String(error).slice(0, 160)
}

// ---- @matrixai/quic glue ----

/** The connection settings both baseline endpoints share (the server adds its key and cert). */
export function baselineConfig(): { verifyPeer: boolean; applicationProtos: string[]; maxIdleTimeout: number } {
  return { verifyPeer: false, applicationProtos: [BASELINE_ALPN], maxIdleTimeout: BASELINE_IDLE_MS }
}

/** A baseline stream's two halves as the global web stream types. */
export function baselineStreamHalves(stream: QUICStream): { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> } {
  // node:stream/web's classes are the global ones; only the typings differ.
  return {
    readable: stream.readable as unknown as ReadableStream<Uint8Array>,
    writable: stream.writable as unknown as WritableStream<Uint8Array>,
  }
}

type BinaryLike = ArrayBuffer | ArrayBufferView

function bytesOf(data: BinaryLike): Buffer {
  return ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data)
}

function hmac(key: BinaryLike, data: BinaryLike): Buffer {
  return createHmac('sha256', bytesOf(key)).update(bytesOf(data)).digest()
}

/**
 * Server crypto for the baseline's Retry tokens and derived connection IDs:
 * HMAC-SHA256 under a random per-process key. `sign` must return a plain
 * ArrayBuffer: the library slices it with `new Uint8Array(buffer, 0, 20)`.
 */
export function baselineServerCrypto(): { key: ArrayBuffer; ops: { sign: (key: ArrayBuffer, data: ArrayBuffer) => Promise<ArrayBuffer>; verify: (key: ArrayBuffer, data: ArrayBuffer, sig: ArrayBuffer) => Promise<boolean> } } {
  const key = new ArrayBuffer(32)
  randomFillSync(new Uint8Array(key))
  return {
    key,
    ops: {
      async sign(k, data) {
        const digest = hmac(k, data)
        return digest.buffer.slice(digest.byteOffset, digest.byteOffset + digest.byteLength) as ArrayBuffer
      },
      async verify(k, data, sig) {
        const expected = hmac(k, data)
        const actual = bytesOf(sig)
        return actual.byteLength === expected.byteLength && timingSafeEqual(actual, expected)
      },
    },
  }
}

export const baselineClientCrypto = {
  ops: {
    async randomBytes(data: ArrayBuffer): Promise<void> {
      randomFillSync(ArrayBuffer.isView(data) ? (data as unknown as Uint8Array) : new Uint8Array(data))
    },
  },
}

type BaselineLogger = NonNullable<ConstructorParameters<typeof QUICServer>[0]['logger']>

/**
 * The library logs every connection and stream at INFO to stderr by default,
 * which would dominate its CPU profile. It only calls these four methods.
 */
export function silentLogger(): BaselineLogger {
  const logger = {
    getChild: () => logger,
    debug: () => {},
    info: () => {},
    warn: () => {},
    error: () => {},
  }
  return logger as unknown as BaselineLogger
}
