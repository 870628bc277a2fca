/**
 * One application data channel as the engine's StreamTransport. Every
 * message on the channel is one frame (wire/framing.ts); this file maps the
 * engine's half-close operations to frames and back, and keeps the stream's
 * share of flow control: how far we may send (the peer's MAX_STREAM_DATA)
 * and how much we hold for the application (the window we granted).
 *
 * It is not the connection: connection credit, stream counts, surfacing new
 * streams and protocol-error handling belong to the host (the driver).
 */
import { KeypinError, WIRE_ERROR_CODES } from '../errors.js'
import type { StreamSink, StreamTransport } from '../engine/transport.js'
import { Signal } from '../engine/waiters.js'
import { decodeFrame, encodeDataFrames, encodeFrame, type StreamFrame } from '../wire/framing.js'
import { ReceiveWindow, SendCredit } from './credit.js'
import { STREAM_BUFFERED_HIGH, STREAM_BUFFERED_LOW, STREAM_SEND_BATCH } from './options.js'
import type { RtcChannel } from './peer.js'

/** What a stream needs from its connection driver. */
export interface StreamHost {
  /** The peer's connection-level credit, shared by every stream. */
  readonly connectionCredit: SendCredit
  /** Counts inbound stream bytes against our connection window; false is a violation. */
  receiveConnectionData(amount: number): boolean
  /** Bytes that left the adapter (delivered or discarded): connection credit may be due. */
  consumeConnectionData(amount: number): void
  /** A stream the peer opened sent its first frame: surface it (now or once established). */
  activate(stream: WebRtcStreamTransport): void
  /** The stream's channel is closed for good; drop it (and count a finished peer stream). */
  forget(stream: WebRtcStreamTransport): void
  /** The peer broke the protocol: close the connection. */
  protocolError(error: KeypinError): void
  /** Runs a channel event handler, turning a thrown bug into a connection failure. */
  guard(handler: () => void): void
}

type WriteState = 'open' | 'finished' | 'reset' | 'failed'
/**
 * Our read half: `open` delivers to the engine; `cancelled` (we sent
 * STOP_SENDING) discards what still arrives until the peer's FIN or RESET;
 * `done` delivers nothing more.
 */
type ReadState = 'open' | 'cancelled' | 'done'

const RESET_CODE = WIRE_ERROR_CODES.reset

/**
 * How long a finished stream's channel stays open before it is closed.
 * Closing resets the SCTP stream, and the reset can overtake frames still in
 * flight: measured under load (8 busy streams), the peer then lost our last
 * DATA and FIN and saw a reset instead. After the linger they have arrived.
 */
const CLOSE_LINGER_MS = 1000

export class WebRtcStreamTransport implements StreamTransport {
  sink: StreamSink | undefined
  /** True for streams the peer opened (they count against our stream limit). */
  readonly peerOpened: boolean
  readonly #host: StreamHost
  readonly #channel: RtcChannel
  readonly #send: SendCredit
  readonly #receive: ReceiveWindow
  /** Woken whenever sending may have become possible (open, drained queue, credit) or impossible. */
  readonly #wake = new Signal()
  /** Frames sent once the channel opens (control frames issued before DCEP completed). */
  readonly #queued: Uint8Array[] = []
  /** Inbound bytes not yet handed to the engine, oldest first. */
  readonly #inbound: Array<Uint8Array<ArrayBuffer>> = []
  #writeState: WriteState = 'open'
  #writeError: KeypinError | undefined
  #readState: ReadState = 'open'
  /** The peer's write half has ended (FIN or RESET seen): nothing more will arrive. */
  #peerDone = false
  #finReceived = false
  #resetReceived: number | undefined
  #stopSendingReceived: number | undefined
  #active: boolean
  #pumping = false
  #released = false
  /** The channel is closed (by either side) or the connection is gone: nothing goes out any more. */
  #channelClosed = false

