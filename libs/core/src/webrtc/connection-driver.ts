/**
 * Drives one WebRTC peer connection as the engine's ConnectionTransport: the
 * control channel (HELLO exchange, MAX_DATA, MAX_STREAMS, CONNECTION_CLOSE),
 * the datagram channel, connection-level credit, stream counts, and the
 * mapping of peer failures to connection errors.
 *
 * Per-stream framing and credit live in stream-transport.ts; the public
 * objects in the engine. This class never parses stream frames and never
 * builds a Stream.
 */
import { KeypinError, WIRE_ERROR_CODES } from '../errors.js'
import { KeypinConnection } from '../engine/connection.js'
import type { ConnectionTransport, StreamTransport } from '../engine/transport.js'
import { deferred } from '../engine/waiters.js'
import type { HostPort } from '../types.js'
import {
  CONTROL_CHANNEL_ID,
  DATAGRAM_CHANNEL_ID,
  MAX_WEBRTC_DATAGRAM,
  decodeControl,
  encodeControl,
  type ControlMessage,
} from '../wire/control.js'
import { IncomingStreamLimit, ReceiveWindow, SendCredit } from './credit.js'
import {
  CLOSE_LINGER_MS,
  DATAGRAM_BUFFERED_HIGH,
  DATAGRAM_BUFFERED_LOW,
  type ResolvedWebRtcOptions,
} from './options.js'
import type { RtcChannel, RtcPeer, RtcPeerClosed } from './peer.js'
import { WebRtcStreamTransport, type StreamHost } from './stream-transport.js'

type State = 'hello' | 'established' | 'closed'

interface PeerHello {
  initialMaxStreamData: number
  initialMaxData: number
  initialMaxStreams: number
}

export class WebRtcConnectionDriver implements ConnectionTransport, StreamHost {
  readonly kind = 'webrtc' as const
  readonly connection: KeypinConnection
  readonly connectionCredit = new SendCredit(0)
  readonly #peer: RtcPeer
  readonly #options: ResolvedWebRtcOptions
  readonly #control: RtcChannel
  readonly #datagrams: RtcChannel
  readonly #established = deferred<KeypinConnection>()
  readonly #streams = new Set<WebRtcStreamTransport>()
  /** Peer streams that sent a frame before the HELLO exchange completed. */
  readonly #early: WebRtcStreamTransport[] = []
  readonly #receive: ReceiveWindow
  readonly #incoming: IncomingStreamLimit
  #state: State = 'hello'
  #helloSent = false
  #peerHello: PeerHello | undefined
  /** Streams the peer lets us open in total (its MAX_STREAMS), and how many we opened. */
  #peerMaxStreams = 0
  #localOpened = 0
  #helloTimer: ReturnType<typeof setTimeout> | undefined
  #datagramsBlocked = false
  #keepAliveTimer: ReturnType<typeof setInterval> | undefined
  #idleTimer: ReturnType<typeof setInterval> | undefined
  /** When anything last arrived from the peer (performance.now()). */
  #lastHeard = 0

