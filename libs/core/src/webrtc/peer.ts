/**
 * The small surface the WebRTC adapter needs from a peer connection and its
 * data channels. Browsers' RTCPeerConnection and node-datachannel's
 * PeerConnection are each wrapped into this shape by a few lines of glue, so
 * the adapter (framing, control channel, credits) exists once.
 *
 * Only the shape lives here, no implementation: the glue belongs with the
 * platform (browser client, server, tests).
 */

/** One SCTP data channel, as the adapter sees it. */
export interface RtcChannel {
  /** SCTP stream id (0 and 1 are reserved by the protocol). */
  readonly id: number
  /** Bytes queued inside the channel and not yet handed to SCTP. */
  readonly bufferedAmount: number
  /** Send one message (a frame). Throws if the channel is not open. */
  send(message: Uint8Array): void
  close(): void
  /**
   * Threshold for `onBufferedAmountLow`: the handler runs when
   * `bufferedAmount` falls from above the threshold to at or below it.
   */
  setBufferedAmountLowThreshold(bytes: number): void
  /**
   * Runs when the channel opens. Whether it runs for a channel that is
   * already open when the handler is registered is up to the platform: the
   * adapter checks `isOpen` itself and tolerates both.
   */
  onOpen(handler: () => void): void
  /**
   * Each inbound message, as bytes the adapter may keep (a fresh buffer per
   * message). Glue must not lose messages that arrive before a handler is
   * registered, and must keep the delivery order of messages and `onClose`.
   * (node-datachannel 0.33 can swap messages that are still arriving on a new
   * inbound channel while its onMessage is being registered: glue should
   * register it first thing in onDataChannel, which narrows but does not
   * close that window.)
   */
  onMessage(handler: (message: Uint8Array) => void): void
  /** The channel closed, locally or by the peer. */
  onClose(handler: () => void): void
  onBufferedAmountLow(handler: () => void): void
  readonly isOpen: boolean
}

export interface RtcChannelInit {
  label: string
  /** Negotiated channels (ids 0 and 1) exist on both sides without DCEP. */
  negotiated?: boolean
  id?: number
  ordered?: boolean
  maxRetransmits?: number
}

/** Why the peer connection ended underneath the adapter. */
export interface RtcPeerClosed {
  /**
   * True when the platform reports a timeout-like end (ICE connectivity or
   * consent lost), false for a plain close or another failure (DTLS, SCTP).
   */
  timedOut: boolean
  /** The platform's words, for the error message. */
  message: string
}

/** A connected (or connecting) peer connection. */
export interface RtcPeer {
  createChannel(init: RtcChannelInit): RtcChannel
  /**
   * Channels the peer opened (DCEP); negotiated channels never arrive here.
   * Glue queues channels that arrive before a handler is registered.
   */
  onChannel(handler: (channel: RtcChannel) => void): void
  /** The peer connection failed or closed (also after a local `close`). */
  onClosed(handler: (reason: RtcPeerClosed) => void): void
  close(): void
  /** The peer's transport address; read when the application asks, so it may be filled in late. */
  readonly remoteAddress: { host: string; port: number }
  /** Largest message the SCTP association accepts. */
  readonly maxMessageSize: number
}
