/**
 * Canonical byte layouts: the writer and reader every signed or encoded
 * structure in this folder is built with.
 *
 * Integers are big-endian and unsigned. Variable-length fields carry a length
 * prefix; fixed-size fields (keys, nonces, signatures) are written as they
 * are, their size fixed by the layout's version. Text is UTF-8 and must
 * round-trip exactly, so one string has one byte spelling. Every signed
 * structure starts with a domain label (`u8 length || ASCII label`) naming
 * what it is, so bytes signed for one purpose never verify for another.
 *
 * This file knows no field names; the structures live in login.ts,
 * prekey.ts and encoding.ts. The reader throws `bad-input` naming the field
 * that is truncated or out of range.
 */
import { RelayCryptoError } from './errors.js'

/** Largest value of a u64 field that a JavaScript number holds exactly. */
export const MAX_U64_NUMBER = Number.MAX_SAFE_INTEGER

const encoder = new TextEncoder()
// fatal: invalid UTF-8 is an error, not U+FFFD. ignoreBOM: a leading U+FEFF
// is kept as text, so decoding never drops bytes and stays one-to-one.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** UTF-8 bytes of `text`; throws `bad-input` for lone surrogates, which have no UTF-8 spelling. */
export function utf8(text: string, what: string): Uint8Array {
  const bytes = encoder.encode(text)
  if (decoder.decode(bytes) !== text) {
    throw new RelayCryptoError('bad-input', `${what} is not well-formed Unicode (it has a lone surrogate)`)
  }
  return bytes
}

/** Decodes UTF-8 strictly; throws `bad-input` on malformed bytes. */
export function fromUtf8(bytes: Uint8Array, what: string): string {
  try {
    return decoder.decode(bytes)
  } catch (cause) {
    throw new RelayCryptoError('bad-input', `${what} is not valid UTF-8`, { cause })
  }
}

/** Appends fields to a growing buffer. */
export class ByteWriter {
  #chunks: Uint8Array[] = []
  #length = 0

  /** A domain label: `u8 length || ASCII`. */
  label(text: string): this {
    const bytes = encoder.encode(text)
    return this.u8(bytes.length).raw(bytes)
  }

  u8(value: number): this {
    return this.raw(Uint8Array.of(value))
  }

  u16(value: number): this {
    return this.raw(Uint8Array.of(value >>> 8, value & 0xff))
  }

  u32(value: number): this {
    const out = new Uint8Array(4)
    new DataView(out.buffer).setUint32(0, value)
    return this.raw(out)
  }

  /** A u64 holding a safe non-negative integer (callers check the range). */
  u64(value: number): this {
    const out = new Uint8Array(8)
    const view = new DataView(out.buffer)
    view.setUint32(0, Math.floor(value / 2 ** 32))
    view.setUint32(4, value % 2 ** 32)
    return this.raw(out)
  }

  /** `u16 length || bytes`. */
  bytes16(bytes: Uint8Array): this {
    return this.u16(bytes.length).raw(bytes)
  }

  /** `u32 length || bytes`. */
  bytes32(bytes: Uint8Array): this {
    return this.u32(bytes.length).raw(bytes)
  }

  raw(bytes: Uint8Array): this {
    this.#chunks.push(bytes)
    this.#length += bytes.length
    return this
  }

  get length(): number {
    return this.#length
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.#length)
    let offset = 0
    for (const chunk of this.#chunks) {
      out.set(chunk, offset)
      offset += chunk.length
    }
    return out
  }
}

/** Reads fields from untrusted bytes; every read is bounds-checked. */
export class ByteReader {
  readonly #bytes: Uint8Array
  readonly #what: string
  #offset = 0

  constructor(bytes: Uint8Array, what: string) {
    this.#bytes = bytes
    this.#what = what
  }

  get offset(): number {
    return this.#offset
  }

  u8(field: string): number {
    return this.raw(1, field)[0] as number
  }

  u16(field: string): number {
    const [hi, lo] = this.raw(2, field) as Uint8Array & [number, number]
    return (hi << 8) | lo
  }

  u32(field: string): number {
    const bytes = this.raw(4, field)
    return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0)
  }

  /** A u64 that must fit a safe integer; larger values are `bad-input`. */
  u64(field: string): number {
    const bytes = this.raw(8, field)
    const view = new DataView(bytes.buffer, bytes.byteOffset, 8)
    const value = view.getUint32(0) * 2 ** 32 + view.getUint32(4)
    if (view.getUint32(0) > 0x1f_ffff) {
      throw new RelayCryptoError('bad-input', `${this.#what}: ${field} is larger than ${MAX_U64_NUMBER}`)
    }
    return value
  }

  /** `u16 length || bytes` with the length limited to [min, max]. */
  bytes16(field: string, min: number, max: number): Uint8Array {
    return this.raw(this.#length(this.u16(`${field} length`), field, min, max), field)
  }

  /** `u32 length || bytes` with the length limited to [min, max]. */
  bytes32(field: string, min: number, max: number): Uint8Array {
    return this.raw(this.#length(this.u32(`${field} length`), field, min, max), field)
  }

  /** The next `length` bytes, copied so the result does not alias the input. */
  raw(length: number, field: string): Uint8Array {
    const left = this.#bytes.length - this.#offset
    if (length > left) {
      throw new RelayCryptoError(
        'bad-input',
        `${this.#what} is truncated: ${field} needs ${length} bytes at offset ${this.#offset}, only ${left} left`,
      )
    }
    const out = this.#bytes.slice(this.#offset, this.#offset + length)
    this.#offset += length
    return out
  }

  /** Throws unless every byte was read. */
  end(): void {
    const left = this.#bytes.length - this.#offset
    if (left !== 0) {
      throw new RelayCryptoError('bad-input', `${this.#what} has ${left} unexpected bytes after its last field`)
    }
  }

  #length(length: number, field: string, min: number, max: number): number {
    if (length < min || length > max) {
      throw new RelayCryptoError(
        'bad-input',
        `${this.#what}: ${field} length ${length} is outside the allowed ${min} to ${max} bytes`,
      )
    }
    return length
  }
}
