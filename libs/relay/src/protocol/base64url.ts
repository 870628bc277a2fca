/**
 * base64url without padding (RFC 4648 section 5), the spelling of every
 * binary field in relay frames. Browser-safe: no Buffer.
 *
 * Decoding is strict: only the 64 URL-safe characters, no padding, no
 * whitespace, and the unused low bits of the last character must be zero,
 * so every byte string has exactly one spelling.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const VALUES = new Int16Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i

const SHAPE = /^[A-Za-z0-9_-]*$/

/** Encodes bytes as unpadded base64url. */
export function toBase64url(bytes: Uint8Array): string {
  let out = ''
  let i = 0
  for (; i + 3 <= bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number)
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]! + ALPHABET[n & 63]!
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = (bytes[i] as number) << 16
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]!
  } else if (rest === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8)
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]!
  }
  return out
}

/** Bytes a base64url string of `length` characters decodes to (undefined when no string has that length). */
export function base64urlDecodedLength(length: number): number | undefined {
  if (length % 4 === 1) return undefined
  return Math.floor((length * 3) / 4)
}

/** True when `text` is canonical unpadded base64url. */
export function isBase64url(text: string): boolean {
  return decodeOrUndefined(text) !== undefined
}

/** Decodes canonical unpadded base64url; undefined for anything else. */
export function fromBase64url(text: string): Uint8Array | undefined {
  return decodeOrUndefined(text)
}

function decodeOrUndefined(text: string): Uint8Array | undefined {
  const length = base64urlDecodedLength(text.length)
  if (length === undefined || !SHAPE.test(text)) return undefined
  const out = new Uint8Array(length)
  let o = 0
  let i = 0
  for (; i + 4 <= text.length; i += 4) {
    const n =
      (value(text, i) << 18) | (value(text, i + 1) << 12) | (value(text, i + 2) << 6) | value(text, i + 3)
    out[o++] = n >>> 16
    out[o++] = (n >>> 8) & 255
    out[o++] = n & 255
  }
  const rest = text.length - i
  if (rest === 2) {
    const n = (value(text, i) << 18) | (value(text, i + 1) << 12)
    if (n & 0xffff) return undefined
    out[o++] = n >>> 16
  } else if (rest === 3) {
    const n = (value(text, i) << 18) | (value(text, i + 1) << 12) | (value(text, i + 2) << 6)
    if (n & 0xff) return undefined
    out[o++] = n >>> 16
    out[o++] = (n >>> 8) & 255
  }
  return out
}

function value(text: string, index: number): number {
  return VALUES[text.charCodeAt(index)] as number
}
