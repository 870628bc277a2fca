/**
 * Big-endian integer fields shared by the WebRTC stream frames and control
 * messages: u8 version, u32 error codes and u64 limits.
 *
 * Decoding applies the wire rules (a u64 above 2^62-1 is a protocol error);
 * encoding applies the API rules (a value the caller passes must be exact).
 * This file knows nothing about frame types or message layouts. Internal to
 * the package: not exported from the index.
 */
import { KeypinError, describe } from '../errors.js'

/**
 * Largest value a u64 field may hold: 2^62-1, QUIC's varint ceiling, so a
 * limit means the same on both transports.
 */
export const MAX_WIRE_U64 = (1n << 62n) - 1n

const MAX_U32 = 0xffff_ffff

/**
 * Reads a u64 limit. Values above 2^62-1 are protocol errors. Valid values
 * above 2^53-1 are returned as Number.MAX_SAFE_INTEGER: a credit of 8 PiB
 * never runs out in practice, and clamping is monotone, so a sequence of
 * growing limits stays non-decreasing after clamping.
 */
export function readU64Limit(bytes: Uint8Array, offset: number, what: string): number {
  const value = view(bytes).getBigUint64(offset)
  if (value > MAX_WIRE_U64) {
    throw new KeypinError('protocol-error', `${what} is ${value}, above the maximum 2^62-1`)
  }
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value)
}

/** Reads a u32 (any value is valid on the wire; unknown error codes are mapped later). */
export function readU32(bytes: Uint8Array, offset: number): number {
  return view(bytes).getUint32(offset)
}

/**
 * Throws `invalid-argument` unless `value` is an integer 0..2^53-1. Every such
 * value is also within the wire's 2^62-1, so no second check is needed.
 */
export function checkU64Limit(value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new KeypinError('invalid-argument', `${what} must be an integer 0..2^53-1, got ${describe(value)}`)
  }
}

/** Throws `invalid-argument` unless `value` is an integer 0..2^32-1. */
export function checkU32(value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_U32) {
    throw new KeypinError('invalid-argument', `${what} must be a u32 (0..4294967295), got ${describe(value)}`)
  }
}

/** Writes an already checked u64 limit. */
export function writeU64(bytes: Uint8Array, offset: number, value: number): void {
  view(bytes).setBigUint64(offset, BigInt(value))
}

/** Writes an already checked u32. */
export function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  view(bytes).setUint32(offset, value)
}

/** A DataView over exactly the bytes of `bytes`, which may be a view into a larger buffer. */
function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
