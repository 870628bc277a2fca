/**
 * The seam between the engine (public Stream/Connection semantics, shared by
 * every transport) and a transport adapter (QUIC over quiche, WebRTC over data
 * channels). Adapters implement the `*Transport` interfaces and drive the
 * `*Sink` interfaces; they never build public objects themselves.
 *
 * Ownership rules that keep both sides simple:
 * - bytes handed to a sink's `receive` belong to the engine from then on (it
 *   may transfer their ArrayBuffer), so adapters pass freshly allocated chunks;
 * - bytes handed to a transport's `write` may be reused by the caller once the
 *   returned promise settles.
 */
import type { HostPort, TransportKind } from '../types.js'
import type { KeypinError } from '../errors.js'

/** What the engine asks of one stream's transport. */
export interface StreamTransport {
  /** Set by the engine before any event is delivered; adapters feed it. */
  sink: StreamSink | undefined
  /**
   * Queue bytes for sending. Resolves when the transport has taken all of
   * them (within the peer's flow-control credit), rejects when the write half
   * cannot continue (peer STOP_SENDING, connection gone).
   */
  write(chunk: Uint8Array): Promise<void>
  /** Send EOF after every byte already written. */
  finish(): Promise<void>
  /** Abandon the write half (RESET_STREAM with `code`). */
  reset(code: number): void
  /** Refuse further incoming bytes (STOP_SENDING with `code`). */
  stopSending(code: number): void
  /** The engine has room again: deliver buffered inbound bytes to `sink`. */
  wantRead(): void
  /** Both halves are over; the adapter may forget the stream. */
  release(): void
}

/** What an adapter tells the engine about one stream. */
export interface StreamSink {
  /** How many more inbound bytes the engine wants right now (<= 0: hold them). */
  readonly readDesired: number
  receive(chunk: Uint8Array<ArrayBuffer>): void
  receiveEnd(): void
  receiveReset(wireCode: number): void
  /** The peer asked us to stop sending (STOP_SENDING). */
  receiveStopSending(wireCode: number): void
}

/** What the engine asks of a connection's transport. */
export interface ConnectionTransport {
  readonly kind: TransportKind
  readonly remoteAddress: HostPort
  /** A new locally opened stream, or null while the peer's stream limit is exhausted. */
  tryOpenStream(): StreamTransport | null
  /**
   * Queue one datagram. Returns false when the transport's send queue is full
   * (the engine waits for `datagramCapacityAvailable`); throws a `too-large`
   * KeypinError when it does not fit.
   */
  sendDatagram(data: Uint8Array): boolean
  maxDatagramPayloadSize(): number
  /** Send the close to the peer and release resources (bounded, never waits for the peer). */
  close(wireCode: number, message: string): void
}

/** What an adapter tells the engine about its connection. */
export interface ConnectionSink {
  addIncomingStream(stream: StreamTransport): void
  receiveDatagram(data: Uint8Array): void
  /** The datagram send queue has room again: wake pending datagram sends. */
  datagramCapacityAvailable(): void
  /** The peer granted more streams: wake pending openStream calls. */
  streamCreditAvailable(): void
  /** The connection is gone (peer close, timeout, protocol failure); `peerMessage` is the peer's reason text. */
  terminate(error: KeypinError, initiator: 'remote' | 'transport', peerMessage?: string): void
}
