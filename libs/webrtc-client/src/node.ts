/**
 * The Node flavour of @keypin/webrtc-client: the same dialer on
 * node-datachannel's W3C polyfill, so Node programs (and tests) can dial a
 * Keypin listener over WebRTC exactly as a browser does. Only the no-munge
 * handshake works here: the polyfill ignores a rewritten local description.
 */
import type { Connection } from '@keypin/core'
import { RTCPeerConnection } from 'node-datachannel/polyfill'
import { dialWith, type DialOptions, type RTCPeerConnectionConstructor } from './dial.js'

export { dialWith, type DialOptions, type HandshakeMode, type RTCPeerConnectionConstructor } from './dial.js'
export { KeypinError } from '@keypin/core'
export type { Connection, Stream, DatagramChannel, CloseInfo, Reason } from '@keypin/core'

export function dial(address: string, options?: DialOptions): Promise<Connection> {
  return dialWith(RTCPeerConnection as unknown as RTCPeerConnectionConstructor, address, options)
}
