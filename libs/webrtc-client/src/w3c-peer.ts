/**
 * Glue from the W3C RTCPeerConnection API (browsers, and node-datachannel's
 * polyfill in Node) to the RtcPeer / RtcChannel shape the WebRTC adapter in
 * @keypin/core expects. Only translation lives here: no protocol logic.
 */
import type { RtcChannel, RtcChannelInit, RtcPeer, RtcPeerClosed } from '@keypin/core/webrtc'

export class W3cChannel implements RtcChannel {
  readonly #channel: RTCDataChannel
  /**
   * Messages that arrived before the adapter registered its handler. The
   * listener is attached at creation: a peer's first message (its HELLO) can
   * arrive in the same turn the channel opens, before anyone asks.
   */
  #early: Uint8Array[] | undefined = []
  #onMessage: ((message: Uint8Array) => void) | undefined

  constructor(channel: RTCDataChannel) {
    this.#channel = channel
    channel.binaryType = 'arraybuffer'
    channel.addEventListener('message', (event: MessageEvent) => {
      const message = toBytes(event.data)
      if (!message) return // Text messages are not part of the protocol.
      if (this.#onMessage) this.#onMessage(message)
      else this.#early?.push(message)
    })
  }

  get id(): number {
    return this.#channel.id ?? -1
  }

  get bufferedAmount(): number {
    return this.#channel.bufferedAmount
  }

  get isOpen(): boolean {
    return this.#channel.readyState === 'open'
  }

  send(message: Uint8Array): void {
    this.#channel.send(message as Uint8Array<ArrayBuffer>)
  }

  close(): void {
    this.#channel.close()
  }

  setBufferedAmountLowThreshold(bytes: number): void {
    this.#channel.bufferedAmountLowThreshold = bytes
  }

  onOpen(handler: () => void): void {
    // Already open (the dialer wraps channels after the connection is up).
    if (this.isOpen) queueMicrotask(handler)
    else this.#channel.addEventListener('open', () => handler(), { once: true })
  }

  onMessage(handler: (message: Uint8Array) => void): void {
    this.#onMessage = handler
    for (const message of this.#early ?? []) handler(message)
    this.#early = undefined
  }

  onClose(handler: () => void): void {
    this.#channel.addEventListener('close', () => handler())
  }

  onBufferedAmountLow(handler: () => void): void {
    this.#channel.addEventListener('bufferedamountlow', () => handler())
  }
}

export class W3cPeer implements RtcPeer {
  readonly remoteAddress: { host: string; port: number }
  readonly #pc: RTCPeerConnection
  /** Negotiated channels created before the offer (they must exist for the SDP to carry SCTP). */
  readonly #precreated: Map<number, W3cChannel>

  /** Channels the peer opened before the adapter asked for them. */
  #earlyChannels: RtcChannel[] | undefined = []
  #onChannel: ((channel: RtcChannel) => void) | undefined

  constructor(pc: RTCPeerConnection, remoteAddress: { host: string; port: number }, precreated: Map<number, W3cChannel>) {
    this.#pc = pc
    this.remoteAddress = remoteAddress
    this.#precreated = precreated
    pc.addEventListener('datachannel', (event: RTCDataChannelEvent) => {
      const channel = new W3cChannel(event.channel)
      if (this.#onChannel) this.#onChannel(channel)
      else this.#earlyChannels?.push(channel)
    })
  }

  get maxMessageSize(): number {
    return this.#pc.sctp?.maxMessageSize ?? 65536
  }

  createChannel(init: RtcChannelInit): RtcChannel {
    const existing = init.negotiated && init.id !== undefined ? this.#precreated.get(init.id) : undefined
    if (existing) {
      this.#precreated.delete(init.id as number)
      return existing
    }
    const options: RTCDataChannelInit = { ordered: init.ordered ?? true }
    if (init.negotiated) {
      options.negotiated = true
      options.id = init.id
    }
    if (init.maxRetransmits !== undefined) options.maxRetransmits = init.maxRetransmits
    return new W3cChannel(this.#pc.createDataChannel(init.label, options))
  }

  onChannel(handler: (channel: RtcChannel) => void): void {
    this.#onChannel = handler
    for (const channel of this.#earlyChannels ?? []) handler(channel)
    this.#earlyChannels = undefined
  }

  onClosed(handler: (reason: RtcPeerClosed) => void): void {
    let reported = false
    const report = (): void => {
      const state = this.#pc.connectionState
      if (reported || (state !== 'failed' && state !== 'closed')) return
      reported = true
      // "failed" after being connected means consent checks stopped being
      // answered: the peer went silent, which is a timeout to the application.
      handler({ timedOut: state === 'failed', message: `peer connection ${state}` })
    }
    this.#pc.addEventListener('connectionstatechange', report)
    const close = this.#pc.close.bind(this.#pc)
    // Browsers fire no state change for a local close(); report it ourselves.
    this.#reportLocalClose = () => {
      close()
      report()
      if (!reported) {
        reported = true
        handler({ timedOut: false, message: 'peer connection closed' })
      }
    }
  }

  #reportLocalClose: (() => void) | undefined

  close(): void {
    if (this.#reportLocalClose) this.#reportLocalClose()
    else this.#pc.close()
  }
}

function toBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  return undefined
}
