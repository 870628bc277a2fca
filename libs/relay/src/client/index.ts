/**
 * The relay client SDK (browser-safe): connectRelay() over any Keypin
 * Connection, and the state store it persists secrets in.
 */
export { connectRelay } from './client.js'
export type { RelayClient, RelayClientOptions, RelayEvents, RoomInfo, SentMessage } from './api.js'
export { MemoryStateStore, type ClientStateStore } from './state.js'
