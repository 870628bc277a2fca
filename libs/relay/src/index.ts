/**
 * @keypin/relay — end-to-end encrypted messaging over Keypin connections.
 * Browser-safe: the crypto, the relay protocol and the client SDK. The
 * relay server itself is @keypin/relay/server (Node only).
 */
export * from './crypto/index.js'
export * from './protocol/index.js'
export * from './client/index.js'
