/**
 * The public surface every transport implements. A program written against
 * these types does not know whether QUIC or WebRTC carries its bytes.
 */
import type { KeypinError, Reason } from './errors.js'

export type { Reason }

/** A peer's transport address. */
export interface HostPort {
  host: string
  port: number
}

export type TransportKind = 'quic' | 'webrtc'

export interface SignalOptions {
  /** Aborting rejects the pending call with the signal's reason. */
  signal?: AbortSignal
}

/**
 * One bidirectional byte stream. Either side may open it; it has no name.
 * The two halves end independently, as in QUIC:
 * - `closeWrite()` sends EOF after every queued byte (the peer's read ends cleanly);
 * - `resetWrite(reason)` abandons unsent bytes, the peer's read fails with the code;
 * - `cancelRead(reason)` discards incoming bytes, the peer's writes fail with the code.
 */
export interface Stream {
  /** Incoming bytes. A byte stream: BYOB readers work; backpressure reaches the peer. */
  readonly readable: ReadableStream<Uint8Array>
  /** Outgoing bytes. `write()` resolves once the transport has room for the chunk. */
  readonly writable: WritableStream<Uint8Array>
  /** Graceful end of the write half: EOF for the peer after all written bytes. */
  closeWrite(): Promise<void>
  /** Abort the write half; the peer's reader fails with `reason.code` (default `reset`). */
  resetWrite(reason?: Reason): Promise<void>
  /** Stop reading; the peer's writer fails with `reason.code` (default `cancelled`). */
  cancelRead(reason?: Reason): Promise<void>
  /**
   * End both halves. Without a code the write half ends gracefully (EOF) and
   * the read half is cancelled with `cancelled` if it has not ended yet; with a
   * non-zero code both halves are aborted with it.
   */
  close(reason?: Reason): Promise<void>
  /**
   * Settles when both halves have ended. Resolves when they ended by EOF or by
   * a local call; rejects with a {@link KeypinError} when the peer reset or
   * cancelled a half or the connection died.
   */
  readonly closed: Promise<void>
}

export interface DatagramChannel {
  /** Largest payload `send` accepts right now (it can change with the path). */
  readonly maxPayloadSize: number
  /**
   * Queue one unreliable, unordered datagram. Rejects with a `too-large`
   * {@link KeypinError} carrying `maxDatagramPayloadSize` when it does not fit,
   * `closed` when the connection has ended.
   */
  send(data: Uint8Array): Promise<void>
  /** Inbound datagrams. The queue is bounded: when full, the oldest is dropped. */
  readonly incoming: ReadableStream<Uint8Array>
}

/** How a connection ended. */
export interface CloseInfo {
  /** Registry name of the code (`none` for a clean close). */
  code: KeypinError['code']
  /** The u32 code as seen on the wire. */
  wireCode: number
  message: string
  /** `local`: this side called close(); `remote`: the peer did; `transport`: timeout or protocol failure. */
  initiator: 'local' | 'remote' | 'transport'
  /** The error that pending and later operations fail with. */
  error: KeypinError
}

export interface Connection {
  readonly transport: TransportKind
  readonly remoteAddress: HostPort
  /** Open a stream; waits while the peer's stream limit is exhausted. */
  openStream(options?: SignalOptions): Promise<Stream>
  /** Next stream the peer opened (it becomes visible once the peer sends on it). */
  acceptStream(options?: SignalOptions): Promise<Stream>
  /** The peer's streams, in arrival order, until the connection closes. */
  incomingStreams(): AsyncIterableIterator<Stream>
  readonly datagrams: DatagramChannel
  /** Close the connection; the peer sees `reason.code` (default `none`). Pending operations fail. */
  close(reason?: Reason): Promise<void>
  /** Resolves (never rejects) with how the connection ended. */
  readonly closed: Promise<CloseInfo>
}

export interface Listener extends AsyncIterable<Connection> {
  /** The dialable `<ip>:<port>:<certhash>` string. Wildcard binds report the loopback address. */
  readonly address: string
  /** The address formatted with a host of the caller's choice (e.g. a public IP). */
  addressFor(host: string): string
  /** The bound local socket address. */
  readonly localAddress: HostPort
  /** The certhash (multibase) of the listener's certificate. */
  readonly certhash: string
  /** Next established connection. */
  accept(options?: SignalOptions): Promise<Connection>
  /** Stop accepting, close every connection (bounded), release the socket. */
  close(reason?: Reason): Promise<void>
}
