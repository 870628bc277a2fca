/**
 * The relay protocol's error vocabulary and the error class the client SDK
 * throws. Protocol codes travel in error frames; local codes are raised by
 * the client only (a timeout, a closed client, bad arguments, a contact key
 * that fails verification).
 */

/** Codes a relay sends in error frames. */
export const PROTOCOL_ERROR_CODES = [
  'bad-frame', // a frame that does not parse or has invalid fields
  'frame-too-large', // a frame over the size limit (the connection is closed)
  'unsupported-version', // the hello named a protocol version the relay does not speak (closed)
  'login-failed', // bad login signature or prekey, nonce reuse, wrong certhash (closed)
  'not-logged-in', // a request before a successful login
  'rate-limited', // a token bucket is empty; retryAfterMs says when to try again
  'unknown-user', // no such user in the key directory
  'unknown-room', // no such room (never existed, revoked, or swept after expiry)
  'room-full', // the room has maxMembers members
  'room-expired', // the room's time is up
  'not-room-member', // the request needs membership in the room
  'forbidden', // not allowed (not the room's creator, a frame speaking for another user)
  'queue-full', // the recipient's offline queue is at its cap
  'too-large', // a message or plaintext over its size limit
  'too-many-rooms', // the user is in (or created) the maximum number of rooms
  'slow-consumer', // the client did not read fast enough (closed)
  'login-timeout', // no login within the login timeout (closed)
  'replaced', // the same user logged in on another connection (closed)
  'internal-error', // the relay failed to store or process the request
  'shutting-down', // the relay is closing
] as const

export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number]

/** Codes the client SDK raises locally; they never cross the wire. */
export const LOCAL_ERROR_CODES = [
  'invalid-argument', // bad API input; the message names the problem
  'timeout', // no reply within requestTimeoutMs
  'closed', // the client or its connection has closed
  'aborted', // the caller's AbortSignal fired
  'bad-key', // a contact's key material does not verify (prekey not signed by the identity key, id mismatch)
  'protocol-error', // the relay sent something that breaks the protocol
] as const

export type LocalErrorCode = (typeof LOCAL_ERROR_CODES)[number]

export type RelayErrorCode = ProtocolErrorCode | LocalErrorCode

const PROTOCOL_CODES: ReadonlySet<string> = new Set(PROTOCOL_ERROR_CODES)

export function isProtocolErrorCode(value: unknown): value is ProtocolErrorCode {
  return typeof value === 'string' && PROTOCOL_CODES.has(value)
}

export interface RelayErrorOptions {
  retryAfterMs?: number
  requestId?: number
  cause?: unknown
}

/** An error from the relay (an error frame) or from the client SDK itself. */
export class RelayError extends Error {
  override readonly name = 'RelayError'
  readonly code: RelayErrorCode
  /** For `rate-limited`: milliseconds until the request may succeed. */
  readonly retryAfterMs?: number
  /** The request the relay's error frame answered, when it answered one. */
  readonly requestId?: number

  constructor(code: RelayErrorCode, message: string, options: RelayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs
    if (options.requestId !== undefined) this.requestId = options.requestId
  }
}

/** Short description of a value for error messages; never includes long content. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  if (Array.isArray(value)) return 'an array'
  if (value instanceof Uint8Array) return `${value.byteLength} bytes`
  if (typeof value === 'string') return `a string of ${value.length} characters`
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'Object'})`
  return `${typeof value} ${String(value)}`
}
