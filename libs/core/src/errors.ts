/**
 * Error vocabulary shared by every transport.
 *
 * Wire codes are u32 values carried in QUIC application error codes and in the
 * WebRTC framing (RESET, STOP_SENDING, CONNECTION_CLOSE). Local codes never
 * cross the wire: they describe failures that happen on this side only (bad
 * API input, a certificate that does not match the pin, ...).
 */

/** Codes that travel on the wire, by name, with their u32 value. */
export const WIRE_ERROR_CODES = {
  none: 0,
  cancelled: 1,
  closed: 2,
  reset: 3,
  timeout: 4,
  'network-error': 5,
  'protocol-error': 6,
  unsupported: 7,
  'too-large': 8,
  'queue-full': 9,
  'permission-denied': 10,
  'internal-error': 11,
} as const satisfies Record<string, number>

export type WireErrorCode = keyof typeof WIRE_ERROR_CODES

/** Codes raised locally only; they map to `internal-error` if ever sent. */
export const LOCAL_ERROR_CODES = [
  'invalid-argument',
  'invalid-address',
  'invalid-certhash',
  'pin-mismatch',
  'identity-error',
  'aborted',
] as const

export type LocalErrorCode = (typeof LOCAL_ERROR_CODES)[number]

export type ErrorCode = WireErrorCode | LocalErrorCode

const NAME_BY_WIRE = new Map<number, WireErrorCode>(
  Object.entries(WIRE_ERROR_CODES).map(([name, value]) => [value, name as WireErrorCode]),
)

/** Maps a u32 from the wire to its name; unknown values become `internal-error`. */
export function errorCodeFromWire(value: number): WireErrorCode {
  return NAME_BY_WIRE.get(value) ?? 'internal-error'
}

/** Maps a code (name or number) to the u32 that goes on the wire. */
export function errorCodeToWire(code: ErrorCode | number): number {
  if (typeof code === 'number') {
    if (!Number.isInteger(code) || code < 0 || code > 0xffff_ffff) {
      throw new KeypinError('invalid-argument', `error code must be a u32, got ${code}`)
    }
    return code
  }
  const wire = (WIRE_ERROR_CODES as Record<string, number>)[code]
  if (wire !== undefined) return wire
  if ((LOCAL_ERROR_CODES as readonly string[]).includes(code)) return WIRE_ERROR_CODES['internal-error']
  throw new KeypinError('invalid-argument', `unknown error code ${JSON.stringify(code)}`)
}

/**
 * Why a stream or connection ended, as the application states it.
 * `code` is a registry name or a raw u32; the peer sees the u32.
 */
export interface Reason {
  code?: ErrorCode | number
  message?: string
}

export interface KeypinErrorOptions {
  cause?: unknown
  /** The u32 seen on the wire, when the error came from the peer. */
  wireCode?: number
  /** For `too-large`: the largest datagram payload that would have been accepted. */
  maxDatagramPayloadSize?: number
  /** True when the peer caused this error (RESET, STOP_SENDING, CONNECTION_CLOSE). */
  remote?: boolean
}

/**
 * The one error class Keypin throws. `code` is stable and meant for programs;
 * `message` is for people and names the problem.
 */
export class KeypinError extends Error {
  override readonly name = 'KeypinError'
  readonly code: ErrorCode
  readonly wireCode: number
  readonly remote: boolean
  readonly maxDatagramPayloadSize: number | undefined

  constructor(code: ErrorCode, message: string, options: KeypinErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.wireCode = options.wireCode ?? errorCodeToWire(code)
    this.remote = options.remote ?? false
    this.maxDatagramPayloadSize = options.maxDatagramPayloadSize
  }

  /** Builds the error a peer's u32 code stands for. */
  static fromWire(wireCode: number, message: string, remote = true): KeypinError {
    return new KeypinError(errorCodeFromWire(wireCode), message, { wireCode, remote })
  }
}

/** Normalises an application reason into a wire code and a message. */
export function reasonToWire(reason: Reason | undefined, fallback: WireErrorCode): { code: number; message: string } {
  const code = reason?.code === undefined ? WIRE_ERROR_CODES[fallback] : errorCodeToWire(reason.code)
  return { code, message: reason?.message ?? '' }
}

/** Throws `invalid-argument` unless `value` is a Uint8Array. */
export function assertBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new KeypinError('invalid-argument', `${what} must be a Uint8Array, got ${describe(value)}`)
  }
}

/** Short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'Object'})`
  return `${typeof value} ${String(value)}`
}
