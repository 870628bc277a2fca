/**
 * The one public Connection implementation: stream bookkeeping, accept and
 * open queues, datagrams and the close state machine. A transport adapter
 * supplies a ConnectionTransport and drives the ConnectionSink side.
 */
import { KeypinError, errorCodeFromWire, reasonToWire, type Reason } from '../errors.js'
import type { CloseInfo, Connection, HostPort, SignalOptions, Stream, TransportKind } from '../types.js'
import { KeypinDatagrams } from './datagrams.js'
import { KeypinStream, type StreamOptions } from './stream.js'
import type { ConnectionSink, ConnectionTransport, StreamTransport } from './transport.js'
import { Signal, WaitQueue, deferred, throwIfAborted } from './waiters.js'

export interface ConnectionOptions extends StreamOptions {
  /** Inbound datagrams kept for the application before the oldest is dropped. */
  datagramQueueLength?: number
}

export class KeypinConnection implements Connection, ConnectionSink {
  readonly datagrams: KeypinDatagrams
  readonly #transport: ConnectionTransport
  readonly #options: ConnectionOptions
  readonly #streams = new Set<KeypinStream>()
  readonly #incoming = new WaitQueue<KeypinStream>()
  readonly #streamCredit = new Signal()
  readonly #closed = deferred<CloseInfo>()
  #closeInfo: CloseInfo | undefined

  constructor(transport: ConnectionTransport, options: ConnectionOptions = {}) {
    this.#transport = transport
    this.#options = options
    this.datagrams = new KeypinDatagrams(transport, options.datagramQueueLength)
  }

  get transport(): TransportKind {
    return this.#transport.kind
  }

  get remoteAddress(): HostPort {
    return this.#transport.remoteAddress
  }

  get closed(): Promise<CloseInfo> {
    return this.#closed.promise
  }

  /** Number of streams with at least one half still open (for tests and metrics). */
  get openStreamCount(): number {
    return this.#streams.size
  }

  async openStream(options: SignalOptions = {}): Promise<Stream> {
    for (;;) {
      throwIfAborted(options.signal)
      if (this.#closeInfo) throw this.#closeInfo.error
      const transport = this.#transport.tryOpenStream()
      if (transport) return this.#track(transport)
      await this.#streamCredit.wait(options.signal)
    }
  }

  acceptStream(options: SignalOptions = {}): Promise<Stream> {
    return this.#incoming.next(options.signal)
  }

  async *incomingStreams(): AsyncIterableIterator<Stream> {
    for (;;) {
      try {
        yield await this.#incoming.next()
      } catch (error) {
        if (this.#closeInfo && error === this.#closeInfo.error) return
        throw error
      }
    }
  }

  async close(reason?: Reason): Promise<void> {
    if (this.#closeInfo) return
    const { code, message } = reasonToWire(reason, 'none')
    // Operations cut short by a clean close fail with `closed`, not `none`.
    const error = new KeypinError(code === 0 ? 'closed' : errorCodeFromWire(code), message || 'the connection was closed locally', {
      wireCode: code,
    })
    this.#finish({ code: errorCodeFromWire(code), wireCode: code, message, initiator: 'local', error })
    this.#transport.close(code, message)
  }

  // ---- ConnectionSink ----

  addIncomingStream(transport: StreamTransport): void {
    if (this.#closeInfo) return
    this.#incoming.push(this.#track(transport))
  }

  receiveDatagram(data: Uint8Array): void {
    this.datagrams.receive(data)
  }

  datagramCapacityAvailable(): void {
    this.datagrams.capacityAvailable()
  }

  streamCreditAvailable(): void {
    this.#streamCredit.wake()
  }

  /**
   * `error.wireCode` 0 means a clean close by the peer (`error.code` should then
   * be `closed`); `peerMessage` is the reason text the peer sent, if any.
   */
  terminate(error: KeypinError, initiator: 'remote' | 'transport', peerMessage?: string): void {
    if (this.#closeInfo) return
    const code = error.wireCode === 0 ? 'none' : error.code
    this.#finish({ code, wireCode: error.wireCode, message: peerMessage ?? error.message, initiator, error })
  }

  // ---- internals ----

  #track(transport: StreamTransport): KeypinStream {
    const stream = new KeypinStream(transport, (done) => this.#streams.delete(done), this.#options)
    this.#streams.add(stream)
    return stream
  }

  #finish(info: CloseInfo): void {
    this.#closeInfo = info
    for (const stream of this.#incoming.fail(info.error)) stream.fail(info.error)
    this.#streamCredit.fail(info.error)
    for (const stream of [...this.#streams]) stream.fail(info.error)
    this.datagrams.fail(info.error)
    this.#closed.resolve(info)
  }
}
