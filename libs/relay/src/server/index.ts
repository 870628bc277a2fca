/**
 * @keypin/relay/server — the messaging relay for Node: startRelay() on a
 * Keypin listener, SQLite storage, Prometheus metrics and an HTTP handler.
 */
export { startRelay, type RelayServer, type RelayStats } from './relay.js'
export { DEFAULT_LIMITS, type RelayLimits, type RelayServerOptions, type RateSpec } from './options.js'
export { createRelayHttpHandler, startRelayHttp, type RelayHttp } from './http.js'
export type { RelayLogger, RelayLogEntry, RelayLogLevel } from './log.js'
export { RelayError } from '../protocol/errors.js'
