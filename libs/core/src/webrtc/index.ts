/**
 * @keypin/core/webrtc — the WebRTC transport adapter: connectOverWebRtc and
 * the RtcPeer shape that platform glue (browser, node-datachannel) fills in.
 * Browser-safe; it contains no glue for any particular WebRTC stack.
 */
export { connectOverWebRtc } from './connect.js'
export type { WebRtcConnectOptions } from './options.js'
export { DEFAULT_HELLO_TIMEOUT } from './options.js'
export type { RtcChannel, RtcChannelInit, RtcPeer, RtcPeerClosed } from './peer.js'
