/**
 * @keypin/quic-client — dial a Keypin listener from Node over QUIC, pinned
 * by the certhash in the address.
 */
export { dial, type DialOptions } from './dial.js'
export type { Connection, Stream, DatagramChannel, CloseInfo, Reason } from '@keypin/core'
export { KeypinError } from '@keypin/core'
