/**
 * Encodes the frames the relay sends: the same bytes as the protocol's
 * encodeFrame() (4-byte big-endian length, UTF-8 JSON), produced with one
 * allocation. The JSON is encoded into a reusable scratch buffer and the
 * finished frame is copied out at its exact size, instead of encoding into
 * one buffer and copying it behind the length prefix in another.
 */
import { FRAME_HEADER_BYTES } from '../protocol/limits.js'
import type { ServerFrame } from '../protocol/messages.js'

const encoder = new TextEncoder()
let scratch = new Uint8Array(64 * 1024)

export function encodeServerFrame(frame: ServerFrame): Uint8Array {
  const text = JSON.stringify(frame)
  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  const worst = FRAME_HEADER_BYTES + text.length * 3
  if (worst > scratch.byteLength) scratch = new Uint8Array(worst)
  const { written } = encoder.encodeInto(text, scratch.subarray(FRAME_HEADER_BYTES))
  const out = scratch.slice(0, FRAME_HEADER_BYTES + written)
  new DataView(out.buffer).setUint32(0, written)
  return out
}
