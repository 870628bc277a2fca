/**
 * The one error class the relay's end-to-end crypto throws, and the input
 * checks every public function runs at its boundary.
 *
 * `code` is stable and meant for programs; `message` is for people and names
 * the input that was wrong. This file does no cryptography.
 */

/** Why a crypto operation refused its input. */
export type RelayCryptoErrorCode =
  | 'bad-input' // malformed argument or encoding: wrong type, length, range or format
  | 'bad-signature' // an Ed25519 signature does not verify
  | 'tampered' // the ciphertext or its bound header does not authenticate, or the context is not the one expected
  | 'wrong-recipient' // the message is addressed to someone else
  | 'unknown-prekey' // the recipient no longer (or never) held the prekey the message names
  | 'bad-sender' // the message's sender id does not belong to the sender key given
  | 'replay' // the message was seen before

export class RelayCryptoError extends Error {
  override readonly name = 'RelayCryptoError'
  readonly code: RelayCryptoErrorCode

  constructor(code: RelayCryptoErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
  }
}

/** Throws `bad-input` unless `value` is a Uint8Array (of exactly `length` bytes when given). */
export function assertBytes(value: unknown, what: string, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new RelayCryptoError('bad-input', `${what} must be a Uint8Array, got ${describe(value)}`)
  }
  if (length !== undefined && value.length !== length) {
    throw new RelayCryptoError('bad-input', `${what} must be ${length} bytes, got ${value.length}`)
  }
}

/** Throws `bad-input` unless `value` is an integer in [0, max]. */
export function assertInteger(value: unknown, what: string, max: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new RelayCryptoError('bad-input', `${what} must be an integer from 0 to ${max}, got ${describe(value)}`)
  }
}

/** Throws `bad-input` unless `value` is a non-null object (not an array). */
export function assertObject(value: unknown, what: string): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RelayCryptoError('bad-input', `${what} must be an object, got ${describe(value)}`)
  }
}

/** Short description of a value for error messages; never prints key material. */
export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  if (Array.isArray(value)) return 'an array'
  if (value instanceof Uint8Array) return `${value.length} bytes`
  if (typeof value === 'string') {
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`
  }
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'Object'})`
  if (typeof value === 'function') return 'a function'
  return `${typeof value} ${String(value)}`
}
