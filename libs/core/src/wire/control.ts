/**
 * Control-channel messages of the WebRTC mapping (wire version 1), plus the
 * reserved channel ids and sizes that go with them.
 *
 * The control channel is the negotiated data channel with id 0; each of its
 * messages is one control message: a type byte and a fixed-length payload.
 * Decoding is strict: unknown types, wrong lengths and u64 values above
 * 2^62-1 are `protocol-error`; a HELLO for another wire version is
 * `unsupported`.
 *
 * This file only converts between messages and bytes. It does not run the
 * HELLO exchange or the flow-control accounting.
 */
import { KeypinError, assertBytes, describe } from '../errors.js'
import { checkU32, checkU64Limit, readU32, readU64Limit, writeU32, writeU64 } from './integers.js'

/** The version this implementation sends in HELLO and the only one it accepts. */
export const WIRE_VERSION = 1

/** Negotiated data channel carrying control messages; never surfaced as a stream. */
export const CONTROL_CHANNEL_ID = 0

/** Negotiated data channel carrying datagrams (unordered, maxRetransmits 0); never a stream. */
export const DATAGRAM_CHANNEL_ID = 1

/** Largest datagram payload sent as one message on the datagram channel. */
export const MAX_WEBRTC_DATAGRAM = 1200

/**
 * Recommended initial credit, named like the HELLO fields so that
 * `{ type: 'hello', ...DEFAULT_WINDOWS }` is a complete HELLO.
 */
export const DEFAULT_WINDOWS = Object.freeze({
  /** Bytes the peer may send on each stream before more credit is granted (1 MiB). */
  initialMaxStreamData: 1024 * 1024,
  /** Bytes the peer may send on the whole connection (8 MiB). */
  initialMaxData: 8 * 1024 * 1024,
  /** Streams the peer may open. */
  initialMaxStreams: 100,
})

/** The type byte of each control message. */
export const CONTROL_TYPES = {
  'connection-close': 0x00,
  hello: 0x01,
  'max-data': 0x02,
  'max-streams': 0x03,
} as const

/**
 * One decoded control message. u64 values are capped at
 * Number.MAX_SAFE_INTEGER when the wire carries more (still at most 2^62-1).
 * HELLO has no version field: decoding only succeeds for WIRE_VERSION and
 * encoding always writes it.
 */
export type ControlMessage =
  /** The sender is closing the connection with this u32 wire error code. */
  | { type: 'connection-close'; code: number }
  | { type: 'hello'; initialMaxStreamData: number; initialMaxData: number; initialMaxStreams: number }
  /** Absolute byte limit for the whole connection. */
  | { type: 'max-data'; limit: number }
  /** Absolute count of streams the receiver of this message may open. */
  | { type: 'max-streams'; limit: number }

/** Payload bytes of a version-1 HELLO: u8 version and three u64 limits. */
const HELLO_PAYLOAD = 1 + 3 * 8

/** Serialises one control message. Throws `invalid-argument` for values that cannot go on the wire. */
export function encodeControl(message: ControlMessage): Uint8Array {
  if (typeof message !== 'object' || message === null) {
    throw new KeypinError('invalid-argument', `control message must be an object, got ${describe(message)}`)
  }
  switch (message.type) {
    case 'connection-close': {
      checkU32(message.code, 'connection-close code')
      const bytes = new Uint8Array(5)
      bytes[0] = CONTROL_TYPES['connection-close']
      writeU32(bytes, 1, message.code)
      return bytes
    }
    case 'hello': {
      checkU64Limit(message.initialMaxStreamData, 'hello initialMaxStreamData')
      checkU64Limit(message.initialMaxData, 'hello initialMaxData')
      checkU64Limit(message.initialMaxStreams, 'hello initialMaxStreams')
      const bytes = new Uint8Array(1 + HELLO_PAYLOAD)
      bytes[0] = CONTROL_TYPES.hello
      bytes[1] = WIRE_VERSION
      writeU64(bytes, 2, message.initialMaxStreamData)
      writeU64(bytes, 10, message.initialMaxData)
      writeU64(bytes, 18, message.initialMaxStreams)
      return bytes
    }
    case 'max-data':
    case 'max-streams': {
      checkU64Limit(message.limit, `${message.type} limit`)
      const bytes = new Uint8Array(9)
      bytes[0] = CONTROL_TYPES[message.type]
      writeU64(bytes, 1, message.limit)
      return bytes
    }
    default: {
      const unknown: unknown = (message as { type?: unknown }).type
      throw new KeypinError('invalid-argument', `unknown control message type ${describe(unknown)}`)
    }
  }
}

/**
 * Parses one control message. Throws `protocol-error` naming the problem, or
 * `unsupported` for a HELLO from another wire version.
 */
export function decodeControl(bytes: Uint8Array): ControlMessage {
  assertBytes(bytes, 'control message')
  if (bytes.length === 0) throw protocolError('empty message: a control message has at least its type byte')
  const type = bytes[0] as number
  const payload = bytes.length - 1
  switch (type) {
    case CONTROL_TYPES['connection-close']:
      expectPayload('CONNECTION_CLOSE', payload, 4, 'a u32 code')
      return { type: 'connection-close', code: readU32(bytes, 1) }
    case CONTROL_TYPES.hello: {
      if (payload === 0) throw protocolError('HELLO has no payload; expected a u8 version and three u64 limits')
      // The version is judged before the length: another version may lay out
      // HELLO differently, and its peer deserves "unsupported", not a parse error.
      const version = bytes[1] as number
      if (version !== WIRE_VERSION) {
        throw new KeypinError('unsupported', `peer speaks wire version ${version}; this side supports only ${WIRE_VERSION}`)
      }
      expectPayload('HELLO', payload, HELLO_PAYLOAD, 'u8 version and three u64 limits')
      return {
        type: 'hello',
        initialMaxStreamData: readU64Limit(bytes, 2, 'HELLO initialMaxStreamData'),
        initialMaxData: readU64Limit(bytes, 10, 'HELLO initialMaxData'),
        initialMaxStreams: readU64Limit(bytes, 18, 'HELLO initialMaxStreams'),
      }
    }
    case CONTROL_TYPES['max-data']:
      expectPayload('MAX_DATA', payload, 8, 'a u64 limit')
      return { type: 'max-data', limit: readU64Limit(bytes, 1, 'MAX_DATA limit') }
    case CONTROL_TYPES['max-streams']:
      expectPayload('MAX_STREAMS', payload, 8, 'a u64 limit')
      return { type: 'max-streams', limit: readU64Limit(bytes, 1, 'MAX_STREAMS limit') }
    default:
      throw protocolError(`unknown control message type 0x${type.toString(16).padStart(2, '0')}`)
  }
}

function expectPayload(name: string, actual: number, expected: number, what: string): void {
  if (actual !== expected) {
    throw protocolError(`${name} message has a ${actual}-byte payload; expected ${expected} (${what})`)
  }
}

function protocolError(message: string): KeypinError {
  return new KeypinError('protocol-error', message)
}
