/**
 * @keypin/quic — the QUIC driver shared by the Keypin server and the Node
 * client. Internal to Keypin: applications use @keypin/server and
 * @keypin/quic-client, which hand back @keypin/core Connections.
 */
export { QUIC_DEFAULTS, resolveQuicOptions, type QuicOptions, type ResolvedQuicOptions } from './options.js'
export { ALPN, clientConfig, serverConfig } from './config.js'
export { QuicConnectionDriver, unmapIPv4, type SendPacket } from './connection-driver.js'
export { cancelFlush, scheduleFlush, type Flushable } from './flush-scheduler.js'
export { QuicServerEndpoint, SERVER_CID_LENGTH, type ServerEndpointOptions, type ServerEndpointStats } from './server-endpoint.js'
export { quiche } from './binding.js'
export { enlargeSocketBuffers, UDP_BUFFER_SIZE } from './socket-buffers.js'
