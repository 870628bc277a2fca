/**
 * Certhash: the pin a Keypin address carries for the peer's certificate.
 *
 * A certhash is the multibase `u` (base64url, no padding) encoding of the
 * multihash `0x12 0x20 || sha256(certificate DER)`. The same 32-byte digest is
 * what WebRTC puts in its DTLS `a=fingerprint` line, so this file also converts
 * to and from that colon-separated hex form.
 *
 * This file does not parse certificates or addresses; it only hashes bytes and
 * converts between encodings of the digest. Browser-safe: Web APIs only.
 */
import { base64url } from 'multiformats/bases/base64'
import { create as createMultihash, decode as decodeMultihash } from 'multiformats/hashes/digest'
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import { KeypinError, assertBytes, describe } from './errors.js'

/** Bytes in a sha2-256 digest; the only length a certhash may carry. */
export const CERTHASH_DIGEST_LENGTH = 32

/** Multihash code of sha2-256, the only hash Keypin pins with. */
const SHA2_256_CODE = 0x12

/** Characters of base64url without padding (the `u` multibase body). */
const BASE64URL_CHAR = /^[A-Za-z0-9_-]$/

/** Byte count of the multihash a valid certhash decodes to (code + length + digest). */
const MULTIHASH_LENGTH = 2 + CERTHASH_DIGEST_LENGTH

/** SHA-256 of `data`. Synchronous, unlike WebCrypto, so address parsing can stay synchronous. */
export function sha256(data: Uint8Array): Uint8Array {
  assertBytes(data, 'data')
  return nobleSha256(data)
}

/** Encodes a 32-byte sha2-256 digest as a certhash (`u` + base64url multihash). */
export function certhashFromDigest(digest: Uint8Array): string {
  assertDigest(digest, 'digest')
  return base64url.encode(createMultihash(SHA2_256_CODE, digest).bytes)
}

/**
 * Decodes a certhash to its 32-byte digest. Throws `invalid-certhash` naming
 * the problem: wrong multibase prefix, bad base64url, a hash other than
 * sha2-256, or a digest of the wrong length.
 */
export function digestFromCerthash(certhash: string): Uint8Array {
  if (typeof certhash !== 'string') {
    throw new KeypinError('invalid-certhash', `certhash must be a string, got ${describe(certhash)}`)
  }
  const shown = quote(certhash)
  if (certhash.length === 0) {
    throw new KeypinError('invalid-certhash', 'certhash is empty')
  }
  const prefix = String.fromCodePoint(certhash.codePointAt(0) ?? 0)
  if (prefix !== base64url.prefix) {
    throw new KeypinError(
      'invalid-certhash',
      `certhash ${shown} has multibase prefix ${JSON.stringify(prefix)}; expected "u" (base64url without padding)`,
    )
  }
  // Checked here rather than left to the decoder: the decoder silently strips
  // "=" padding, and its own messages do not say which character is wrong.
  const body = certhash.slice(1)
  if (body === '') throw new KeypinError('invalid-certhash', `certhash ${shown} has nothing after its prefix`)
  for (let i = 0; i < body.length; i++) {
    const char = body[i] as string
    if (!BASE64URL_CHAR.test(char)) {
      const what = char === '=' ? 'padding "="' : `character ${JSON.stringify(char)}`
      throw new KeypinError(
        'invalid-certhash',
        `certhash ${shown} has ${what} at index ${i + 1}, which is not allowed in unpadded base64url`,
      )
    }
  }
  let bytes: Uint8Array
  try {
    bytes = base64url.decode(certhash)
  } catch (cause) {
    // Every character is valid, so only the length or the unused low bits of
    // the last character can be wrong; the latter would let one digest have
    // several spellings.
    const why =
      body.length % 4 === 1
        ? `${body.length} characters cannot encode a whole number of bytes`
        : 'its last character has non-zero unused bits'
    throw new KeypinError('invalid-certhash', `certhash ${shown} is not canonical base64url: ${why}`, { cause })
  }
  return digestFromMultihash(bytes, shown)
}

/** The certhash of a DER-encoded certificate (the bytes are hashed as given). */
export function certhashOfCertificate(der: Uint8Array): string {
  assertBytes(der, 'certificate DER')
  return certhashFromDigest(sha256(der))
}

