/**
 * User ids: short, self-certifying names for identity public keys.
 *
 *   userId = "k" || base32(SHA-256("keypin-relay-user-v1" || publicKey)[0..20])
 *
 * base32 is RFC 4648's alphabet in lowercase without padding; 20 bytes are
 * exactly 32 characters, so every id is 33 characters and has one spelling.
 * 160 bits keep a second key with a chosen id out of reach (2^160 work);
 * anyone holding the public key can recompute the id, so a relay cannot
 * attach a different key to a name without clients noticing.
 *
 * This file does not look keys up; it only derives and checks ids.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { concatBytes } from '@noble/hashes/utils.js'
import { RelayCryptoError, describe } from './errors.js'
import { assertIdentityPublicKey } from './identity.js'

export const USER_ID_PREFIX = 'k'
/** Bytes of the hash a user id carries. */
export const USER_ID_DIGEST_LENGTH = 20
/** Characters in a user id: the prefix and 32 base32 characters. */
export const USER_ID_LENGTH = 33

const DOMAIN = new TextEncoder().encode('keypin-relay-user-v1')
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'
const USER_ID = /^k[a-z2-7]{32}$/

/** The user id of an Ed25519 identity public key. Throws `bad-input` for a malformed key. */
export function userIdOf(publicKey: Uint8Array): string {
  assertIdentityPublicKey(publicKey, 'publicKey')
  return userIdFromDigest(sha256(concatBytes(DOMAIN, publicKey)).subarray(0, USER_ID_DIGEST_LENGTH))
}

/** True when `value` is a well-formed user id (it says nothing about whether the user exists). */
export function isUserId(value: unknown): value is string {
  return typeof value === 'string' && USER_ID.test(value)
}

/** The 20 bytes a user id spells; used by the compact sealed-message encoding. */
export function userIdToDigest(userId: unknown, what: string): Uint8Array {
  if (!isUserId(userId)) {
    const got = describe(userId)
    throw new RelayCryptoError('bad-input', `${what} must be a user id ("k" and 32 base32 characters), got ${got}`)
  }
  const out = new Uint8Array(USER_ID_DIGEST_LENGTH)
  let buffer = 0
  let bits = 0
  let index = 0
  for (const char of userId.slice(1)) {
    buffer = ((buffer << 5) | ALPHABET.indexOf(char)) & 0xfff
    bits += 5
    if (bits >= 8) {
      bits -= 8
      out[index++] = (buffer >>> bits) & 0xff
    }
  }
  return out
}

/** The user id spelling 20 digest bytes. */
export function userIdFromDigest(digest: Uint8Array): string {
  let text = USER_ID_PREFIX
  let buffer = 0
  let bits = 0
  for (const byte of digest) {
    buffer = ((buffer << 8) | byte) & 0xfff
    bits += 8
    while (bits >= 5) {
      bits -= 5
      text += ALPHABET[(buffer >>> bits) & 31]
    }
  }
  return text
}
