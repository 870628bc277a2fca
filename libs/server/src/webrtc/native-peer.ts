/**
 * Glue from node-datachannel's PeerConnection and DataChannel to the
 * adapter's RtcPeer and RtcChannel shapes (libs/core webrtc/peer.ts), for
 * the server side: the remote address is the peer's public one (node-
 * datachannel only ever sees the loopback relay), and peers are created by
 * the session, not here.
 *
 * node-datachannel traps this glue handles:
 * - an exception thrown by a JavaScript callback that node-datachannel calls
 *   aborts the process (it surfaces inside native code), so every handler
 *   runs under `guarded`;
 * - a DataChannel that JavaScript no longer references is garbage collected
 *   and destroyed, silently dropping its messages; each wrapper keeps its
 *   channel referenced until it closes;
 * - node-datachannel keeps one callback per event, so this glue owns
 *   `onStateChange`, `onIceStateChange` and `onDataChannel` (passing ICE
 *   states on through `onIceState`); the session owns the gathering one.
 */
import { DEFAULT_MAX_MESSAGE_SIZE, type HostPort } from '@keypin/core'
import type { RtcChannel, RtcChannelInit, RtcPeer, RtcPeerClosed } from '@keypin/core/webrtc'
import type { DataChannel, DataChannelInitConfig, PeerConnection } from 'node-datachannel'

/**
 * Runs `fn` and keeps whatever it throws from reaching node-datachannel. The
 * error is still made visible: swallowing it would hide a bug.
 */
export function guarded(fn: () => void): void {
  try {
    fn()
  } catch (error) {
    process.emitWarning(`a WebRTC handler threw inside a node-datachannel callback: ${String(error)}`, 'KeypinWarning')
  }
}

/** Delivers one kind of event to handlers registered later, queueing what arrives before the first. */
class Fanout<T> {
  readonly #handlers: Array<(value: T) => void> = []
  #early: T[] | undefined = []

  add(handler: (value: T) => void): void {
    this.#handlers.push(handler)
    const early = this.#early ?? []
    this.#early = undefined
    for (const value of early) guarded(() => handler(value))
  }

  emit(value: T): void {
    if (this.#early) {
      this.#early.push(value)
      return
    }
    for (const handler of this.#handlers) guarded(() => handler(value))
  }
}

class NativeChannel implements RtcChannel {
  readonly #dc: DataChannel
  readonly #opened = new Fanout<void>()
  readonly #messages = new Fanout<Uint8Array>()
  readonly #closed = new Fanout<void>()
  readonly #low = new Fanout<void>()
  #isClosed = false