  constructor(host: StreamHost, channel: RtcChannel, init: { peerOpened: boolean; sendLimit: number; receiveWindow: number }) {
    this.#host = host
    this.#channel = channel
    this.peerOpened = init.peerOpened
    // Our own streams are surfaced by openStream; the peer's wait for their first frame.
    this.#active = !init.peerOpened
    this.#send = new SendCredit(init.sendLimit)
    this.#receive = new ReceiveWindow(init.receiveWindow)
    channel.setBufferedAmountLowThreshold(STREAM_BUFFERED_LOW)
    channel.onOpen(() => host.guard(() => this.#onOpen()))
    channel.onMessage((message) => host.guard(() => this.#onMessage(message)))
    channel.onBufferedAmountLow(() => host.guard(() => this.#wake.wake()))
    channel.onClose(() => host.guard(() => this.#onClose()))
    if (channel.isOpen) this.#onOpen()
  }

  // ---- StreamTransport ----

  async write(chunk: Uint8Array): Promise<void> {
    let offset = 0
    while (offset < chunk.byteLength) {
      if (this.#writeError) throw this.#writeError
      const room = this.#sendRoom()
      if (room === 0) {
        await this.#wake.wait()
        continue
      }
      const end = offset + Math.min(room, chunk.byteLength - offset)
      const frames = encodeDataFrames(chunk.subarray(offset, end))
      for (const frame of frames) {
        if (!this.#sendRaw(frame)) throw this.#writeError ?? gone()
      }
      this.#send.use(end - offset)
      this.#host.connectionCredit.use(end - offset)
      offset = end
    }
  }

  async finish(): Promise<void> {
    // A FIN needs no credit, only an open channel, and must follow every DATA
    // frame: the engine calls finish only after the last write settled.
    while (!this.#channel.isOpen || this.#queued.length > 0) {
      if (this.#writeError) throw this.#writeError
      await this.#wake.wait()
    }
    if (this.#writeError) throw this.#writeError
    if (!this.#sendRaw(encodeFrame({ type: 'fin' }))) throw this.#writeError ?? gone()
    this.#writeState = 'finished'
    this.#maybeClose()
  }

  reset(code: number): void {
    if (this.#writeState !== 'open') return
    this.#endWrite('reset', new KeypinError('reset', 'the write half of this stream was reset'))
    this.#sendFrame({ type: 'reset', code })
    this.#maybeClose()
  }

  stopSending(code: number): void {
    if (this.#readState !== 'open') return
    this.#discardInbound()
    // Until the peer's FIN or RESET arrives its DATA is still in flight and
    // must be counted (connection credit), so the channel stays open.
    this.#readState = this.#peerDone ? 'done' : 'cancelled'
    if (!this.#peerDone) this.#sendFrame({ type: 'stop-sending', code })
    this.#maybeClose()
  }

  wantRead(): void {
    this.#pump()
  }

  release(): void {
    this.#released = true
    this.#maybeClose()
  }

  // ---- from the driver ----

  /** The peer's HELLO arrived: its initial per-stream limit applies to streams that predate it. */
  applyInitialSendLimit(limit: number): void {
    if (this.#send.raise(limit)) this.#wake.wake()
  }

  /** Connection credit grew (MAX_DATA): a write parked on it may go on. */
  wake(): void {
    this.#wake.wake()
  }

  /** The stream has just been handed to the engine: deliver what arrived meanwhile. */
  surfaced(): void {
    this.#pump()
  }

  get isActive(): boolean {
    return this.#active
  }

  /** The connection is gone: settle whatever waits, without touching the wire. */
  fail(error: KeypinError): void {
    this.#channelClosed = true
    this.#stopSendingReceived = undefined
    this.#resetReceived = undefined
    this.#endWrite('failed', error)
    this.#readState = 'done'
    this.#inbound.length = 0
  }

  // ---- sending ----

  /** Bytes that may go out now: the least of stream credit, connection credit and queue room. */
  #sendRoom(): number {
    if (!this.#channel.isOpen) return 0
    const queued = this.#channel.bufferedAmount
    if (queued >= STREAM_BUFFERED_HIGH) return 0
    return Math.min(this.#send.available, this.#host.connectionCredit.available, STREAM_SEND_BATCH)
  }

  /** Sends a control frame now, or once the channel opens. */
  #sendFrame(frame: StreamFrame): void {
    const bytes = encodeFrame(frame)
    if (this.#channel.isOpen && this.#queued.length === 0) this.#sendRaw(bytes)
    else if (!this.#channelClosed) this.#queued.push(bytes)
  }

  /** Hands one frame to the channel. False (and the write half failed) when the channel refused it. */
  #sendRaw(frame: Uint8Array): boolean {
    if (this.#channelClosed) return false
    try {
      this.#channel.send(frame)
      return true
    } catch (cause) {
      this.#endWrite('failed', new KeypinError('closed', 'the stream\'s data channel is closed', { cause }))
      return false
    }
  }

  #endWrite(state: Exclude<WriteState, 'open'>, error: KeypinError): void {
    if (this.#writeState === 'open') this.#writeState = state
    this.#writeError ??= error
    this.#wake.fail(error)
  }

  // ---- receiving ----

  #onOpen(): void {
    if (this.#channelClosed) return
    for (const frame of this.#queued.splice(0)) {
      if (!this.#sendRaw(frame)) break
    }
    this.#wake.wake()
    this.#maybeClose()
  }

  #onMessage(message: Uint8Array): void {
    if (this.#channelClosed) return
    let frame: StreamFrame
    try {
      frame = decodeFrame(message)
    } catch (error) {
      this.#host.protocolError(asKeypinError(error))
      return
    }
    if (!this.#onFrame(frame)) return
    if (!this.#active) {
      this.#active = true
      this.#host.activate(this)
    }
  }

  /** Applies one frame. Returns false when it broke the protocol (the connection is closing). */
  #onFrame(frame: StreamFrame): boolean {
    switch (frame.type) {
      case 'data':
        return this.#onData(frame.data)
      case 'fin':
        if (this.#peerDone) return this.#violation('FIN after the stream\'s FIN or RESET')
        this.#peerDone = true
        this.#finReceived = true
        if (this.#readState === 'cancelled') this.#readState = 'done'
        this.#pump()
        this.#maybeClose()
        return true
      case 'reset':
        // A RESET after FIN is harmless (QUIC allows it): everything was delivered.
        if (this.#peerDone) return true
        this.#peerDone = true
        this.#discardInbound()
        if (this.#readState === 'open') this.#resetReceived = frame.code
        else this.#readState = 'done'
        this.#pump()
        this.#maybeClose()
        return true
      case 'stop-sending':
        if (this.#writeState === 'open') this.#stopSendingReceived = frame.code
        this.#pump()
        return true
      case 'max-stream-data':
        if (this.#send.raise(frame.limit)) this.#wake.wake()
        return true
    }
  }

  #onData(data: Uint8Array): boolean {
    if (this.#peerDone) return this.#violation('DATA after the stream\'s FIN or RESET')
    const length = data.byteLength
    if (!this.#receive.receive(length)) {
      return this.#violation(`the peer sent ${this.#receive.received + length} bytes on a stream allowed ${this.#receive.limit}`)
    }
    if (!this.#host.receiveConnectionData(length)) return false
    if (this.#readState !== 'open') {
      // Cancelled: nobody will read it, but it used connection credit.
      this.#host.consumeConnectionData(length)
      return true
    }
    // A copy with its own buffer: the engine may transfer it, and the
    // message buffer also holds the type byte.
    this.#inbound.push(Uint8Array.prototype.slice.call(data))
    this.#pump()
    return true
  }

  /** Moves inbound bytes and pending events to the engine while it has room. */
  #pump(): void {
    const sink = this.sink
    // The engine can call wantRead from inside receive(); the loop below
    // re-checks readDesired, so a nested call has nothing to add.
    if (!sink || this.#pumping) return
    this.#pumping = true
    try {
      if (this.#stopSendingReceived !== undefined && this.#writeState === 'open') {
        const code = this.#stopSendingReceived
        this.#stopSendingReceived = undefined
        // The engine answers with reset(code), which sends our RESET.
        sink.receiveStopSending(code)
      }
      if (this.#readState !== 'open') return
      if (this.#resetReceived !== undefined) {
        this.#readState = 'done'
        sink.receiveReset(this.#resetReceived)
        return
      }
      let delivered = 0
      while (this.#inbound.length > 0 && sink.readDesired > 0 && this.#readState === 'open') {
        const chunk = this.#inbound.shift() as Uint8Array<ArrayBuffer>
        delivered += chunk.byteLength
        sink.receive(chunk)
      }
      if (delivered > 0) this.#consumed(delivered)
      if (this.#readState === 'open' && this.#finReceived && this.#inbound.length === 0) {
        this.#readState = 'done'
        sink.receiveEnd()
      }
    } finally {
      this.#pumping = false
    }
  }

  /** Bytes the engine took: re-grant stream credit (on this channel) and connection credit. */
  #consumed(amount: number): void {
    const limit = this.#receive.consume(amount)
    if (limit !== undefined && !this.#peerDone) this.#sendFrame({ type: 'max-stream-data', limit })
    this.#host.consumeConnectionData(amount)
  }

  /** Drops undelivered bytes (reset or cancel); they still count as consumed for the connection. */
  #discardInbound(): void {
    let dropped = 0
    for (const chunk of this.#inbound) dropped += chunk.byteLength
    this.#inbound.length = 0
    if (dropped > 0) this.#host.consumeConnectionData(dropped)
  }

  #violation(what: string): false {
    this.#host.protocolError(new KeypinError('protocol-error', `stream protocol violation: ${what}`))
    return false
  }

  // ---- closing ----

  /**
   * Closes the channel once the engine is done with the stream and both
   * directions have ended on the wire: our FIN or RESET has been handed to
   * the channel and the peer's FIN or RESET has arrived, so both sides agree
   * on the connection credit the stream used. The close itself waits
   * CLOSE_LINGER_MS so that it cannot overtake our last frames.
   */
  #maybeClose(): void {
    if (this.#channelClosed || !this.#released || this.#writeState === 'open' || !this.#peerDone) return
    if (!this.#channel.isOpen || this.#queued.length > 0) return
    this.#channelClosed = true
    const channel = this.#channel
    setTimeout(() => {
      try {
        channel.close()
      } catch {
        // Already closed underneath us (the peer connection went away).
      }
    }, CLOSE_LINGER_MS)
    this.#host.forget(this)
  }

  /** The channel closed: by us (nothing to do), by the peer, or with the peer connection. */
  #onClose(): void {
    if (this.#channelClosed) return
    this.#channelClosed = true
    this.#queued.length = 0
    // A peer that closes without FIN or RESET abandoned the stream: the
    // application sees a reset of whatever half was still open.
    if (!this.#peerDone) {
      this.#peerDone = true
      this.#discardInbound()
      if (this.#readState === 'open') this.#resetReceived = RESET_CODE
      else this.#readState = 'done'
    }
    if (this.#writeState === 'open') this.#stopSendingReceived = RESET_CODE
    this.#pump()
    this.#endWrite('failed', new KeypinError('reset', 'the peer closed the stream\'s data channel'))
    this.#host.forget(this)
  }
}

function gone(): KeypinError {
  return new KeypinError('closed', 'the stream\'s data channel is closed')
}

function asKeypinError(error: unknown): KeypinError {
  return error instanceof KeypinError ? error : new KeypinError('protocol-error', String(error), { cause: error })
}
