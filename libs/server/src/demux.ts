/**
 * Per-datagram demultiplexing of the listener's one UDP port.
 *
 * Order matters and follows the protocol: a source address already known to
 * belong to a WebRTC peer stays with WebRTC (DTLS and SCTP records carry no
 * marker we could test cheaply); otherwise a STUN message starts a WebRTC
 * handshake; everything else is offered to QUIC, which routes by connection
 * ID and silently drops what it cannot use.
 */
import type { Reason } from '@keypin/core'

/** RFC 5389: the fixed magic cookie at bytes 4..7 of every STUN message. */
const STUN_MAGIC_COOKIE = 0x2112a442
const STUN_HEADER_LENGTH = 20

/** True for a datagram shaped like a STUN message (RFC 5389 §6). */
export function isStunMessage(data: Uint8Array): boolean {
  if (data.length < STUN_HEADER_LENGTH) return false
  // The two most significant bits of a STUN message are zero; QUIC long
  // headers set the top bit and short headers the second ("fixed") bit.
  if ((data[0]! & 0xc0) !== 0) return false
  const cookie = ((data[4]! << 24) | (data[5]! << 16) | (data[6]! << 8) | data[7]!) >>> 0
  return cookie === STUN_MAGIC_COOKIE
}

export type DatagramKind = 'webrtc' | 'quic'

/** Classifies one datagram; `fromWebRtcPeer` says whether its source address is a known WebRTC peer. */
export function classifyDatagram(data: Uint8Array, fromWebRtcPeer: boolean): DatagramKind {
  if (fromWebRtcPeer || isStunMessage(data)) return 'webrtc'
  return 'quic'
}

/** Counters of the WebRTC path, for tests and monitoring. */
export interface WebRtcStats {
  /** Established WebRTC connections (accepted or waiting to be). */
  webrtcPeers: number
  /** WebRTC handshakes in progress. */
  webrtcHandshakes: number
  /** Loopback relay sockets open (one per peer, briefly longer while closing). */
  relays: number
  /** Datagrams from unknown sources dropped before creating any state (failed the STUN guard or over a limit). */
  webrtcRejected: number
}

/** What the listener hands WebRTC traffic to (the WebRTC path plugs in here). */
export interface WebRtcHandler {
  /** Whether `host:port` belongs to a peer this handler owns. */
  hasPeer(host: string, port: number): boolean
  receive(data: Buffer, host: string, port: number): void
  /** Closes every peer (established ones are told `reason`) and releases everything. */
  close(reason?: Reason): Promise<void>
  readonly stats?: WebRtcStats
}