  constructor(peer: RtcPeer, options: ResolvedWebRtcOptions) {
    this.#peer = peer
    this.#options = options
    this.#receive = new ReceiveWindow(options.maxData)
    this.#incoming = new IncomingStreamLimit(options.maxStreams)
    this.connection = new KeypinConnection(this, {
      ...options.streamOptions,
      datagramQueueLength: options.datagramQueueLength,
    })
    // The reserved channels come first, so that no DCEP channel can take
    // their ids, and before SCTP is up, so that the peer's first control
    // message finds a channel (a message on an unknown stream is dropped and
    // the stream reset).
    this.#control = peer.createChannel({ label: '', negotiated: true, id: CONTROL_CHANNEL_ID, ordered: true })
    this.#datagrams = peer.createChannel({
      label: '',
      negotiated: true,
      id: DATAGRAM_CHANNEL_ID,
      ordered: false,
      maxRetransmits: 0,
    })
    this.#control.onOpen(() => this.guard(() => this.#sendHello()))
    this.#control.onMessage((message) => this.guard(() => this.#onControl(message)))
    this.#control.onClose(() => this.guard(() => this.#onPeerGone({ timedOut: false, message: 'the control channel closed' })))
    this.#datagrams.setBufferedAmountLowThreshold(DATAGRAM_BUFFERED_LOW)
    this.#datagrams.onMessage((message) => this.guard(() => this.#onDatagram(message)))
    this.#datagrams.onBufferedAmountLow(() => this.guard(() => this.#onDatagramRoom()))
    peer.onChannel((channel) => this.guard(() => this.#onPeerChannel(channel)))
    peer.onClosed((reason) => this.guard(() => this.#onPeerGone(reason)))
    this.#helloTimer = setTimeout(() => this.guard(() => this.#helloTimedOut()), options.helloTimeout)
    if (this.#control.isOpen) this.#sendHello()
  }

  /** Resolves once both HELLOs have been seen; rejects if the connection ends first. */
  get established(): Promise<KeypinConnection> {
    return this.#established.promise
  }

  /** Gives up before establishment (the caller's signal fired). */
  abort(reason: unknown): void {
    if (this.#state !== 'hello') return
    const error = new KeypinError('cancelled', 'connecting was aborted', { cause: reason })
    this.#shutdown(error, 'transport', WIRE_ERROR_CODES.cancelled)
  }

  // ---- ConnectionTransport ----

  get remoteAddress(): HostPort {
    const { host, port } = this.#peer.remoteAddress
    return { host, port }
  }

  tryOpenStream(): StreamTransport | null {
    if (this.#state !== 'established' || this.#localOpened >= this.#peerMaxStreams) return null
    let channel: RtcChannel
    try {
      // Labels carry no meaning on the wire; an empty one says so.
      channel = this.#peer.createChannel({ label: '', ordered: true })
    } catch (cause) {
      throw new KeypinError('network-error', 'the peer connection refused a new data channel', { cause })
    }
    this.#localOpened++
    const stream = new WebRtcStreamTransport(this, channel, {
      peerOpened: false,
      sendLimit: this.#peerHello?.initialMaxStreamData ?? 0,
      receiveWindow: this.#options.maxStreamData,
    })
    this.#streams.add(stream)
    return stream
  }

  sendDatagram(data: Uint8Array): boolean {
    if (this.#state === 'closed') return true
    const channel = this.#datagrams
    if (!channel.isOpen) return true // unreliable: not sent is the same as lost
    if (channel.bufferedAmount >= DATAGRAM_BUFFERED_HIGH) {
      this.#datagramsBlocked = true
      return false
    }
    try {
      channel.send(data)
    } catch {
      // The channel closed between the check and the send: the datagram is lost.
    }
    return true
  }

  maxDatagramPayloadSize(): number {
    if (this.#state === 'closed') return 0
    const max = this.#peer.maxMessageSize
    return max > 0 ? Math.min(MAX_WEBRTC_DATAGRAM, max) : MAX_WEBRTC_DATAGRAM
  }

  close(wireCode: number, message: string): void {
    const error = new KeypinError('closed', message || 'the connection was closed locally', { wireCode })
    this.#shutdown(error, 'transport', wireCode)
  }

  // ---- StreamHost ----

  receiveConnectionData(amount: number): boolean {
    this.#lastHeard = performance.now()
    if (this.#receive.receive(amount)) {
      // A starved sender may be owed credit that consumption alone would not trigger.
      const limit = this.#receive.update()
      if (limit !== undefined) this.#sendControl({ type: 'max-data', limit })
      return true
    }
    this.protocolError(
      new KeypinError(
        'protocol-error',
        `the peer sent ${this.#receive.received + amount} bytes on a connection allowed ${this.#receive.limit}`,
      ),
    )
    return false
  }

  consumeConnectionData(amount: number): void {
    const limit = this.#receive.consume(amount)
    if (limit !== undefined) this.#sendControl({ type: 'max-data', limit })
  }

  activate(stream: WebRtcStreamTransport): void {
    if (this.#state === 'hello') this.#early.push(stream)
    else if (this.#state === 'established') this.#surface(stream)
  }

  forget(stream: WebRtcStreamTransport): void {
    if (!this.#streams.delete(stream) || !stream.peerOpened) return
    const limit = this.#incoming.finish()
    if (limit !== undefined) this.#sendControl({ type: 'max-streams', limit })
  }

  protocolError(error: KeypinError): void {
    this.#shutdown(error, 'transport', error.wireCode)
  }

  guard(handler: () => void): void {
    try {
      handler()
    } catch (cause) {
      // Glue runs these inside platform callbacks, where a throw can take
      // the whole process down (node-datachannel aborts): fail the
      // connection instead.
      const error =
        cause instanceof KeypinError ? cause : new KeypinError('internal-error', `WebRTC adapter failure: ${String(cause)}`, { cause })
      this.#shutdown(error, 'transport', error.wireCode)
    }
  }

  // ---- HELLO exchange ----

  #sendHello(): void {
    if (this.#helloSent || this.#state === 'closed' || !this.#control.isOpen) return
    this.#helloSent = true
    this.#sendControl({
      type: 'hello',
      initialMaxStreamData: this.#options.maxStreamData,
      initialMaxData: this.#options.maxData,
      initialMaxStreams: this.#options.maxStreams,
    })
    this.#maybeEstablish()
  }

  #maybeEstablish(): void {
    const hello = this.#peerHello
    if (this.#state !== 'hello' || !this.#helloSent || !hello) return
    this.#state = 'established'
    clearTimeout(this.#helloTimer)
    this.#helloTimer = undefined
    this.connectionCredit.raise(hello.initialMaxData)
    this.#peerMaxStreams = Math.max(this.#peerMaxStreams, hello.initialMaxStreams)
    for (const stream of this.#streams) stream.applyInitialSendLimit(hello.initialMaxStreamData)
    this.#established.resolve(this.connection)
    for (const stream of this.#early.splice(0)) this.#surface(stream)
    this.#startKeepAlive()
  }

  // ---- liveness ----

  /**
   * SCTP and ICE consent notice a dead path only after 15 to 30 s, and report
   * it as a plain close. A keep-alive on the control channel (MAX_DATA
   * re-sent with the limit already granted: valid for every implementation,
   * a no-op for the receiver) lets a Keypin peer apply the same idle timeout
   * as QUIC. The first goes out at once, so the peer can arm its timer.
   */
  #startKeepAlive(): void {
    const interval = this.#options.keepAliveInterval
    if (interval <= 0) return
    const ping = (): void => this.guard(() => this.#sendControl({ type: 'max-data', limit: this.#receive.limit }))
    ping()
    this.#keepAliveTimer = setInterval(ping, interval)
    ;(this.#keepAliveTimer as { unref?: () => void }).unref?.()
  }

  #armIdleTimer(): void {
    const idle = this.#options.idleTimeout
    if (idle <= 0 || this.#idleTimer !== undefined || this.#state !== 'established') return
    this.#lastHeard = performance.now()
    this.#idleTimer = setInterval(
      () =>
        this.guard(() => {
          const silent = performance.now() - this.#lastHeard
          if (silent < idle) return
          const error = new KeypinError('timeout', `nothing from the peer for ${Math.round(silent)} ms (idle timeout ${idle} ms)`)
          this.#shutdown(error, 'transport', error.wireCode)
        }),
      Math.max(50, Math.min(1000, idle / 8)),
    )
    ;(this.#idleTimer as { unref?: () => void }).unref?.()
  }

  #helloTimedOut(): void {
    this.#helloTimer = undefined
    if (this.#state !== 'hello') return
    const what = this.#helloSent ? 'no HELLO from the peer' : 'the control channel did not open'
    const error = new KeypinError('timeout', `${what} within ${this.#options.helloTimeout} ms`)
    this.#shutdown(error, 'transport', error.wireCode)
  }

  // ---- control channel ----

  #onControl(bytes: Uint8Array): void {
    if (this.#state === 'closed') return
    this.#lastHeard = performance.now()
    let message: ControlMessage
    try {
      message = decodeControl(bytes)
    } catch (error) {
      // `protocol-error`, or `unsupported` for another wire version: the
      // peer is told which.
      this.protocolError(error instanceof KeypinError ? error : new KeypinError('protocol-error', String(error)))
      return
    }
    if (message.type === 'connection-close') {
      this.#onConnectionClose(message.code)
      return
    }
    if (message.type === 'hello') {
      if (this.#peerHello) {
        this.protocolError(new KeypinError('protocol-error', 'the peer sent a second HELLO'))
        return
      }
      this.#peerHello = message
      this.#maybeEstablish()
      return
    }
    // HELLO is the first message on an ordered channel: anything else before it is a broken peer.
    if (!this.#peerHello) {
      this.protocolError(new KeypinError('protocol-error', `the peer sent ${message.type} before HELLO`))
      return
    }
    if (message.type === 'max-data') {
      if (this.connectionCredit.raise(message.limit)) {
        for (const stream of this.#streams) stream.wake()
      } else {
        // A MAX_DATA that raises nothing is a keep-alive: this peer keeps
        // quiet connections alive, so silence from it means a dead path.
        this.#armIdleTimer()
      }
      return
    }
    if (message.limit > this.#peerMaxStreams) {
      this.#peerMaxStreams = message.limit
      this.connection.streamCreditAvailable()
    }
  }

  #onConnectionClose(code: number): void {
    // CONNECTION_CLOSE carries no reason text over WebRTC, so the peer's message is empty.
    const error =
      code === 0
        ? new KeypinError('closed', 'the peer closed the connection', { wireCode: 0, remote: true })
        : KeypinError.fromWire(code, `the peer closed the connection (code ${code})`)
    this.#shutdown(error, 'remote', undefined, '')
  }

  #sendControl(message: ControlMessage): void {
    if (this.#state === 'closed' || !this.#control.isOpen) return
    try {
      this.#control.send(encodeControl(message))
    } catch {
      // The channel is closing; its onClose ends the connection.
    }
  }

  // ---- datagrams ----

  #onDatagram(message: Uint8Array): void {
    // The wire caps a datagram at 1200 bytes; a bigger one is a peer that
    // ignores the cap. Datagrams are droppable by contract, so it is dropped
    // rather than handed to an application sized for the cap.
    if (this.#state === 'closed') return
    this.#lastHeard = performance.now()
    if (message.byteLength > MAX_WEBRTC_DATAGRAM) return
    this.connection.receiveDatagram(message)
  }

  #onDatagramRoom(): void {
    if (!this.#datagramsBlocked || this.#state === 'closed') return
    this.#datagramsBlocked = false
    this.connection.datagramCapacityAvailable()
  }

  // ---- streams the peer opens ----

  #onPeerChannel(channel: RtcChannel): void {
    if (this.#state === 'closed') {
      channel.close()
      return
    }
    if (channel.id === CONTROL_CHANNEL_ID || channel.id === DATAGRAM_CHANNEL_ID) {
      this.protocolError(new KeypinError('protocol-error', `the peer opened a stream on reserved channel id ${channel.id}`))
      return
    }
    if (!this.#incoming.open()) {
      channel.close()
      this.protocolError(new KeypinError('protocol-error', `the peer opened more than the ${this.#incoming.limit} streams it was allowed`))
      return
    }
    const limit = this.#incoming.update()
    if (limit !== undefined) this.#sendControl({ type: 'max-streams', limit })
    const stream = new WebRtcStreamTransport(this, channel, {
      peerOpened: true,
      sendLimit: this.#peerHello?.initialMaxStreamData ?? 0,
      receiveWindow: this.#options.maxStreamData,
    })
    this.#streams.add(stream)
  }

  /** Hands a peer stream to the engine once it is active and the connection established. */
  #surface(stream: WebRtcStreamTransport): void {
    if (!this.#streams.has(stream)) return
    this.connection.addIncomingStream(stream)
    stream.surfaced()
  }

  // ---- endings ----

  #onPeerGone(reason: RtcPeerClosed): void {
    if (this.#state === 'closed') return
    const error = reason.timedOut
      ? new KeypinError('timeout', `the peer connection timed out: ${reason.message}`)
      : new KeypinError('network-error', `the peer connection ended without CONNECTION_CLOSE: ${reason.message}`)
    this.#shutdown(error, 'transport')
  }

  /**
   * The one way out. Tells the peer (`closeCode`, when given and the control
   * channel is open), fails everything that waits, informs the engine and
   * closes the peer connection: after a short linger when a CONNECTION_CLOSE
   * is on its way, at once otherwise.
   */
  #shutdown(error: KeypinError, initiator: 'remote' | 'transport', closeCode?: number, peerMessage?: string): void {
    if (this.#state === 'closed') return
    let told = false
    if (closeCode !== undefined && this.#control.isOpen) {
      try {
        this.#control.send(encodeControl({ type: 'connection-close', code: closeCode }))
        told = true
      } catch {
        // The control channel is going away; nobody to tell.
      }
    }
    this.#state = 'closed'
    clearTimeout(this.#helloTimer)
    this.#helloTimer = undefined
    clearInterval(this.#keepAliveTimer)
    clearInterval(this.#idleTimer)
    for (const stream of this.#streams) stream.fail(error)
    this.#streams.clear()
    this.#early.length = 0
    this.#established.reject(error)
    this.connection.terminate(error, initiator, peerMessage)
    if (told) setTimeout(() => this.#closePeer(), CLOSE_LINGER_MS)
    else this.#closePeer()
  }

  #closePeer(): void {
    try {
      this.#peer.close()
    } catch {
      // Already closed.
    }
  }
}
