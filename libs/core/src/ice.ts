/**
 * ICE credentials for Keypin's WebRTC path.
 *
 * The browser never receives an SDP answer from the server, so both sides must
 * agree on the ICE password without exchanging it: it is derived from the
 * pinned certificate digest and the client's ufrag. Only someone who knows the
 * pin can produce the password the server expects.
 *
 * This file does not build SDP or STUN messages; it only derives, validates
 * and generates the credential strings. Browser-safe: Web APIs only.
 */
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { base64 } from 'multiformats/bases/base64'
import { CERTHASH_DIGEST_LENGTH } from './certhash.js'
import { KeypinError, assertBytes, describe } from './errors.js'

/** Domain-separation label; the version lets a future derivation coexist. */
export const ICE_PWD_LABEL = 'kps-ice-pwd-v1:'

/** ice-char = ALPHA / DIGIT / "+" / "/" (RFC 8839); lengths per ice-ufrag and ice-pwd. */
const ICE_UFRAG = /^[A-Za-z0-9+/]{4,256}$/
const ICE_PWD = /^[A-Za-z0-9+/]{22,256}$/

/** 9 random bytes give 72 bits and encode to exactly 12 base64 characters, with no padding. */
const UFRAG_RANDOM_BYTES = 9

/**
 * `base64-no-padding(HMAC-SHA256(digest, UTF-8(ICE_PWD_LABEL + ufrag)))`:
 * 43 ice-chars, well above the 22-character minimum.
 */
export function deriveIcePassword(digest: Uint8Array, ufrag: string): string {
  assertBytes(digest, 'digest')
  if (digest.length !== CERTHASH_DIGEST_LENGTH) {
    throw new KeypinError(
      'invalid-argument',
      `digest must be ${CERTHASH_DIGEST_LENGTH} bytes (sha2-256), got ${digest.length}`,
    )
  }
  if (typeof ufrag !== 'string' || !ICE_UFRAG.test(ufrag)) {
    throw new KeypinError(
      'invalid-argument',
      `ufrag ${describe(ufrag)} is not a valid ICE ufrag (4-256 characters from A-Z a-z 0-9 + /)`,
    )
  }
  const message = new TextEncoder().encode(ICE_PWD_LABEL + ufrag)
  // The multiformats base64 codec is RFC 4648 standard base64 without padding;
  // baseEncode skips the multibase prefix.
  return base64.baseEncode(hmac(sha256, digest, message))
}

/** True when `value` is 4-256 ice-chars. */
export function isValidIceUfrag(value: string): boolean {
  return typeof value === 'string' && ICE_UFRAG.test(value)
}

/** True when `value` is 22-256 ice-chars. */
export function isValidIcePwd(value: string): boolean {
  return typeof value === 'string' && ICE_PWD.test(value)
}

/** A fresh 12-character ufrag carrying 72 bits from the platform CSPRNG. */
export function randomIceUfrag(): string {
  const bytes = new Uint8Array(UFRAG_RANDOM_BYTES)
  crypto.getRandomValues(bytes)
  return base64.baseEncode(bytes)
}