  constructor(dc: DataChannel, live: Set<DataChannel>) {
    this.#dc = dc
    live.add(dc)
    dc.onOpen(() => guarded(() => this.#opened.emit()))
    dc.onMessage((message) => guarded(() => this.#messages.emit(toBytes(message))))
    dc.onClosed(() =>
      guarded(() => {
        this.#isClosed = true
        live.delete(dc)
        this.#closed.emit()
      }),
    )
    dc.onBufferedAmountLow(() => guarded(() => this.#low.emit()))
  }

  get id(): number {
    return this.#dc.getId()
  }

  get bufferedAmount(): number {
    return this.#isClosed ? 0 : this.#dc.bufferedAmount()
  }

  get isOpen(): boolean {
    return !this.#isClosed && this.#dc.isOpen()
  }

  send(message: Uint8Array): void {
    this.#dc.sendMessageBinary(message)
  }

  close(): void {
    this.#dc.close()
  }

  setBufferedAmountLowThreshold(bytes: number): void {
    this.#dc.setBufferedAmountLowThreshold(bytes)
  }

  onOpen(handler: () => void): void {
    this.#opened.add(handler)
  }

  onMessage(handler: (message: Uint8Array) => void): void {
    this.#messages.add(handler)
  }

  onClose(handler: () => void): void {
    this.#closed.add(handler)
  }

  onBufferedAmountLow(handler: () => void): void {
    this.#low.add(handler)
  }
}

/** A peer connection as an RtcPeer, plus the ICE states and native close the session and server wait for. */
export class NativePeer implements RtcPeer {
  readonly remoteAddress: HostPort
  readonly #pc: PeerConnection
  readonly #channels = new Fanout<RtcChannel>()
  readonly #ended = new Fanout<RtcPeerClosed>()
  readonly #iceStates = new Fanout<string>()
  /** ICE lost its path at some point: a later failure is timeout-like (consent gone). */
  #iceLost = false
  /** Referenced until closed, so garbage collection cannot destroy a channel in use. */
  readonly #live = new Set<DataChannel>()
  readonly #nativeClosed: Promise<void>
  #resolveNativeClosed: () => void = () => {}
  #isEnded = false

  constructor(pc: PeerConnection, remoteAddress: HostPort) {
    this.#pc = pc
    this.remoteAddress = { ...remoteAddress }
    this.#nativeClosed = new Promise((resolve) => {
      this.#resolveNativeClosed = resolve
    })
    pc.onDataChannel((dc) => guarded(() => this.#channels.emit(new NativeChannel(dc, this.#live))))
    pc.onIceStateChange((state) =>
      guarded(() => {
        if (state === 'disconnected' || state === 'failed') this.#iceLost = true
        this.#iceStates.emit(state)
      }),
    )
    pc.onStateChange((state) => guarded(() => this.#onState(state)))
  }

  /**
   * Settles when node-datachannel itself has reported the peer connection
   * closed, i.e. its native threads are done calling back for it (what
   * `cleanup()` needs; see native.ts). Only after `close()`, or a remote
   * close, does that happen.
   */
  get nativeClosed(): Promise<void> {
    return this.#nativeClosed
  }

  get maxMessageSize(): number {
    if (this.#isEnded) return 0
    try {
      return this.#pc.maxMessageSize()
    } catch {
      return DEFAULT_MAX_MESSAGE_SIZE
    }
  }

  createChannel(init: RtcChannelInit): RtcChannel {
    const config: DataChannelInitConfig = {}
    if (init.negotiated) config.negotiated = true
    if (init.id !== undefined) config.id = init.id
    if (init.ordered === false) config.unordered = true
    if (init.maxRetransmits !== undefined) config.maxRetransmits = init.maxRetransmits
    return new NativeChannel(this.#pc.createDataChannel(init.label, config), this.#live)
  }

  onChannel(handler: (channel: RtcChannel) => void): void {
    this.#channels.add(handler)
  }

  onClosed(handler: (reason: RtcPeerClosed) => void): void {
    this.#ended.add(handler)
  }

  /** node-datachannel's ICE connection states, as they are reported. */
  onIceState(handler: (state: string) => void): void {
    this.#iceStates.add(handler)
  }

  /** Idempotent; also releases a peer connection that already failed by itself. */
  close(): void {
    try {
      this.#pc.close()
    } catch {
      // Already torn down natively: nothing left to release.
    }
    // node-datachannel reports 'closed' after a local close too, but not
    // once its callbacks are torn down; report it here so it always arrives.
    this.#end({ timedOut: false, message: 'peer connection closed' })
  }

  #onState(state: string): void {
    if (state !== 'closed' && state !== 'failed') return
    // A failure after ICE lost its path is the timeout-like end (the peer
    // vanished and consent expired); a DTLS or SCTP failure leaves ICE
    // connected. By the time 'failed' arrives node-datachannel may already
    // report ICE as closed, hence the remembered state.
    const timedOut = state === 'failed' && this.#iceLost
    this.#end({ timedOut, message: timedOut ? `peer connection ${state}: ICE lost the path` : `peer connection ${state}` })
    if (state === 'closed') this.#resolveNativeClosed()
  }

  #end(reason: RtcPeerClosed): void {
    if (this.#isEnded) return
    this.#isEnded = true
    this.#live.clear()
    this.#ended.emit(reason)
  }
}

/**
 * A message as bytes the adapter may keep. Binary messages arrive in a fresh
 * Buffer of their own; one that shares its memory (a pooled Buffer) is
 * copied, since the engine may transfer the underlying ArrayBuffer. A text
 * message is no frame: its bytes go on and the frame decoder rejects them.
 */
function toBytes(message: string | Buffer | ArrayBuffer): Uint8Array {
  if (typeof message === 'string') return new TextEncoder().encode(message)
  if (message instanceof ArrayBuffer) return new Uint8Array(message)
  if (message.byteOffset === 0 && message.byteLength === message.buffer.byteLength) {
    return new Uint8Array(message.buffer, 0, message.byteLength)
  }
  return Uint8Array.from(message)
}
