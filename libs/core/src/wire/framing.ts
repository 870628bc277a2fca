/**
 * Stream frames of the WebRTC mapping. Each message on an application data
 * channel is exactly one frame: a type byte followed by its payload.
 *
 * Decoding is strict because a malformed frame closes the whole connection:
 * unknown types, wrong payload lengths, empty DATA, frames over 16384 bytes
 * and u64 values above 2^62-1 all throw `protocol-error`. Encoding rejects
 * bad caller input with `invalid-argument`.
 *
 * This file only converts between frames and bytes. It keeps no stream state
 * (ordering of FIN and RESET, credit accounting): the engine does that.
 */
import { KeypinError, assertBytes, describe } from '../errors.js'
import { checkU32, checkU64Limit, readU32, readU64Limit, writeU32, writeU64 } from './integers.js'

/** Largest message an application data channel may carry: type byte + payload. */
export const MAX_FRAME_SIZE = 16384

/** Largest DATA payload: one frame minus its type byte. */
export const MAX_DATA_PAYLOAD = MAX_FRAME_SIZE - 1

/** The type byte of each frame. */
export const FRAME_TYPES = {
  data: 0x00,
  fin: 0x01,
  reset: 0x02,
  'stop-sending': 0x03,
  'max-stream-data': 0x04,
} as const

/**
 * One decoded frame. `code` is the u32 wire error code (map it with
 * errorCodeFromWire). `limit` is the absolute byte limit for the stream,
 * capped at Number.MAX_SAFE_INTEGER when the wire carries more.
 */
export type StreamFrame =
  | { type: 'data'; data: Uint8Array }
  | { type: 'fin' }
  | { type: 'reset'; code: number }
  | { type: 'stop-sending'; code: number }
  | { type: 'max-stream-data'; limit: number }

/** Serialises one frame. Throws `invalid-argument` for a frame that cannot go on the wire. */
export function encodeFrame(frame: StreamFrame): Uint8Array {
  if (typeof frame !== 'object' || frame === null) {
    throw new KeypinError('invalid-argument', `frame must be an object, got ${describe(frame)}`)
  }
  switch (frame.type) {
    case 'data':
      assertBytes(frame.data, 'DATA payload')
      if (frame.data.length === 0) {
        throw new KeypinError('invalid-argument', 'DATA payload is empty; a DATA frame carries 1-16383 bytes')
      }
      if (frame.data.length > MAX_DATA_PAYLOAD) {
        throw new KeypinError(
          'invalid-argument',
          `DATA payload of ${frame.data.length} bytes exceeds ${MAX_DATA_PAYLOAD}; split it with encodeDataFrames`,
        )
      }
      return dataFrame(frame.data)
    case 'fin':
      return Uint8Array.of(FRAME_TYPES.fin)
    case 'reset':
    case 'stop-sending': {
      checkU32(frame.code, `${frame.type} code`)
      const bytes = new Uint8Array(5)
      bytes[0] = FRAME_TYPES[frame.type]
      writeU32(bytes, 1, frame.code)
      return bytes
    }
    case 'max-stream-data': {
      checkU64Limit(frame.limit, 'max-stream-data limit')
      const bytes = new Uint8Array(9)
      bytes[0] = FRAME_TYPES['max-stream-data']
      writeU64(bytes, 1, frame.limit)
      return bytes
    }
    default: {
      const unknown: unknown = (frame as { type?: unknown }).type
      throw new KeypinError('invalid-argument', `unknown stream frame type ${describe(unknown)}`)
    }
  }
}

/**
 * Parses one frame. A DATA frame's `data` is a view into `bytes`, not a copy:
 * the message buffer is fresh per message, so copying would only cost time.
 * Throws `protocol-error` naming what is wrong.
 */
export function decodeFrame(bytes: Uint8Array): StreamFrame {
  assertBytes(bytes, 'frame')
  if (bytes.length === 0) throw protocolError('empty message: a stream frame has at least its type byte')
  if (bytes.length > MAX_FRAME_SIZE) {
    throw protocolError(`stream frame of ${bytes.length} bytes exceeds the ${MAX_FRAME_SIZE}-byte maximum`)
  }
  const type = bytes[0] as number
  const payload = bytes.length - 1
  switch (type) {
    case FRAME_TYPES.data:
      if (payload === 0) throw protocolError('empty DATA frame: DATA carries 1-16383 bytes')
      return { type: 'data', data: bytes.subarray(1) }
    case FRAME_TYPES.fin:
      expectPayload('FIN', payload, 0, 'none')
      return { type: 'fin' }
    case FRAME_TYPES.reset:
      expectPayload('RESET', payload, 4, 'a u32 code')
      return { type: 'reset', code: readU32(bytes, 1) }
    case FRAME_TYPES['stop-sending']:
      expectPayload('STOP_SENDING', payload, 4, 'a u32 code')
      return { type: 'stop-sending', code: readU32(bytes, 1) }
    case FRAME_TYPES['max-stream-data']:
      expectPayload('MAX_STREAM_DATA', payload, 8, 'a u64 limit')
      return { type: 'max-stream-data', limit: readU64Limit(bytes, 1, 'MAX_STREAM_DATA limit') }
    default:
      throw protocolError(`unknown stream frame type 0x${type.toString(16).padStart(2, '0')}`)
  }
}

/**
 * Splits a chunk of stream bytes into DATA frames of at most 16383 payload
 * bytes each. Every input byte is copied once, into the frame that carries it
 * (the type byte has to precede it in the same message). An empty chunk gives
 * no frames: an empty write has nothing to send.
 */
export function encodeDataFrames(bytes: Uint8Array): Uint8Array[] {
  assertBytes(bytes, 'data')
  const frames: Uint8Array[] = []
  for (let offset = 0; offset < bytes.length; offset += MAX_DATA_PAYLOAD) {
    frames.push(dataFrame(bytes.subarray(offset, offset + MAX_DATA_PAYLOAD)))
  }
  return frames
}

/** A DATA frame for a payload already checked to be 1..16383 bytes. */
function dataFrame(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(1 + payload.length)
  frame[0] = FRAME_TYPES.data
  frame.set(payload, 1)
  return frame
}

function expectPayload(name: string, actual: number, expected: number, what: string): void {
  if (actual !== expected) {
    throw protocolError(`${name} frame has a ${actual}-byte payload; expected ${expected} (${what})`)
  }
}

function protocolError(message: string): KeypinError {
  return new KeypinError('protocol-error', message)
}
