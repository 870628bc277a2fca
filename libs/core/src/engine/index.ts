/**
 * @keypin/core/engine — the stream/connection engine that transport adapters
 * build on. Applications do not need this entry point: they receive these
 * objects through the public Connection/Stream types.
 */
export * from './transport.js'
export { KeypinStream, type StreamOptions } from './stream.js'
export { KeypinConnection, type ConnectionOptions } from './connection.js'
export { KeypinDatagrams, DEFAULT_DATAGRAM_QUEUE_LENGTH } from './datagrams.js'
export { WaitQueue, Signal, deferred, throwIfAborted } from './waiters.js'