/** Formats a 32-byte digest the way SDP `a=fingerprint:sha-256` does: `AB:CD:...`. */
export function fingerprintFromDigest(digest: Uint8Array): string {
  assertDigest(digest, 'digest')
  const pairs: string[] = []
  for (const byte of digest) pairs.push(byte.toString(16).padStart(2, '0').toUpperCase())
  return pairs.join(':')
}

/** Parses `AB:CD:...` (32 hex pairs, either case) back to the digest. Throws `invalid-argument`. */
export function digestFromFingerprint(fingerprint: string): Uint8Array {
  if (typeof fingerprint !== 'string') {
    throw new KeypinError('invalid-argument', `fingerprint must be a string, got ${describe(fingerprint)}`)
  }
  const pairs = fingerprint.split(':')
  if (pairs.length !== CERTHASH_DIGEST_LENGTH) {
    throw new KeypinError(
      'invalid-argument',
      `fingerprint ${quote(fingerprint)} has ${pairs.length} ':'-separated pairs; a sha-256 fingerprint has ${CERTHASH_DIGEST_LENGTH}`,
    )
  }
  const digest = new Uint8Array(CERTHASH_DIGEST_LENGTH)
  pairs.forEach((pair, index) => {
    if (!/^[0-9A-Fa-f]{2}$/.test(pair)) {
      throw new KeypinError(
        'invalid-argument',
        `fingerprint ${quote(fingerprint)} has ${JSON.stringify(pair)} at pair ${index}; expected two hex digits`,
      )
    }
    digest[index] = Number.parseInt(pair, 16)
  })
  return digest
}

/**
 * Compares two digests without an early exit on the first differing byte, so
 * the time taken does not reveal how much of a guessed pin was right. Lengths
 * are not secret, so different lengths return false at once.
 */
export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  assertBytes(a, 'a')
  assertBytes(b, 'b')
  if (a.length !== b.length) return false
  let difference = 0
  for (let i = 0; i < a.length; i++) difference |= (a[i] as number) ^ (b[i] as number)
  return difference === 0
}

/** Checks the decoded multihash is sha2-256 with a 32-byte digest and returns a copy of the digest. */
function digestFromMultihash(bytes: Uint8Array, shown: string): Uint8Array {
  let multihash: ReturnType<typeof decodeMultihash>
  try {
    multihash = decodeMultihash(bytes)
  } catch (cause) {
    // The decoder fails when the declared length disagrees with the bytes
    // present; say which it is when the header is readable.
    const [code, declared] = bytes
    let detail = `malformed: it does not decode to a multihash (${bytes.length} bytes)`
    if (code === SHA2_256_CODE && declared !== undefined) {
      const carried = bytes.length - 2
      detail = `${carried < declared ? 'truncated' : 'too long'}: its multihash declares a ${declared}-byte digest but carries ${carried} bytes`
    }
    throw new KeypinError('invalid-certhash', `certhash ${shown} is ${detail}`, { cause })
  }
  if (multihash.code !== SHA2_256_CODE) {
    throw new KeypinError(
      'invalid-certhash',
      `certhash ${shown} uses multihash code 0x${multihash.code.toString(16)}; only sha2-256 (0x12) is accepted`,
    )
  }
  if (multihash.size !== CERTHASH_DIGEST_LENGTH) {
    throw new KeypinError(
      'invalid-certhash',
      `certhash ${shown} carries a ${multihash.size}-byte sha2-256 digest; expected ${CERTHASH_DIGEST_LENGTH} bytes`,
    )
  }
  // The decoder already rejects over-long varints; this re-check keeps "one
  // certificate, one certhash spelling" true even if that ever changes.
  if (bytes.length !== MULTIHASH_LENGTH) {
    throw new KeypinError(
      'invalid-certhash',
      `certhash ${shown} has a multihash header that is not minimally encoded (expected bytes 0x12 0x20)`,
    )
  }
  // Copy so callers cannot alias the decoder's buffer.
  return multihash.digest.slice()
}

function assertDigest(digest: unknown, what: string): asserts digest is Uint8Array {
  assertBytes(digest, what)
  if (digest.length !== CERTHASH_DIGEST_LENGTH) {
    throw new KeypinError(
      'invalid-argument',
      `${what} must be ${CERTHASH_DIGEST_LENGTH} bytes (sha2-256), got ${digest.length}`,
    )
  }
}

/** Quotes untrusted text for a message, shortening very long input. */
function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)
}
