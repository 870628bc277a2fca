/**
 * @keypin/server — a Keypin listener for Node: one UDP port, a pinned
 * identity, QUIC and WebRTC on the same port.
 */
export * from './identity.js'
export { listen, KeypinListener, type ListenOptions, type ListenerStats } from './listen.js'
export { isStunMessage, classifyDatagram, type DatagramKind, type WebRtcHandler, type WebRtcStats } from './demux.js'
export type { WebRtcServerOptions } from './webrtc/options.js'
export type { Connection, Stream, DatagramChannel, CloseInfo, Reason, Listener } from '@keypin/core'
export { KeypinError } from '@keypin/core'
