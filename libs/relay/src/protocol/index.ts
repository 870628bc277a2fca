/**
 * The relay protocol, browser-safe: framing, frame types and parsers,
 * datagram codec, limits and error codes.
 */
export * from './base64url.js'
export * from './check.js'
export * from './datagram.js'
export * from './errors.js'
export * from './frame.js'
export * from './limits.js'
export * from './messages.js'
