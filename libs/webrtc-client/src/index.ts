/**
 * @keypin/webrtc-client — dial a Keypin address over WebRTC from a browser.
 * In Node, this package's "node" export runs the same dialer on
 * node-datachannel's RTCPeerConnection.
 *
 * @example
 * import { dial } from '@keypin/webrtc-client'
 * const conn = await dial('127.0.0.1:4242:uEi...', { signal: AbortSignal.timeout(5000) })
 */
import { KeypinError, type Connection } from '@keypin/core'
import { dialWith, type DialOptions } from './dial.js'

export { dialWith, type DialOptions, type HandshakeMode, type RTCPeerConnectionConstructor } from './dial.js'
export { KeypinError } from '@keypin/core'
export type { Connection, Stream, DatagramChannel, CloseInfo, Reason } from '@keypin/core'

/** Dials with the platform's RTCPeerConnection. */
export function dial(address: string, options?: DialOptions): Promise<Connection> {
  const PeerConnection = (globalThis as { RTCPeerConnection?: typeof RTCPeerConnection }).RTCPeerConnection
  if (!PeerConnection) {
    return Promise.reject(new KeypinError('unsupported', 'this platform has no RTCPeerConnection'))
  }
  return dialWith(PeerConnection, address, options)
}
